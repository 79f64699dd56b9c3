-- AlterTable: the worker's account census of each server's Prosody; seats are counted on it.
ALTER TABLE "servers" ADD COLUMN "prosody_accounts" TEXT[];
ALTER TABLE "servers" ADD COLUMN "accounts_counted_at" TIMESTAMPTZ(3);
