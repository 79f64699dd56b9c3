-- AlterTable
ALTER TABLE "audit_logs" ADD COLUMN     "subject_account_id" UUID;

-- CreateIndex
CREATE INDEX "audit_logs_subject_account_id_created_at_idx" ON "audit_logs"("subject_account_id", "created_at");
