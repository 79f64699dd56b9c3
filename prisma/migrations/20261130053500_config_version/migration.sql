-- AlterTable: the version of the Prosody configuration on each server's volume. Servers from
-- before it was recorded start at 0, so the reconciler brings them to the current version.
ALTER TABLE "servers" ADD COLUMN "config_version" INTEGER NOT NULL DEFAULT 0;
