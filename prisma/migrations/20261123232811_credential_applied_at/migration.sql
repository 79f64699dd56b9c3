-- AlterTable
ALTER TABLE "server_credentials" ADD COLUMN     "applied_at" TIMESTAMPTZ(3);

-- Credentials issued before this column existed were set in Prosody by the step that made them.
UPDATE "server_credentials" SET "applied_at" = "created_at";
