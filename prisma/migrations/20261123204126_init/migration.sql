-- CreateEnum
CREATE TYPE "account_role" AS ENUM ('customer', 'operator');

-- CreateEnum
CREATE TYPE "node_state" AS ENUM ('active', 'draining');

-- CreateEnum
CREATE TYPE "port_purpose" AS ENUM ('c2s', 'c2s_direct_tls', 's2s', 'https');

-- CreateEnum
CREATE TYPE "domain_kind" AS ENUM ('platform', 'custom');

-- CreateEnum
CREATE TYPE "server_desired_state" AS ENUM ('running', 'stopped', 'deleted');

-- CreateEnum
CREATE TYPE "server_state" AS ENUM ('ordered', 'allocating', 'dns', 'certificate', 'configuring', 'starting', 'bootstrapping', 'probing', 'ready', 'stopped', 'failed', 'deprovisioning', 'deleted');

-- CreateEnum
CREATE TYPE "domain_status" AS ENUM ('pending', 'verified', 'failed');

-- CreateEnum
CREATE TYPE "dns_provider" AS ENUM ('powerdns', 'route53');

-- CreateEnum
CREATE TYPE "dns_record_type" AS ENUM ('A', 'AAAA', 'CNAME', 'SRV', 'TXT');

-- CreateEnum
CREATE TYPE "dns_record_purpose" AS ENUM ('srv_client', 'srv_client_tls', 'srv_server', 'srv_server_tls', 'a_node', 'a_server', 'component', 'acme_challenge');

-- CreateEnum
CREATE TYPE "certificate_status" AS ENUM ('pending', 'active', 'superseded', 'revoked', 'expired', 'failed');

-- CreateEnum
CREATE TYPE "secret_purpose" AS ENUM ('admin_password', 'xmpp_user_password', 'acme_account_key', 'certificate_key', 'invite_uri');

-- CreateEnum
CREATE TYPE "credential_kind" AS ENUM ('admin');

-- CreateEnum
CREATE TYPE "xmpp_user_state" AS ENUM ('pending', 'active', 'deleting', 'deleted');

-- CreateEnum
CREATE TYPE "invite_state" AS ENUM ('pending', 'active', 'redeemed', 'revoked', 'expired', 'failed');

-- CreateEnum
CREATE TYPE "provisioning_event_status" AS ENUM ('started', 'succeeded', 'failed', 'info');

-- CreateEnum
CREATE TYPE "actor_kind" AS ENUM ('customer', 'operator', 'api_token', 'system');

