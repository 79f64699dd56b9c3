-- A TURN REST secret per hosted server (calls), sealed under the platform keyring.
ALTER TYPE "secret_purpose" ADD VALUE 'turn_secret';

CREATE TABLE "turn_secrets" (
    "id" UUID NOT NULL,
    "server_id" UUID NOT NULL,
    "version" INTEGER NOT NULL,
    "secret_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "turn_secrets_pkey" PRIMARY KEY ("id")
);

CREATE UNIQUE INDEX "turn_secrets_secret_id_key" ON "turn_secrets"("secret_id");
CREATE UNIQUE INDEX "turn_secrets_server_id_version_key" ON "turn_secrets"("server_id", "version");

ALTER TABLE "turn_secrets" ADD CONSTRAINT "turn_secrets_server_id_fkey" FOREIGN KEY ("server_id") REFERENCES "servers"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "turn_secrets" ADD CONSTRAINT "turn_secrets_secret_id_fkey" FOREIGN KEY ("secret_id") REFERENCES "encrypted_secrets"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
