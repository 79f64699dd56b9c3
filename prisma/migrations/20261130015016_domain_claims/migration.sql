-- DropIndex
DROP INDEX "domains_name_live_key";

-- CreateIndex
CREATE UNIQUE INDEX "domains_name_verified_key" ON "domains"("name") WHERE (deleted_at IS NULL) AND (status = ANY (ARRAY['verified'::domain_status, 'failed'::domain_status]));

-- CreateIndex
CREATE UNIQUE INDEX "domains_account_name_live_key" ON "domains"("account_id", "name") WHERE (deleted_at IS NULL);
