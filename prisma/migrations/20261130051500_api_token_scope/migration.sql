-- CreateEnum
CREATE TYPE "api_token_scope" AS ENUM ('account', 'operator_read', 'operator');

-- AlterTable: existing tokens act for their own account only; an operator who needs a token for
-- operator work creates a scoped one (which must expire).
ALTER TABLE "api_tokens" ADD COLUMN "scope" "api_token_scope" NOT NULL DEFAULT 'account';
