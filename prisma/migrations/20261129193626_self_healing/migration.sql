-- CreateEnum
CREATE TYPE "server_health" AS ENUM ('unknown', 'ok', 'degraded', 'down', 'needs_attention');

-- CreateEnum
CREATE TYPE "incident_status" AS ENUM ('open', 'needs_attention', 'resolved');

-- AlterTable
ALTER TABLE "certificates" ADD COLUMN     "blocked_reason" TEXT,
ADD COLUMN     "failure_count" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "last_error_type" TEXT,
ADD COLUMN     "next_attempt_at" TIMESTAMPTZ(3);

-- AlterTable
ALTER TABLE "provisioning_events" ADD COLUMN     "error_type" TEXT,
ADD COLUMN     "max_attempts" INTEGER,
ADD COLUMN     "will_retry" BOOLEAN;

-- AlterTable
ALTER TABLE "servers" ADD COLUMN     "health" "server_health" NOT NULL DEFAULT 'unknown',
ADD COLUMN     "health_changed_at" TIMESTAMPTZ(3),
ADD COLUMN     "health_checked_at" TIMESTAMPTZ(3),
ADD COLUMN     "health_issue" TEXT;

-- CreateTable
CREATE TABLE "acme_orders" (
    "id" UUID NOT NULL,
    "acme_account_id" UUID NOT NULL,
    "server_id" UUID,
    "account_id" UUID,
    "names" TEXT[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "acme_orders_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "incidents" (
    "id" UUID NOT NULL,
    "server_id" UUID NOT NULL,
    "kind" TEXT NOT NULL,
    "status" "incident_status" NOT NULL DEFAULT 'open',
    "detail" JSONB,
    "repair_attempts" INTEGER NOT NULL DEFAULT 0,
    "last_repair_at" TIMESTAMPTZ(3),
    "next_repair_at" TIMESTAMPTZ(3),
    "last_error" TEXT,
    "last_error_type" TEXT,
    "opened_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "resolved_at" TIMESTAMPTZ(3),

    CONSTRAINT "incidents_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "acme_orders_acme_account_id_created_at_idx" ON "acme_orders"("acme_account_id", "created_at");

-- CreateIndex
CREATE INDEX "acme_orders_account_id_created_at_idx" ON "acme_orders"("account_id", "created_at");

-- CreateIndex
CREATE INDEX "incidents_server_id_opened_at_idx" ON "incidents"("server_id", "opened_at");

-- CreateIndex
CREATE INDEX "incidents_status_idx" ON "incidents"("status");

-- CreateIndex
CREATE UNIQUE INDEX "incidents_server_kind_open_key" ON "incidents"("server_id", "kind") WHERE (resolved_at IS NULL);

-- AddForeignKey
ALTER TABLE "acme_orders" ADD CONSTRAINT "acme_orders_acme_account_id_fkey" FOREIGN KEY ("acme_account_id") REFERENCES "acme_accounts"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "acme_orders" ADD CONSTRAINT "acme_orders_server_id_fkey" FOREIGN KEY ("server_id") REFERENCES "servers"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "incidents" ADD CONSTRAINT "incidents_server_id_fkey" FOREIGN KEY ("server_id") REFERENCES "servers"("id") ON DELETE CASCADE ON UPDATE CASCADE;
