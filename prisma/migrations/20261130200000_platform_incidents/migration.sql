-- The public status page's history: a platform component down, from when until when.
CREATE TABLE "platform_incidents" (
    "id" UUID NOT NULL,
    "component" TEXT NOT NULL,
    "started_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "resolved_at" TIMESTAMPTZ(3),

    CONSTRAINT "platform_incidents_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "platform_incidents_started_at_idx" ON "platform_incidents"("started_at");

-- CreateIndex
CREATE UNIQUE INDEX "platform_incidents_component_open_key" ON "platform_incidents"("component") WHERE (resolved_at IS NULL);
