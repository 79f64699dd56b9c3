-- XEP-0479 compliance checks: the latest result of each check on each server.
CREATE TABLE "compliance_results" (
    "server_id" UUID NOT NULL,
    "check_id" TEXT NOT NULL,
    "passed" BOOLEAN NOT NULL,
    "reason" TEXT NOT NULL,
    "detail" TEXT NOT NULL,
    "duration_ms" INTEGER NOT NULL,
    "checked_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "compliance_results_pkey" PRIMARY KEY ("server_id","check_id")
);

ALTER TABLE "compliance_results" ADD CONSTRAINT "compliance_results_server_id_fkey" FOREIGN KEY ("server_id") REFERENCES "servers"("id") ON DELETE CASCADE ON UPDATE CASCADE;
