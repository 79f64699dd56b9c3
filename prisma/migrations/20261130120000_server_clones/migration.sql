-- An order that clones a backup of another server: the container step starts it on that data.
ALTER TABLE "servers" ADD COLUMN "clone_backup_id" UUID;
