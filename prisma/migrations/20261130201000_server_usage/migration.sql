-- Usage a customer sees on the server page: a sample per account census, and messages per day.
CREATE TABLE "server_usage_samples" (
    "server_id" UUID NOT NULL,
    "taken_at" TIMESTAMPTZ(3) NOT NULL,
    "registered_users" INTEGER NOT NULL,
    "online_users" INTEGER NOT NULL,
    "upload_bytes" BIGINT NOT NULL,
    "archive_bytes" BIGINT NOT NULL,

    CONSTRAINT "server_usage_samples_pkey" PRIMARY KEY ("server_id","taken_at")
);

CREATE TABLE "server_message_days" (
    "server_id" UUID NOT NULL,
    "day" DATE NOT NULL,
    "messages" INTEGER NOT NULL,

    CONSTRAINT "server_message_days_pkey" PRIMARY KEY ("server_id","day")
);

ALTER TABLE "server_usage_samples" ADD CONSTRAINT "server_usage_samples_server_id_fkey" FOREIGN KEY ("server_id") REFERENCES "servers"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "server_message_days" ADD CONSTRAINT "server_message_days_server_id_fkey" FOREIGN KEY ("server_id") REFERENCES "servers"("id") ON DELETE CASCADE ON UPDATE CASCADE;
