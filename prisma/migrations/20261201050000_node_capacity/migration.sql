-- A node's capacity, which placement respects: its servers and the memory their plans commit.
ALTER TABLE "nodes" ADD COLUMN "max_servers" INTEGER;
ALTER TABLE "nodes" ADD COLUMN "memory_mib" INTEGER;
