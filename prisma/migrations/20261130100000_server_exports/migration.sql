-- Export and import (XEP-0227): a server's users as one standard document to download, and an
-- uploaded document an order puts in place before its server first starts.
CREATE TYPE "server_export_status" AS ENUM ('queued', 'running', 'succeeded', 'failed');

CREATE TABLE "server_exports" (
    "id" UUID NOT NULL,
    "server_id" UUID NOT NULL,
    "status" "server_export_status" NOT NULL DEFAULT 'queued',
    "requested_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMPTZ(3),
    "size_bytes" BIGINT,
    "user_count" INTEGER,
    "content" BYTEA,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_error" TEXT,
    "last_error_type" TEXT,

    CONSTRAINT "server_exports_pkey" PRIMARY KEY ("id")
);

CREATE INDEX "server_exports_server_id_requested_at_idx" ON "server_exports"("server_id", "requested_at");

ALTER TABLE "server_exports" ADD CONSTRAINT "server_exports_server_id_fkey" FOREIGN KEY ("server_id") REFERENCES "servers"("id") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE TABLE "server_imports" (
    "id" UUID NOT NULL,
    "account_id" UUID NOT NULL,
    "host" TEXT NOT NULL,
    "user_count" INTEGER NOT NULL,
    "content" BYTEA NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "used_by_server_id" UUID,

    CONSTRAINT "server_imports_pkey" PRIMARY KEY ("id")
);

CREATE INDEX "server_imports_account_id_created_at_idx" ON "server_imports"("account_id", "created_at");

ALTER TABLE "server_imports" ADD CONSTRAINT "server_imports_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE CASCADE ON UPDATE CASCADE;

ALTER TABLE "servers" ADD COLUMN "import_id" UUID;

ALTER TABLE "servers" ADD CONSTRAINT "servers_import_id_fkey" FOREIGN KEY ("import_id") REFERENCES "server_imports"("id") ON DELETE SET NULL ON UPDATE CASCADE;
