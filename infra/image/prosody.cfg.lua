-- Default config, only so the image can run on its own (smoke tests). Parley servers get theirs
-- from the worker, mounted at /etc/parley. It enables every module of XEP-0479 Compliance
-- Suites 2023 (IM + Mobile) so a smoke run proves they all load from the image. Community
-- modules (prosody-modules) sit beside the core ones in /usr/lib/prosody/modules as
-- mod_NAME/mod_NAME.lua, so no plugin_paths are needed.

admins = { }

modules_enabled = {
	"roster"; "saslauth"; "tls"; "disco"; "private"; "ping"; "time"; "version"; "uptime";
	"posix";
	-- `prosodyctl shell` through docker exec
	"admin_shell";
	-- Compliance Suites 2023: IM + Mobile
	"carbons"; "mam"; "smacks"; "csi_simple"; "cloud_notify"; "blocklist"; "bookmarks";
	"pep"; "vcard4"; "vcard_legacy";
}

-- On the tmpfs /run/prosody; lets `prosodyctl status` find the foreground server.
pidfile = "/run/prosody/prosody.pid"
log = { { levels = { min = "info" }; to = "console" } }

authentication = "internal_hashed"
allow_registration = false
s2s_secure_auth = true
archive_expires_after = "1w"
-- Plain HTTP stays local as Prosody intends; its default also binds ::1, which a container
-- without IPv6 lacks (an error line at every start).
http_interfaces = { "127.0.0.1" }

VirtualHost "localhost"

Component "conference.localhost" "muc"
	modules_enabled = { "muc_mam" }

Component "upload.localhost" "http_file_share"
