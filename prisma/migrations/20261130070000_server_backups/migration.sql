-- Per-server backups: each plan's schedule and retention, a row per backup, and a state for a
-- server whose data is being restored.
ALTER TYPE "server_state" ADD VALUE 'restoring' AFTER 'ready';

-- A deleted server's data is kept (its final backup) until purge_after, and can be brought back
-- until then; restore_backup_id tells the container step to put that backup's data in place.
ALTER TABLE "servers" ADD COLUMN "final_backup_id" UUID,
ADD COLUMN "restore_backup_id" UUID,
ADD COLUMN "purge_after" TIMESTAMPTZ(3),
ADD COLUMN "purged_at" TIMESTAMPTZ(3),
ADD COLUMN "backups_pruned_at" TIMESTAMPTZ(3);

ALTER TABLE "plans" ADD COLUMN "backup_interval_minutes" INTEGER NOT NULL DEFAULT 1440,
ADD COLUMN "backup_keep_last" INTEGER NOT NULL DEFAULT 1,
ADD COLUMN "backup_keep_daily" INTEGER NOT NULL DEFAULT 7,
ADD COLUMN "backup_keep_weekly" INTEGER NOT NULL DEFAULT 4;

CREATE TYPE "backup_kind" AS ENUM ('scheduled', 'on_demand', 'safety', 'final');

CREATE TYPE "backup_status" AS ENUM ('queued', 'running', 'succeeded', 'failed', 'forgotten');

CREATE TABLE "server_backups" (
    "id" UUID NOT NULL,
    "server_id" UUID NOT NULL,
    "kind" "backup_kind" NOT NULL,
    "status" "backup_status" NOT NULL DEFAULT 'queued',
    "snapshot_id" TEXT,
    "size_bytes" BIGINT,
    "added_bytes" BIGINT,
    "paused_ms" INTEGER,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_error" TEXT,
    "last_error_type" TEXT,
    "requested_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "server_backups_pkey" PRIMARY KEY ("id")
);

CREATE INDEX "server_backups_server_id_requested_at_idx" ON "server_backups"("server_id", "requested_at");

ALTER TABLE "server_backups" ADD CONSTRAINT "server_backups_server_id_fkey" FOREIGN KEY ("server_id") REFERENCES "servers"("id") ON DELETE CASCADE ON UPDATE CASCADE;
