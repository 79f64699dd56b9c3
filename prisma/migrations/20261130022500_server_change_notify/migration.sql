-- A live timeline is pushed, not polled: every new timeline event and every change of a server's
-- state notifies channel "parley_server_changes" with the server's id, and the API wakes only the
-- streams watching that server. Prisma does not model triggers, so this lives here alone.
CREATE FUNCTION "parley_notify_server_change"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('parley_server_changes', to_jsonb(NEW) ->> TG_ARGV[0]);
  RETURN NULL;
END
$$;

CREATE TRIGGER "provisioning_events_notify" AFTER INSERT ON "provisioning_events"
  FOR EACH ROW EXECUTE FUNCTION "parley_notify_server_change"('server_id');

CREATE TRIGGER "servers_state_notify" AFTER UPDATE OF "state", "state_reason" ON "servers"
  FOR EACH ROW WHEN (OLD."state" IS DISTINCT FROM NEW."state" OR OLD."state_reason" IS DISTINCT FROM NEW."state_reason")
  EXECUTE FUNCTION "parley_notify_server_change"('id');
