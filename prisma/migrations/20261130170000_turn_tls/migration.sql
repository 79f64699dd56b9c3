-- TURN over TLS: the node's coturn TLS port, and the certificate it serves on turn.<hostname>.
ALTER TABLE "nodes" ADD COLUMN "turn_tls_port" INTEGER;

CREATE TABLE "node_certificates" (
    "id" UUID NOT NULL,
    "node_id" UUID NOT NULL,
    "names" TEXT[],
    "serial" TEXT NOT NULL,
    "not_before" TIMESTAMPTZ(3) NOT NULL,
    "not_after" TIMESTAMPTZ(3) NOT NULL,
    "renew_after" TIMESTAMPTZ(3) NOT NULL,
    "chain_pem" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "node_certificates_pkey" PRIMARY KEY ("id")
);

CREATE INDEX "node_certificates_node_id_created_at_idx" ON "node_certificates"("node_id", "created_at");

ALTER TABLE "node_certificates" ADD CONSTRAINT "node_certificates_node_id_fkey" FOREIGN KEY ("node_id") REFERENCES "nodes"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- The node's own DNS records (turn.<hostname>, its ACME challenges): owned by the node, so the
-- orphan sweep, which removes records whose server is gone, leaves them alone.
ALTER TYPE "dns_record_purpose" ADD VALUE 'a_turn';
ALTER TABLE "dns_records" ADD COLUMN "node_id" UUID;
ALTER TABLE "dns_records" ADD CONSTRAINT "dns_records_node_id_fkey" FOREIGN KEY ("node_id") REFERENCES "nodes"("id") ON DELETE SET NULL ON UPDATE CASCADE;
