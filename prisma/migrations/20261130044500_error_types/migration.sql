-- AlterTable: the stable type of each stored failure, so the API words it for customers from
-- data and shows the raw error only to operators. Existing failures stay untyped: the API
-- treats an untyped failure as an unknown one.
ALTER TABLE "servers" ADD COLUMN "state_reason_type" TEXT;
ALTER TABLE "xmpp_users" ADD COLUMN "last_error_type" TEXT;
ALTER TABLE "invites" ADD COLUMN "last_error_type" TEXT;
