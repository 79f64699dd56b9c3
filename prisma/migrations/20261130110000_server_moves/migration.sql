-- Moving a server to another node: its state meanwhile, and the backup that carries its data.
ALTER TYPE "server_state" ADD VALUE 'moving' AFTER 'restoring';
ALTER TYPE "backup_kind" ADD VALUE 'move';
