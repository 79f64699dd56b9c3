-- CreateEnum
CREATE TYPE "secret_keyring" AS ENUM ('credentials', 'platform');

-- AlterTable: every existing secret was sealed by SECRETS_KEYRING, the credentials keyring; the
-- key rotation job moves ACME account and certificate keys to the platform keyring. The default
-- only fills the existing rows: new ones always say which keyring sealed them.
ALTER TABLE "encrypted_secrets" ADD COLUMN     "keyring" "secret_keyring" NOT NULL DEFAULT 'credentials';
ALTER TABLE "encrypted_secrets" ALTER COLUMN "keyring" DROP DEFAULT;