-- CreateTable
CREATE TABLE "accounts" (
    "id" UUID NOT NULL,
    "email" TEXT NOT NULL,
    "password_hash" TEXT NOT NULL,
    "role" "account_role" NOT NULL DEFAULT 'customer',
    "plan_id" UUID NOT NULL,
    "disabled_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "accounts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "sessions" (
    "id" UUID NOT NULL,
    "account_id" UUID NOT NULL,
    "token_hash" TEXT NOT NULL,
    "csrf_secret_hash" TEXT NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "ip" INET,
    "user_agent" TEXT,
    "last_seen_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "sessions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "api_tokens" (
    "id" UUID NOT NULL,
    "account_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "token_hash" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "expires_at" TIMESTAMPTZ(3),
    "last_used_at" TIMESTAMPTZ(3),
    "revoked_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "api_tokens_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "plans" (
    "id" UUID NOT NULL,
    "code" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "max_servers" INTEGER NOT NULL,
    "max_users_per_server" INTEGER NOT NULL,
    "storage_mib" INTEGER NOT NULL,
    "memory_mib" INTEGER NOT NULL,
    "cpu_millis" INTEGER NOT NULL,
    "pids_limit" INTEGER NOT NULL,
    "active" BOOLEAN NOT NULL DEFAULT true,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "plans_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "nodes" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "hostname" TEXT NOT NULL,
    "public_address" INET NOT NULL,
    "docker_endpoint" TEXT NOT NULL,
    "port_range_start" INTEGER NOT NULL,
    "port_range_end" INTEGER NOT NULL,
    "state" "node_state" NOT NULL DEFAULT 'active',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "nodes_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "port_allocations" (
    "id" UUID NOT NULL,
    "node_id" UUID NOT NULL,
    "port" INTEGER NOT NULL,
    "server_id" UUID NOT NULL,
    "purpose" "port_purpose" NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "port_allocations_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "servers" (
    "id" UUID NOT NULL,
    "account_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "domain" TEXT NOT NULL,
    "domain_kind" "domain_kind" NOT NULL,
    "custom_domain_id" UUID,
    "federation" BOOLEAN NOT NULL DEFAULT false,
    "plan_id" UUID NOT NULL,
    "node_id" UUID,
    "desired_state" "server_desired_state" NOT NULL DEFAULT 'running',
    "state" "server_state" NOT NULL DEFAULT 'ordered',
    "state_reason" TEXT,
    "state_changed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "spec_hash" TEXT,
    "container_id" TEXT,
    "ready_at" TIMESTAMPTZ(3),
    "version" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    "deleted_at" TIMESTAMPTZ(3),

    CONSTRAINT "servers_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "domains" (
    "id" UUID NOT NULL,
    "account_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "verification_token" TEXT NOT NULL,
    "status" "domain_status" NOT NULL DEFAULT 'pending',
    "verified_at" TIMESTAMPTZ(3),
    "checks" JSONB,
    "last_checked_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    "deleted_at" TIMESTAMPTZ(3),

    CONSTRAINT "domains_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "dns_records" (
    "id" UUID NOT NULL,
    "provider" "dns_provider" NOT NULL,
    "zone" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "type" "dns_record_type" NOT NULL,
    "value" TEXT NOT NULL,
    "ttl" INTEGER NOT NULL,
    "purpose" "dns_record_purpose" NOT NULL,
    "server_id" UUID,
    "provider_change_id" TEXT,
    "applied_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deleted_at" TIMESTAMPTZ(3),

    CONSTRAINT "dns_records_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "certificates" (
    "id" UUID NOT NULL,
    "server_id" UUID NOT NULL,
    "names" TEXT[],
    "status" "certificate_status" NOT NULL DEFAULT 'pending',
    "acme_account_id" UUID,
    "order_url" TEXT,
    "serial" TEXT,
    "not_before" TIMESTAMPTZ(3),
    "not_after" TIMESTAMPTZ(3),
    "renew_after" TIMESTAMPTZ(3),
    "chain_pem" TEXT,
    "private_key_id" UUID,
    "revoked_at" TIMESTAMPTZ(3),
    "last_error" TEXT,
    "last_attempt_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "certificates_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "acme_accounts" (
    "id" UUID NOT NULL,
    "directory_url" TEXT NOT NULL,
    "contact_email" TEXT,
    "account_url" TEXT,
    "key_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "acme_accounts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "encrypted_secrets" (
    "id" UUID NOT NULL,
    "purpose" "secret_purpose" NOT NULL,
    "key_version" INTEGER NOT NULL,
    "iv" BYTEA NOT NULL,
    "ciphertext" BYTEA NOT NULL,
    "auth_tag" BYTEA NOT NULL,
    "revealed_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "destroyed_at" TIMESTAMPTZ(3),

    CONSTRAINT "encrypted_secrets_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "server_credentials" (
    "id" UUID NOT NULL,
    "server_id" UUID NOT NULL,
    "kind" "credential_kind" NOT NULL DEFAULT 'admin',
    "jid" TEXT NOT NULL,
    "issuance" INTEGER NOT NULL DEFAULT 1,
    "secret_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "server_credentials_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "xmpp_users" (
    "id" UUID NOT NULL,
    "server_id" UUID NOT NULL,
    "localpart" TEXT NOT NULL,
    "secret_id" UUID,
    "state" "xmpp_user_state" NOT NULL DEFAULT 'pending',
    "last_error" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "xmpp_users_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "invites" (
    "id" UUID NOT NULL,
    "server_id" UUID NOT NULL,
    "created_by_id" UUID,
    "uri_secret_id" UUID,
    "state" "invite_state" NOT NULL DEFAULT 'pending',
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "redeemed_at" TIMESTAMPTZ(3),
    "revoked_at" TIMESTAMPTZ(3),
    "last_error" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "invites_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "provisioning_events" (
    "id" BIGSERIAL NOT NULL,
    "server_id" UUID NOT NULL,
    "step" TEXT NOT NULL,
    "status" "provisioning_event_status" NOT NULL,
    "message" TEXT NOT NULL,
    "detail" JSONB,
    "attempt" INTEGER NOT NULL DEFAULT 1,
    "job_id" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "provisioning_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "audit_logs" (
    "id" BIGSERIAL NOT NULL,
    "actor_id" UUID,
    "api_token_id" UUID,
    "actor_kind" "actor_kind" NOT NULL,
    "action" TEXT NOT NULL,
    "target_type" TEXT NOT NULL,
    "target_id" TEXT,
    "ip" INET,
    "detail" JSONB,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "audit_logs_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "accounts_email_key" ON "accounts"("email");

-- CreateIndex
CREATE INDEX "accounts_plan_id_idx" ON "accounts"("plan_id");

-- CreateIndex
CREATE UNIQUE INDEX "sessions_token_hash_key" ON "sessions"("token_hash");

-- CreateIndex
CREATE INDEX "sessions_account_id_idx" ON "sessions"("account_id");

-- CreateIndex
CREATE INDEX "sessions_expires_at_idx" ON "sessions"("expires_at");

-- CreateIndex
CREATE UNIQUE INDEX "api_tokens_token_hash_key" ON "api_tokens"("token_hash");

-- CreateIndex
CREATE INDEX "api_tokens_account_id_idx" ON "api_tokens"("account_id");

-- CreateIndex
CREATE UNIQUE INDEX "plans_code_key" ON "plans"("code");

-- CreateIndex
CREATE UNIQUE INDEX "nodes_name_key" ON "nodes"("name");

-- CreateIndex
CREATE UNIQUE INDEX "nodes_hostname_key" ON "nodes"("hostname");

-- CreateIndex
CREATE UNIQUE INDEX "port_allocations_node_id_port_key" ON "port_allocations"("node_id", "port");

-- CreateIndex
CREATE UNIQUE INDEX "port_allocations_server_id_purpose_key" ON "port_allocations"("server_id", "purpose");

-- CreateIndex
CREATE INDEX "servers_account_id_idx" ON "servers"("account_id");

-- CreateIndex
CREATE INDEX "servers_node_id_idx" ON "servers"("node_id");

-- CreateIndex
CREATE INDEX "servers_state_idx" ON "servers"("state");

-- CreateIndex
CREATE UNIQUE INDEX "servers_domain_live_key" ON "servers"("domain") WHERE (deleted_at IS NULL);

-- CreateIndex
CREATE UNIQUE INDEX "servers_custom_domain_id_live_key" ON "servers"("custom_domain_id") WHERE (deleted_at IS NULL);

-- CreateIndex
CREATE UNIQUE INDEX "domains_verification_token_key" ON "domains"("verification_token");

-- CreateIndex
CREATE INDEX "domains_account_id_idx" ON "domains"("account_id");

-- CreateIndex
CREATE INDEX "domains_status_last_checked_at_idx" ON "domains"("status", "last_checked_at");

-- CreateIndex
CREATE UNIQUE INDEX "domains_name_live_key" ON "domains"("name") WHERE (deleted_at IS NULL);

-- CreateIndex
CREATE INDEX "dns_records_server_id_idx" ON "dns_records"("server_id");

-- CreateIndex
CREATE UNIQUE INDEX "dns_records_live_key" ON "dns_records"("provider", "zone", "name", "type", "value") WHERE (deleted_at IS NULL);

-- CreateIndex
CREATE UNIQUE INDEX "certificates_private_key_id_key" ON "certificates"("private_key_id");

-- CreateIndex
CREATE INDEX "certificates_server_id_status_idx" ON "certificates"("server_id", "status");

-- CreateIndex
CREATE INDEX "certificates_status_renew_after_idx" ON "certificates"("status", "renew_after");

-- CreateIndex
CREATE UNIQUE INDEX "acme_accounts_directory_url_key" ON "acme_accounts"("directory_url");

-- CreateIndex
CREATE UNIQUE INDEX "acme_accounts_key_id_key" ON "acme_accounts"("key_id");

-- CreateIndex
CREATE INDEX "encrypted_secrets_key_version_idx" ON "encrypted_secrets"("key_version");

-- CreateIndex
CREATE UNIQUE INDEX "server_credentials_secret_id_key" ON "server_credentials"("secret_id");

-- CreateIndex
CREATE UNIQUE INDEX "server_credentials_server_id_kind_issuance_key" ON "server_credentials"("server_id", "kind", "issuance");

-- CreateIndex
CREATE UNIQUE INDEX "xmpp_users_secret_id_key" ON "xmpp_users"("secret_id");

-- CreateIndex
CREATE UNIQUE INDEX "xmpp_users_server_id_localpart_key" ON "xmpp_users"("server_id", "localpart");

-- CreateIndex
CREATE UNIQUE INDEX "invites_uri_secret_id_key" ON "invites"("uri_secret_id");

-- CreateIndex
CREATE INDEX "invites_server_id_state_idx" ON "invites"("server_id", "state");

-- CreateIndex
CREATE INDEX "provisioning_events_server_id_created_at_idx" ON "provisioning_events"("server_id", "created_at");

-- CreateIndex
CREATE INDEX "audit_logs_actor_id_created_at_idx" ON "audit_logs"("actor_id", "created_at");

-- CreateIndex
CREATE INDEX "audit_logs_target_type_target_id_created_at_idx" ON "audit_logs"("target_type", "target_id", "created_at");

-- AddForeignKey
ALTER TABLE "accounts" ADD CONSTRAINT "accounts_plan_id_fkey" FOREIGN KEY ("plan_id") REFERENCES "plans"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "api_tokens" ADD CONSTRAINT "api_tokens_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "port_allocations" ADD CONSTRAINT "port_allocations_node_id_fkey" FOREIGN KEY ("node_id") REFERENCES "nodes"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "port_allocations" ADD CONSTRAINT "port_allocations_server_id_fkey" FOREIGN KEY ("server_id") REFERENCES "servers"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "servers" ADD CONSTRAINT "servers_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "servers" ADD CONSTRAINT "servers_custom_domain_id_fkey" FOREIGN KEY ("custom_domain_id") REFERENCES "domains"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "servers" ADD CONSTRAINT "servers_plan_id_fkey" FOREIGN KEY ("plan_id") REFERENCES "plans"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "servers" ADD CONSTRAINT "servers_node_id_fkey" FOREIGN KEY ("node_id") REFERENCES "nodes"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "domains" ADD CONSTRAINT "domains_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "dns_records" ADD CONSTRAINT "dns_records_server_id_fkey" FOREIGN KEY ("server_id") REFERENCES "servers"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "certificates" ADD CONSTRAINT "certificates_server_id_fkey" FOREIGN KEY ("server_id") REFERENCES "servers"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "certificates" ADD CONSTRAINT "certificates_acme_account_id_fkey" FOREIGN KEY ("acme_account_id") REFERENCES "acme_accounts"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "certificates" ADD CONSTRAINT "certificates_private_key_id_fkey" FOREIGN KEY ("private_key_id") REFERENCES "encrypted_secrets"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "acme_accounts" ADD CONSTRAINT "acme_accounts_key_id_fkey" FOREIGN KEY ("key_id") REFERENCES "encrypted_secrets"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "server_credentials" ADD CONSTRAINT "server_credentials_server_id_fkey" FOREIGN KEY ("server_id") REFERENCES "servers"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "server_credentials" ADD CONSTRAINT "server_credentials_secret_id_fkey" FOREIGN KEY ("secret_id") REFERENCES "encrypted_secrets"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "xmpp_users" ADD CONSTRAINT "xmpp_users_server_id_fkey" FOREIGN KEY ("server_id") REFERENCES "servers"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "xmpp_users" ADD CONSTRAINT "xmpp_users_secret_id_fkey" FOREIGN KEY ("secret_id") REFERENCES "encrypted_secrets"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "invites" ADD CONSTRAINT "invites_server_id_fkey" FOREIGN KEY ("server_id") REFERENCES "servers"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "invites" ADD CONSTRAINT "invites_created_by_id_fkey" FOREIGN KEY ("created_by_id") REFERENCES "accounts"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "invites" ADD CONSTRAINT "invites_uri_secret_id_fkey" FOREIGN KEY ("uri_secret_id") REFERENCES "encrypted_secrets"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "provisioning_events" ADD CONSTRAINT "provisioning_events_server_id_fkey" FOREIGN KEY ("server_id") REFERENCES "servers"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "audit_logs" ADD CONSTRAINT "audit_logs_actor_id_fkey" FOREIGN KEY ("actor_id") REFERENCES "accounts"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "audit_logs" ADD CONSTRAINT "audit_logs_api_token_id_fkey" FOREIGN KEY ("api_token_id") REFERENCES "api_tokens"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- Invariants Prisma's schema language cannot express, added by hand (the engine ignores CHECK
-- constraints when diffing, so they never show up as drift). Names are lower case so lookups
-- and the live-row unique indexes are effectively case-insensitive.
ALTER TABLE "plans" ADD CONSTRAINT "plans_limits_positive_check" CHECK ("max_servers" > 0 AND "max_users_per_server" > 0 AND "storage_mib" > 0 AND "memory_mib" > 0 AND "cpu_millis" > 0 AND "pids_limit" > 0);

ALTER TABLE "nodes" ADD CONSTRAINT "nodes_port_range_check" CHECK ("port_range_start" BETWEEN 1 AND 65535 AND "port_range_end" BETWEEN "port_range_start" AND 65535);

ALTER TABLE "port_allocations" ADD CONSTRAINT "port_allocations_port_check" CHECK ("port" BETWEEN 1 AND 65535);

ALTER TABLE "servers" ADD CONSTRAINT "servers_domain_lower_check" CHECK ("domain" = lower("domain"));

ALTER TABLE "servers" ADD CONSTRAINT "servers_custom_domain_check" CHECK (("domain_kind" = 'custom') = ("custom_domain_id" IS NOT NULL));

ALTER TABLE "domains" ADD CONSTRAINT "domains_name_lower_check" CHECK ("name" = lower("name"));

ALTER TABLE "dns_records" ADD CONSTRAINT "dns_records_name_lower_check" CHECK ("zone" = lower("zone") AND "name" = lower("name"));

ALTER TABLE "dns_records" ADD CONSTRAINT "dns_records_ttl_check" CHECK ("ttl" > 0);

ALTER TABLE "certificates" ADD CONSTRAINT "certificates_names_check" CHECK (cardinality("names") > 0);

ALTER TABLE "server_credentials" ADD CONSTRAINT "server_credentials_issuance_check" CHECK ("issuance" > 0);
