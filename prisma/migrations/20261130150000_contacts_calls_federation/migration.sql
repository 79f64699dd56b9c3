-- XEP-0157 contact addresses a customer sets (abuse, support, security), and a counter of their
-- changes: each change queues one job to apply them, named after the revision.
ALTER TABLE "servers" ADD COLUMN "contact_addresses" JSONB NOT NULL DEFAULT '{}';
ALTER TABLE "servers" ADD COLUMN "contacts_revision" INTEGER NOT NULL DEFAULT 0;

-- What a customer's network must let through for calls: the node's coturn port and relay ports.
ALTER TABLE "nodes" ADD COLUMN "turn_port" INTEGER;
ALTER TABLE "nodes" ADD COLUMN "turn_relay_ports" TEXT;

-- Federation as observed: when the account census last saw a server-to-server connection up.
ALTER TABLE "servers" ADD COLUMN "s2s_outgoing_seen_at" TIMESTAMPTZ(3);
ALTER TABLE "servers" ADD COLUMN "s2s_incoming_seen_at" TIMESTAMPTZ(3);
