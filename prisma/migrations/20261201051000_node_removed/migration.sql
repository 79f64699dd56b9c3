-- A node taken out with ./parley node remove: kept, so the servers it ran still name it.
ALTER TYPE "node_state" ADD VALUE 'removed';
