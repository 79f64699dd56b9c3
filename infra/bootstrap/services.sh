#!/usr/bin/env bash
# Sandbox services for Parley. Each ensure_* function reuses the service when it already
# answers, otherwise starts it, waits (bounded) until it answers, and fails naming the log.
# Everything binds to 127.0.0.1 (PowerDNS also to the edge address). State, secrets, pid files and logs live in PARLEY_STATE_DIR.
#
# Sourced by setup.sh. Also runnable on its own:  services.sh [postgres|redis|docker|edge_network|powerdns|pebble|coturn|prometheus]...
#
# Daemons run detached (setsid: own session, no controlling terminal, stdin from /dev/null,
# output to a log) so they outlive the shell that started them, like the services they stand in
# for; their pids are kept in $PARLEY_STATE_DIR/run/NAME.pid for stop.sh.

# /usr/sbin holds pdns_server, dockerd, runuser; a non-root PATH may lack it.
PATH="$PATH:/usr/sbin:/sbin"

: "${PARLEY_STATE_DIR:=/var/lib/parley-sandbox}"
: "${PLATFORM_ZONE:=parley.test.}"
PARLEY_LOG_DIR="$PARLEY_STATE_DIR/logs"
PARLEY_RUN_DIR="$PARLEY_STATE_DIR/run"
PARLEY_SECRETS_DIR="$PARLEY_STATE_DIR/secrets"

REDIS_PORT=6379
PDNS_DNS_PORT=5353
PDNS_API_PORT=8081
PEBBLE_PORT=14000
PEBBLE_MGMT_PORT=15000
DOCKER_SOCKET=/var/run/docker.sock
# The sandbox node's "public" network: a Docker bridge of Parley's own whose gateway is a host
# address that both the host and customers' containers reach (127.0.0.1 means the container
# itself inside one). Servers that federate or relay calls publish there; containers resolve
# the platform zone through PowerDNS on its port 53. Containers get addresses from the upper
# half only, so the lower half stays free for host services (coturn's relay address).
SANDBOX_EDGE_NETWORK=parley-edge
SANDBOX_EDGE_SUBNET=10.213.0.0/24
SANDBOX_EDGE_CONTAINER_RANGE=10.213.0.128/25
SANDBOX_EDGE_ADDRESS=10.213.0.1

log() { printf '[parley] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

as_postgres() {
  # cd /: postgres may not be allowed into the caller's working directory.
  if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u postgres -- "$@"); else (cd / && sudo -u postgres "$@"); fi
}

# The state dir path ends up in config files (JSON, pdns.conf) and the env file: keeping it to a
# plain charset means none of them needs escaping.
check_state_dir() {
  [[ "$PARLEY_STATE_DIR" =~ ^/[A-Za-z0-9._/-]+$ ]] ||
    die "PARLEY_STATE_DIR must be an absolute path of [A-Za-z0-9._/-], got '$PARLEY_STATE_DIR'"
}

ensure_state_dir() {
  check_state_dir
  if [ ! -d "$PARLEY_STATE_DIR" ] || [ ! -w "$PARLEY_STATE_DIR" ]; then
    as_root install -d -m 755 -o "$(id -u)" -g "$(id -g)" "$PARLEY_STATE_DIR"
  fi
  mkdir -p "$PARLEY_LOG_DIR" "$PARLEY_RUN_DIR"
  install -d -m 700 "$PARLEY_SECRETS_DIR"
}

# state_secret NAME CMD...: prints the secret kept in secrets/NAME; generates it once with CMD.
state_secret() {
  local name=$1 file
  shift
  file="$PARLEY_SECRETS_DIR/$name"
  if [ ! -s "$file" ]; then
    (umask 077 && "$@" >"$file.tmp" && mv "$file.tmp" "$file") || die "cannot create secret $file"
  fi
  chmod 600 "$file"
  cat "$file"
}

# wait_until SECONDS CMD...: polls CMD every 0.2 s until it succeeds; false after SECONDS.
wait_until() {
  local limit=$(($1 * 5)) i=0
  shift
  until "$@" >/dev/null 2>&1; do
    i=$((i + 1))
    [ "$i" -lt "$limit" ] || return 1
    sleep 0.2
  done
}

# without_fds CMD...: runs CMD with every descriptor above 2 closed. A daemon must not keep
# what its starter had open: setup.sh's lock (fd 9: the next run would wait for it forever) or a
# pipe of whoever called setup.sh (a caller reading to EOF, like $(...) or CI, would hang).
without_fds() {
  # shellcheck disable=SC2016  # expanded by the inner bash, on purpose.
  bash -c 'for fd in /proc/$$/fd/*; do fd=${fd##*/}; [ "$fd" -le 2 ] || eval "exec $fd>&-"; done; exec "$@"' \
    without_fds "$@"
}

# root_without_fds CMD...: without_fds as root; sudo closes the descriptors by itself.
root_without_fds() {
  if [ "$(id -u)" -eq 0 ]; then without_fds "$@"; else sudo "$@"; fi
}

# start_daemon NAME CMD...: starts CMD detached (own session, no terminal, stdin /dev/null),
# output appended to logs/NAME.log, pid in run/NAME.pid. The pid is written by the shell that
# then execs CMD, so it is CMD's own pid whether or not setsid had to fork.
start_daemon() {
  local name=$1 pidfile logfile
  shift
  pidfile="$PARLEY_RUN_DIR/$name.pid"
  logfile="$PARLEY_LOG_DIR/$name.log"
  rm -f "$pidfile"
  printf '\n=== %s starting %s\n' "$(date -u +%FT%TZ)" "$name" >>"$logfile"
  # shellcheck disable=SC2016  # $$, $0 and $@ are expanded by the inner sh, on purpose.
  without_fds setsid -f sh -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@" </dev/null >>"$logfile" 2>&1
  wait_until 5 test -s "$pidfile" || die "$name did not start, see $logfile"
}

# our_pid NAME EXE: prints the pid from run/NAME.pid if that process is alive and runs EXE
# (a recycled pid must never be mistaken for ours). Compared after resolving symlinks:
# Debian's redis-server is a link to redis-check-rdb.
our_pid() {
  local pidfile="$PARLEY_RUN_DIR/$1.pid" pid exe want
  [ -s "$pidfile" ] || return 1
  pid=$(cat "$pidfile")
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  exe=$(as_root readlink "/proc/$pid/exe" 2>/dev/null) || return 1
  want=$(command -v "$2") || return 1
  [ "$exe" = "$(readlink -f "$want")" ] || return 1
  echo "$pid"
}

# pid_gone PID: the process has exited. A zombie counts as gone: our daemons' parent is init,
# which may take a second or two to reap them, and a zombie holds no port.
pid_gone() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  stat=${stat##*) } # the state follows "(comm) ", and comm may hold spaces
  [ "${stat:0:1}" = Z ]
}

# stop_ours NAME EXE: stops the process from run/NAME.pid if it is ours (TERM, then KILL after 10 s).
stop_ours() {
  local pid
  pid=$(our_pid "$1" "$2") || { rm -f "$PARLEY_RUN_DIR/$1.pid"; return 0; }
  as_root kill -TERM "$pid" 2>/dev/null || true
  if ! wait_until 10 pid_gone "$pid"; then
    as_root kill -KILL "$pid" 2>/dev/null || true
    wait_until 5 pid_gone "$pid" || true
  fi
  rm -f "$PARLEY_RUN_DIR/$1.pid"
}

# require_free_port SERVICE PORT...: fails early, naming the holder, when a TCP port we are about
# to listen on is taken: by a daemon left from a wiped state dir, or by another program. Better
# than a bind error buried in a log.
require_free_port() {
  local svc=$1 port line
  shift
  for port in "$@"; do
    line=$(as_root ss -Hltnp "sport = :$port" 2>/dev/null | head -n 1) || true
    [ -z "$line" ] || die "$svc: TCP port $port is taken ($(grep -o 'users:.*' <<<"$line" || echo "$line")), but does not answer as ours; stop that process and run again"
  done
}

# write_if_changed FILE MODE: writes stdin to FILE; status 0 if the content changed.
write_if_changed() {
  local file=$1 mode=$2 tmp
  # Callers test the status, which turns errexit off in here: every step checks itself.
  tmp=$(mktemp "$file.XXXXXX") || die "cannot write $file"
  { cat >"$tmp" && chmod "$mode" "$tmp"; } || die "cannot write $tmp"
  if [ -f "$file" ] && cmp -s "$tmp" "$file"; then
    rm -f "$tmp"
    return 1
  fi
  mv "$tmp" "$file" || die "cannot write $file"
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL: Debian's cluster (pg_ctlcluster), a `parley` role with CREATEDB and a `parley` db.
# Sets PG_PORT and PG_PASSWORD for the env file.
ensure_postgres() {
  local line ver name port status logfile state
  command -v pg_lsclusters >/dev/null || die "postgres: pg_lsclusters missing (postgresql-common not installed?)"
  # The cluster on 5432 if there is one, else the first; a fresh install may have none.
  line=$(pg_lsclusters --no-header | awk '$3 == 5432 { print; exit }')
  [ -n "$line" ] || line=$(pg_lsclusters --no-header | head -n 1)
  if [ -z "$line" ]; then
    ver=$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -V | tail -n 1)
    [ -n "$ver" ] || die "postgres: no server version under /usr/lib/postgresql"
    as_root pg_createcluster "$ver" main >>"$PARLEY_LOG_DIR/postgres-setup.log" 2>&1 ||
      die "postgres: pg_createcluster failed, see $PARLEY_LOG_DIR/postgres-setup.log"
    line=$(pg_lsclusters --no-header | awk -v v="$ver" '$1 == v && $2 == "main" { print; exit }')
  fi
  read -r ver name port status _ <<<"$line"
  logfile="/var/log/postgresql/postgresql-$ver-$name.log"

  if [[ "$status" == online* ]] && pg_isready -q -h 127.0.0.1 -p "$port"; then
    state="running (reused)"
  else
    root_without_fds pg_ctlcluster "$ver" "$name" start >>"$PARLEY_LOG_DIR/postgres-setup.log" 2>&1 ||
      die "postgres: pg_ctlcluster $ver $name start failed, see $logfile and $PARLEY_LOG_DIR/postgres-setup.log"
    wait_until 30 pg_isready -q -h 127.0.0.1 -p "$port" || die "postgres: not answering on 127.0.0.1:$port, see $logfile"
    state="started"
  fi

  # shellcheck disable=SC2034  # PG_PORT and PG_PASSWORD are outputs, read by setup.sh.
  PG_PORT=$port
  # Hex: safe in a URL, in SQL quotes and in the env file without escaping.
  PG_PASSWORD=$(state_secret postgres-password openssl rand -hex 24)

  # Logging in as parley over TCP proves role, password, pg_hba and database at once.
  if PGPASSWORD=$PG_PASSWORD PGCONNECT_TIMEOUT=5 psql -X -q -h 127.0.0.1 -p "$port" -U parley -d parley \
       -tAc 'SELECT 1' >/dev/null 2>&1; then
    log "postgres $ver/$name: $state, role and database ok"
    return 0
  fi
  local psql=(psql -X -q -v ON_ERROR_STOP=1 -p "$port" -d postgres) done=()
  if [ "$(as_postgres "${psql[@]}" -tAc "SELECT 1 FROM pg_roles WHERE rolname = 'parley'")" = 1 ]; then
    # Someone changed the password, or the state dir was wiped: the stored password wins, since
    # it is the one the env file hands out.
    printf "ALTER ROLE parley WITH LOGIN CREATEDB PASSWORD '%s';\n" "$PG_PASSWORD" | as_postgres "${psql[@]}"
    done+=("role password reset")
  else
    printf "CREATE ROLE parley WITH LOGIN CREATEDB PASSWORD '%s';\n" "$PG_PASSWORD" | as_postgres "${psql[@]}"
    done+=("role created")
  fi
  if [ "$(as_postgres "${psql[@]}" -tAc "SELECT 1 FROM pg_database WHERE datname = 'parley'")" = 1 ]; then
    as_postgres "${psql[@]}" -c 'ALTER DATABASE parley OWNER TO parley'
  else
    as_postgres "${psql[@]}" -c 'CREATE DATABASE parley OWNER parley'
    done+=("database created")
  fi
  PGPASSWORD=$PG_PASSWORD PGCONNECT_TIMEOUT=5 psql -X -q -h 127.0.0.1 -p "$port" -U parley -d parley \
    -tAc 'SELECT 1' >/dev/null || die "postgres: parley cannot log in over 127.0.0.1:$port, see $logfile"
  local summary
  summary=$(printf '%s, ' "${done[@]}")
  log "postgres $ver/$name: $state, ${summary%, }"
}

# ---------------------------------------------------------------------------------------------
# Redis: BullMQ needs noeviction (an evicted job key is a lost job) and durability (appendonly).
redis_ping() { [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; }

ensure_redis() {
  local logfile="$PARLEY_LOG_DIR/redis.log" policy
  if redis_ping; then
    policy=$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" config get maxmemory-policy 2>/dev/null | sed -n 2p)
    if [ "$policy" != noeviction ]; then
      # A Redis we didn't start: BullMQ would warn and could lose jobs under memory pressure.
      redis-cli -h 127.0.0.1 -p "$REDIS_PORT" config set maxmemory-policy noeviction >/dev/null
      log "redis: running (reused), maxmemory-policy $policy -> noeviction"
    else
      log "redis: running (reused)"
    fi
    return 0
  fi
  stop_ours redis redis-server # a hung one of ours would hold the port
  require_free_port redis "$REDIS_PORT"
  mkdir -p "$PARLEY_STATE_DIR/redis"
  # Run in the foreground under start_daemon, like the other daemons (one way to detach, pid
  # file and log handling); --logfile empty: it logs to stdout, i.e. to logs/redis.log.
  start_daemon redis redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize no \
    --dir "$PARLEY_STATE_DIR/redis" --logfile '' --appendonly yes --maxmemory-policy noeviction
  # Loading a large AOF answers LOADING until done; 60 s is generous for a sandbox.
  wait_until 60 redis_ping || die "redis: not answering on 127.0.0.1:$REDIS_PORT, see $logfile"
  log "redis: started"
}

# ---------------------------------------------------------------------------------------------
# Host ports Parley publishes customers' containers on (the sandbox node's NODE_PORT_RANGE, the
# test suite's nodes and the benchmarks') overlap Linux's ephemeral range (32768-60999): an
# outgoing connection holding one of them makes the engine refuse to publish it ("address already
# in use"). Reserved, the kernel never hands them out to outgoing connections.
# 48000-48999: coturn's relay ports (TURN_RELAY_PORTS), bound on demand for each call.
PARLEY_RESERVED_PORTS=20000-48999
reserve_published_ports() {
  local file=/proc/sys/net/ipv4/ip_local_reserved_ports current
  current=$(cat "$file" 2>/dev/null) || { log "ports: $file unreadable, left as it is"; return 0; }
  case ",$current," in *",$PARLEY_RESERVED_PORTS,"*) log "ports: $PARLEY_RESERVED_PORTS reserved (reused)"; return 0 ;; esac
  if as_root sh -c "echo '${current:+$current,}$PARLEY_RESERVED_PORTS' > $file" 2>/dev/null; then
    log "ports: reserved $PARLEY_RESERVED_PORTS from the ephemeral range"
  else
    log "ports: could not reserve $PARLEY_RESERVED_PORTS in $file; a published port may collide with an outgoing connection"
  fi
}

# Docker engine: reuse any dockerd that answers (one may have been started by hand or by init).
ensure_docker() {
  local logfile="$PARLEY_LOG_DIR/dockerd.log" pid
  if as_root docker info >/dev/null 2>&1; then
    log "docker: running (reused)"
    return 0
  fi
  if pid=$(our_pid dockerd dockerd); then
    # Ours but not answering yet (e.g. a previous run timed out during start): give it time.
    if wait_until 30 as_root docker info; then log "docker: running (reused, pid $pid)"; return 0; fi
    die "docker: our dockerd (pid $pid) does not answer, see $logfile"
  fi
  if [ "$(id -u)" -eq 0 ]; then
    start_daemon dockerd dockerd
  else
    # sudo -E keeps PARLEY_* for the helper; dockerd itself needs root.
    sudo -E bash -c "source '${BASH_SOURCE[0]}' && start_daemon dockerd dockerd"
  fi
  wait_until 60 test -S "$DOCKER_SOCKET" || die "docker: $DOCKER_SOCKET did not appear, see $logfile"
  wait_until 60 as_root docker info || die "docker: engine not answering, see $logfile"
  log "docker: started"
}

# The edge network (see SANDBOX_EDGE_NETWORK); an existing one with other settings is an error
# rather than something to rewrite, since containers may be attached to it.
ensure_edge_network() {
  local found
  found=$(as_root docker network inspect "$SANDBOX_EDGE_NETWORK" \
    --format '{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}} {{.IPRange}}{{end}} {{index .Labels "parley.role"}}' 2>/dev/null) || found=""
  if [ -z "$found" ]; then
    as_root docker network create --driver bridge --subnet "$SANDBOX_EDGE_SUBNET" --gateway "$SANDBOX_EDGE_ADDRESS" \
      --ip-range "$SANDBOX_EDGE_CONTAINER_RANGE" -o "com.docker.network.bridge.name=$SANDBOX_EDGE_NETWORK" \
      --label parley.managed=true --label parley.role=edge "$SANDBOX_EDGE_NETWORK" >/dev/null ||
      die "docker: could not create the network $SANDBOX_EDGE_NETWORK ($SANDBOX_EDGE_SUBNET); is the subnet taken?"
    log "edge network: $SANDBOX_EDGE_NETWORK created, node address $SANDBOX_EDGE_ADDRESS"
  elif [ "$found" = "$SANDBOX_EDGE_SUBNET $SANDBOX_EDGE_ADDRESS $SANDBOX_EDGE_CONTAINER_RANGE edge" ]; then
    log "edge network: $SANDBOX_EDGE_NETWORK (reused)"
  else
    die "docker: a network named $SANDBOX_EDGE_NETWORK exists with other settings ($found); remove it: docker network rm $SANDBOX_EDGE_NETWORK"
  fi
}

# ---------------------------------------------------------------------------------------------
# PowerDNS authoritative with the sqlite3 backend, HTTP API on 127.0.0.1:8081, DNS on
# 127.0.0.1:5353 and on the edge address's port 53 (containers' resolvers only speak port 53).
# Sets PDNS_API_KEY.
pdns_api_ok() {
  [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 -H @<(printf 'X-API-Key: %s\n' "$PDNS_API_KEY") \
    "http://127.0.0.1:$PDNS_API_PORT/api/v1/servers/localhost")" = 200 ]
}

# pdns_api METHOD PATH [BODY]: prints the response body, returns 0 on 2xx. The key goes through
# a header file descriptor so it never shows in `ps`.
pdns_api() {
  local method=$1 path=$2 body=${3:-} out code
  out=$(mktemp)
  local args=(-s -o "$out" -w '%{http_code}' --max-time 10 -X "$method" -H 'Content-Type: application/json')
  [ -z "$body" ] || args+=(--data-binary "$body")
  # The <(...) must sit on curl's own command line: bash closes it once the enclosing command ends.
  code=$(curl "${args[@]}" -H @<(printf 'X-API-Key: %s\n' "$PDNS_API_KEY") \
    "http://127.0.0.1:$PDNS_API_PORT/api/v1/servers/localhost$path") || code=000
  cat "$out"
  rm -f "$out"
  [[ "$code" == 2* ]]
}

ensure_powerdns() {
  local dir="$PARLEY_STATE_DIR/pdns" logfile="$PARLEY_LOG_DIR/pdns.log" db schema pid changed=0
  db="$dir/pdns.sqlite3"
  mkdir -p "$dir/sock"
  PDNS_API_KEY=$(state_secret pdns-api-key openssl rand -hex 32)

  if [ ! -s "$db" ]; then
    for schema in /usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql \
                  /usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql \
                  /usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql.gz; do
      [ -f "$schema" ] && break
    done
    [ -f "$schema" ] || die "powerdns: sqlite3 schema not found (is pdns-backend-sqlite3 installed?)"
    rm -f "$db.tmp"
    if [[ "$schema" == *.gz ]]; then zcat "$schema"; else cat "$schema"; fi | sqlite3 "$db.tmp" ||
      die "powerdns: creating $db from $schema failed"
    mv "$db.tmp" "$db"
  fi

  # security-poll-suffix= : otherwise pdns asks secpoll.powerdns.com through the system resolver.
  # Caches off: a sandbox serves a handful of queries, and tests that write a record and query it
  # at once (ACME TXT, then its deletion) must see the change immediately.
  write_if_changed "$dir/pdns.conf" 600 <<EOF && changed=1
# Generated by infra/bootstrap/services.sh at every run: edits are lost.
launch=gsqlite3
gsqlite3-database=$db
api=yes
api-key=$PDNS_API_KEY
webserver=yes
webserver-address=127.0.0.1
webserver-port=$PDNS_API_PORT
webserver-allow-from=127.0.0.0/8
local-address=127.0.0.1, $SANDBOX_EDGE_ADDRESS:53
local-port=$PDNS_DNS_PORT
guardian=no
daemon=no
disable-syslog=yes
log-timestamp=yes
socket-dir=$dir/sock
security-poll-suffix=
cache-ttl=0
negquery-cache-ttl=0
query-cache-ttl=0
EOF

  if [ "$changed" = 1 ] && pid=$(our_pid pdns pdns_server); then
    log "powerdns: config changed, restarting pid $pid"
    stop_ours pdns pdns_server
  fi
  if pdns_api_ok; then
    log "powerdns: running (reused)"
  else
    stop_ours pdns pdns_server # ours but not answering: replace it rather than fight for the port
    require_free_port powerdns "$PDNS_API_PORT" "$PDNS_DNS_PORT"
    start_daemon pdns pdns_server --config-dir="$dir"
    wait_until 30 pdns_api_ok || die "powerdns: API not answering on 127.0.0.1:$PDNS_API_PORT, see $logfile"
    log "powerdns: started"
  fi
  ensure_platform_zone
}

# The platform zone with SOA, NS ns1.<zone> and ns1's A record. Kind Native: no AXFR/NOTIFY,
# the sqlite database is the only copy. Leaves an existing, correct zone untouched (a PATCH would
# bump the SOA serial on every run).
ensure_platform_zone() {
  local zone ns body current
  zone="${PLATFORM_ZONE,,}"
  zone="${zone%.}."
  [[ "$zone" =~ ^([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+$ ]] || die "powerdns: invalid PLATFORM_ZONE '$PLATFORM_ZONE'"
  ns="ns1.$zone"
  local soa="$ns hostmaster.$zone 1 10800 3600 604800 60"
  local rr_ns="{\"name\":\"$zone\",\"type\":\"NS\",\"ttl\":3600,\"changetype\":\"REPLACE\",\"records\":[{\"content\":\"$ns\",\"disabled\":false}]}"
  local rr_a="{\"name\":\"$ns\",\"type\":\"A\",\"ttl\":3600,\"changetype\":\"REPLACE\",\"records\":[{\"content\":\"127.0.0.1\",\"disabled\":false}]}"

  if current=$(pdns_api GET "/zones/$zone"); then
    # Check that NS and ns1's A are there; anything else in the zone belongs to the platform.
    if printf '%s' "$current" | node -e '
      const z = JSON.parse(require("fs").readFileSync(0, "utf8"));
      const [zone, ns] = process.argv.slice(1);
      const has = (name, type, content) => (z.rrsets || []).some((r) =>
        r.name === name && r.type === type && r.records.some((x) => x.content === content && !x.disabled));
      process.exit(has(zone, "NS", ns) && has(ns, "A", "127.0.0.1") ? 0 : 1);' "$zone" "$ns"; then
      log "powerdns: zone $zone present"
      return 0
    fi
    body="{\"rrsets\":[$rr_ns,$rr_a]}"
    pdns_api PATCH "/zones/$zone" "$body" >/dev/null || die "powerdns: repairing zone $zone failed, see $PARLEY_LOG_DIR/pdns.log"
    log "powerdns: zone $zone repaired (NS/A)"
    return 0
  fi
  body="{\"name\":\"$zone\",\"kind\":\"Native\",\"nameservers\":[],\"soa_edit_api\":\"DEFAULT\",\"rrsets\":[
    {\"name\":\"$zone\",\"type\":\"SOA\",\"ttl\":3600,\"records\":[{\"content\":\"$soa\",\"disabled\":false}]},
    $rr_ns, $rr_a]}"
  local resp
  resp=$(pdns_api POST /zones "$body") || die "powerdns: creating zone $zone failed: $resp"
  log "powerdns: zone $zone created"
}

# ---------------------------------------------------------------------------------------------
# Pebble: local ACME CA. Its API certificate is ours (made once); the root that signs issued
# certificates is Pebble's and changes at every start (fetch it from the management API).
# Pebble's defaults stay on purpose: it rejects ~5% of valid nonces (badNonce) and reuses valid
# authorizations half of the time, so ACME clients must retry and check authorization status
# like they must with Let's Encrypt. Chain length: default 1 (leaf + one intermediate).
# Sets PEBBLE_CERT.
pebble_ok() {
  curl -fs -o /dev/null --max-time 2 --cacert "$PEBBLE_CERT" "https://127.0.0.1:$PEBBLE_PORT/dir"
}

ensure_pebble() {
  local dir="$PARLEY_STATE_DIR/pebble" logfile="$PARLEY_LOG_DIR/pebble.log" pid changed=0
  mkdir -p "$dir"
  PEBBLE_CERT="$dir/api-cert.pem"
  if [ ! -s "$PEBBLE_CERT" ] || [ ! -s "$dir/api-key.pem" ]; then
    (umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -keyout "$dir/api-key.pem" -out "$PEBBLE_CERT.tmp" -days 3650 -subj /CN=localhost \
      -addext 'subjectAltName=DNS:localhost,IP:127.0.0.1' >>"$PARLEY_LOG_DIR/pebble-setup.log" 2>&1) ||
      die "pebble: openssl failed, see $PARLEY_LOG_DIR/pebble-setup.log"
    chmod 644 "$PEBBLE_CERT.tmp"
    mv "$PEBBLE_CERT.tmp" "$PEBBLE_CERT"
  fi
  # httpPort/tlsPort are the ports Pebble's validator connects to for http-01/tls-alpn-01; they
  # are not listeners. The DNS server for dns-01 and CAA lookups is our PowerDNS (-dnsserver).
  write_if_changed "$dir/pebble-config.json" 644 <<EOF && changed=1
{
  "pebble": {
    "listenAddress": "127.0.0.1:$PEBBLE_PORT",
    "managementListenAddress": "127.0.0.1:$PEBBLE_MGMT_PORT",
    "certificate": "$PEBBLE_CERT",
    "privateKey": "$dir/api-key.pem",
    "httpPort": 5002,
    "tlsPort": 5001,
    "ocspResponderURL": "",
    "externalAccountBindingRequired": false
  }
}
EOF
  if [ "$changed" = 1 ] && pid=$(our_pid pebble pebble); then
    log "pebble: config changed, restarting pid $pid"
    stop_ours pebble pebble
  fi
  if pebble_ok; then
    log "pebble: running (reused)"
    return 0
  fi
  stop_ours pebble pebble
  require_free_port pebble "$PEBBLE_PORT" "$PEBBLE_MGMT_PORT"
  start_daemon pebble env PEBBLE_VA_NOSLEEP=1 pebble -config "$dir/pebble-config.json" \
    -dnsserver "127.0.0.1:$PDNS_DNS_PORT"
  wait_until 30 pebble_ok || die "pebble: https://127.0.0.1:$PEBBLE_PORT/dir not answering, see $logfile"
  log "pebble: started"
}

# ---------------------------------------------------------------------------------------------
# coturn: STUN/TURN for customers' audio and video calls, one per node, a host process.
# Prosody hands out TURN REST credentials (HMAC of a secret per hosted server); coturn reads the
# secrets from the parley_turn database at every request, so a server's secret is accepted as
# soon as the worker stores it and refused as soon as it removes it, without a restart.
TURN_PORT=3478
# TURN over TLS (TCP). The worker keeps a certificate for turn.<node hostname> in TURN_TLS_DIR
# (issued through Parley's ACME path) and signals coturn to load it; until then coturn serves a
# self-signed placeholder made here, which no client trusts.
TURN_TLS_PORT=5349
TURN_TLS_DIR="$PARLEY_STATE_DIR/coturn/tls"
TURN_PID_FILE="$PARLEY_RUN_DIR/coturn.pid"
# Where coturn takes TURN requests: the node's public address (the edge network's in the sandbox)
# and loopback for the host's own clients.
TURN_LISTEN_ADDRESSES="$SANDBOX_EDGE_ADDRESS 127.0.0.1"
# Relays on an address of its own in the edge network's lower half (containers never get it),
# so the peer rules can allow exactly that address: two clients of this coturn reach each other
# through their relays, while every other private address (the node's services on the edge
# address or loopback, containers, link-local metadata) stays a denied peer. coturn allows and
# denies by IP only; the firewall rules below keep that address to the relay ports.
TURN_RELAY_ADDRESS=10.213.0.2
: "${TURN_RELAY_PORTS:=48000-48999}"
# Concurrent allocations per hosted server (the username's part after "expiry:" is the server's
# id) and for the whole node.
: "${TURN_USER_QUOTA:=12}"
: "${TURN_TOTAL_QUOTA:=400}"
TURN_DATABASE=parley_turn

# Peers no relay may send to: "this" network, private, CGNAT, loopback, link-local (cloud
# metadata at 169.254.169.254), IETF protocol assignments, documentation, benchmarking, 6to4
# relays, multicast, reserved and broadcast; for IPv6 loopback, NAT64, documentation, 6to4, ULA,
# link-local and multicast. Nothing starting at "::": coturn 4.6 matches every IPv4 peer against
# such a range (tried: "::", "::-::1" and the v4-mapped block each refused 8.8.8.8).
TURN_DENIED_PEERS=(
  0.0.0.0-0.255.255.255 10.0.0.0-10.255.255.255 100.64.0.0-100.127.255.255
  127.0.0.0-127.255.255.255 169.254.0.0-169.254.255.255 172.16.0.0-172.31.255.255
  192.0.0.0-192.0.0.255 192.0.2.0-192.0.2.255 192.88.99.0-192.88.99.255
  192.168.0.0-192.168.255.255 198.18.0.0-198.19.255.255 198.51.100.0-198.51.100.255
  203.0.113.0-203.0.113.255 224.0.0.0-255.255.255.255
  ::1 64:ff9b::-64:ff9b:1:ffff:ffff:ffff:ffff:ffff
  2001:db8::-2001:db8:ffff:ffff:ffff:ffff:ffff:ffff 2002::-2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff
  fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff
  ff00::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff
)

# turn_db_as ROLE PASSWORD SQL: runs SQL in the TURN database as parley_turn_ROLE over TCP.
turn_db_as() {
  PGPASSWORD=$2 PGCONNECT_TIMEOUT=5 psql -X -q -h 127.0.0.1 -p "$PG_PORT" -U "parley_turn_$1" -d "$TURN_DATABASE" -tAc "$3" 2>/dev/null
}

# The database coturn reads secrets from: coturn's own schema (it polls its other tables too),
# with the owner of each secret. The worker writes with parley_turn_writer; coturn reads with
# parley_turn_reader, which can only SELECT. Owned by postgres: neither role can change the
# schema. Sets TURN_WRITER_PASSWORD and TURN_READER_PASSWORD.
ensure_turn_database() {
  [ -n "${PG_PORT:-}" ] || die "coturn: PG_PORT unset (ensure_postgres runs first)"
  local psql=(psql -X -q -v ON_ERROR_STOP=1 -p "$PG_PORT") schema=/usr/share/coturn/schema.sql role
  TURN_WRITER_PASSWORD=$(state_secret turn-writer-password openssl rand -hex 24)
  TURN_READER_PASSWORD=$(state_secret turn-reader-password openssl rand -hex 24)
  # Both roles logging in over TCP with what they may do proves roles, passwords and grants.
  if [ "$(turn_db_as writer "$TURN_WRITER_PASSWORD" "SELECT has_table_privilege('turn_secret', 'INSERT, DELETE')")" = t ] &&
     [ "$(turn_db_as reader "$TURN_READER_PASSWORD" "SELECT has_table_privilege('turn_secret', 'SELECT') AND NOT has_table_privilege('turn_secret', 'INSERT')")" = t ]; then
    return 0
  fi
  for role in writer reader; do
    local password_var="TURN_${role^^}_PASSWORD" verb=CREATE
    [ "$(as_postgres "${psql[@]}" -d postgres -tAc "SELECT 1 FROM pg_roles WHERE rolname = 'parley_turn_$role'")" != 1 ] || verb=ALTER
    printf "%s ROLE parley_turn_%s WITH LOGIN NOCREATEDB NOCREATEROLE PASSWORD '%s';\n" "$verb" "$role" "${!password_var}" |
      as_postgres "${psql[@]}" -d postgres
  done
  if [ "$(as_postgres "${psql[@]}" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$TURN_DATABASE'")" != 1 ]; then
    as_postgres "${psql[@]}" -d postgres -c "CREATE DATABASE $TURN_DATABASE OWNER postgres"
  fi
  if [ "$(as_postgres "${psql[@]}" -d "$TURN_DATABASE" -tAc "SELECT to_regclass('public.turn_secret') IS NOT NULL")" != t ]; then
    [ -f "$schema" ] || die "coturn: $schema not found (is coturn installed?)"
    # Rotation keeps a server's previous secret until Prosody has the new one: unique per
    # (server, version), not per server.
    { echo 'BEGIN;'; cat "$schema"; cat <<'SQL'
ALTER TABLE turn_secret ADD COLUMN server_id uuid NOT NULL, ADD COLUMN version integer NOT NULL,
  ADD COLUMN created_at timestamptz NOT NULL DEFAULT now(), ADD UNIQUE (server_id, version);
COMMIT;
SQL
    } | as_postgres "${psql[@]}" -d "$TURN_DATABASE" >>"$PARLEY_LOG_DIR/coturn-setup.log" 2>&1 ||
      die "coturn: creating the $TURN_DATABASE schema failed, see $PARLEY_LOG_DIR/coturn-setup.log"
  fi
  as_postgres "${psql[@]}" -d "$TURN_DATABASE" >>"$PARLEY_LOG_DIR/coturn-setup.log" 2>&1 <<SQL ||
REVOKE ALL ON DATABASE $TURN_DATABASE FROM PUBLIC;
GRANT CONNECT ON DATABASE $TURN_DATABASE TO parley_turn_writer, parley_turn_reader;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO parley_turn_reader;
GRANT SELECT, INSERT, DELETE ON turn_secret TO parley_turn_writer;
SQL
    die "coturn: granting access to $TURN_DATABASE failed, see $PARLEY_LOG_DIR/coturn-setup.log"
}

# The relay address on the edge bridge, and the only traffic it takes: UDP to the relay ports.
# A host program listening on every address (sshd, a resolver) would otherwise be a peer that
# the allowed relay address lets through.
ensure_turn_relay_address() {
  local first=${TURN_RELAY_PORTS%-*} last=${TURN_RELAY_PORTS#*-} rule
  ip link show "$SANDBOX_EDGE_NETWORK" >/dev/null 2>&1 ||
    die "coturn: the bridge $SANDBOX_EDGE_NETWORK is missing (ensure_edge_network makes it)"
  ip -4 -o addr show dev "$SANDBOX_EDGE_NETWORK" | grep -q " $TURN_RELAY_ADDRESS/32 " ||
    as_root ip addr add "$TURN_RELAY_ADDRESS/32" dev "$SANDBOX_EDGE_NETWORK" ||
    die "coturn: cannot add $TURN_RELAY_ADDRESS to $SANDBOX_EDGE_NETWORK"
  for rule in "-d $TURN_RELAY_ADDRESS/32 ! -p udp -j DROP" \
              "-d $TURN_RELAY_ADDRESS/32 -p udp ! --dport $first:$last -j DROP"; do
    # shellcheck disable=SC2086  # the rule is split into iptables' words on purpose.
    as_root iptables -w 5 -C INPUT $rule 2>/dev/null || as_root iptables -w 5 -I INPUT $rule ||
      die "coturn: cannot add the iptables rule 'INPUT $rule'"
  done
  # Docker masquerades what leaves its subnet by any other interface than the bridge, and a relay
  # sending to another relay goes out by lo: rewritten to the host's address, the packet matches
  # no permission and is dropped. Exempt relay-to-relay, above Docker's rule (which a restarted
  # engine or a recreated network inserts at the top again).
  rule="-s $TURN_RELAY_ADDRESS/32 -d $TURN_RELAY_ADDRESS/32 -j RETURN"
  if [ "$(as_root iptables -w 5 -t nat -S POSTROUTING | sed -n 2p)" != "-A POSTROUTING $rule" ]; then
    # shellcheck disable=SC2086
    as_root iptables -w 5 -t nat -D POSTROUTING $rule 2>/dev/null || true
    # shellcheck disable=SC2086
    as_root iptables -w 5 -t nat -I POSTROUTING 1 $rule || die "coturn: cannot add the iptables rule 'nat POSTROUTING $rule'"
  fi
}

turn_ok() { timeout 3 turnutils_stunclient -p "$TURN_PORT" 127.0.0.1 2>/dev/null | grep -q 'UDP reflexive addr'; }

# The certificate directory: setgid to coturn's group, so the key the worker (root) writes 0640
# is readable by coturn, which reloads it as its own user. Never replaces a certificate in place.
ensure_turn_tls_files() {
  as_root install -d -m 2750 -o root -g turnserver "$TURN_TLS_DIR"
  [ -s "$TURN_TLS_DIR/chain.pem" ] && [ -s "$TURN_TLS_DIR/key.pem" ] && return 0
  as_root openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=placeholder.invalid" \
    -keyout "$TURN_TLS_DIR/key.pem" -out "$TURN_TLS_DIR/chain.pem" >>"$PARLEY_LOG_DIR/coturn-setup.log" 2>&1 ||
    die "coturn: cannot make the placeholder certificate, see $PARLEY_LOG_DIR/coturn-setup.log"
  as_root chmod 0640 "$TURN_TLS_DIR/key.pem" && as_root chmod 0644 "$TURN_TLS_DIR/chain.pem"
}

ensure_coturn() {
  local dir="$PARLEY_STATE_DIR/coturn" logfile="$PARLEY_LOG_DIR/coturn.log" pid changed=0 addr range zone
  command -v turnserver >/dev/null || die "coturn: turnserver missing (is coturn installed?)"
  [[ "$TURN_RELAY_PORTS" =~ ^[0-9]+-[0-9]+$ ]] || die "coturn: TURN_RELAY_PORTS must be FIRST-LAST, got '$TURN_RELAY_PORTS'"
  [[ "$TURN_USER_QUOTA$TURN_TOTAL_QUOTA" =~ ^[0-9]+$ ]] || die "coturn: TURN_USER_QUOTA and TURN_TOTAL_QUOTA must be numbers"
  mkdir -p "$dir"
  ensure_turn_database
  ensure_turn_relay_address
  ensure_turn_tls_files
  zone="${PLATFORM_ZONE%.}"
  # The reader's password in a libpq password file, not in the connection string (coturn logs
  # that) nor on the command line (`ps`); coturn reconnects after dropping to its own user.
  printf '127.0.0.1:%s:%s:parley_turn_reader:%s\n' "$PG_PORT" "$TURN_DATABASE" "$TURN_READER_PASSWORD" |
    write_if_changed "$dir/reader.pgpass" 600 && changed=1
  as_root chown turnserver:turnserver "$dir/reader.pgpass"
  # TLS over TCP only (no DTLS, which no XMPP client offers); --no-tcp-relay: no TCP connections
  # to peers (RFC 6062), calls relay UDP. No CLI (it would open 5766) and no web admin (8080 is
  # the API's).
  write_if_changed "$dir/turnserver.conf" 644 <<EOC && changed=1
# Generated by infra/bootstrap/services.sh at every run: edits are lost.
$(for addr in $TURN_LISTEN_ADDRESSES; do echo "listening-ip=$addr"; done)
listening-port=$TURN_PORT
tls-listening-port=$TURN_TLS_PORT
cert=$TURN_TLS_DIR/chain.pem
pkey=$TURN_TLS_DIR/key.pem
relay-ip=$TURN_RELAY_ADDRESS
min-port=${TURN_RELAY_PORTS%-*}
max-port=${TURN_RELAY_PORTS#*-}
realm=$zone
use-auth-secret
psql-userdb=host=127.0.0.1 port=$PG_PORT dbname=$TURN_DATABASE user=parley_turn_reader passfile=$dir/reader.pgpass connect_timeout=5
user-quota=$TURN_USER_QUOTA
total-quota=$TURN_TOTAL_QUOTA
fingerprint
no-multicast-peers
no-tcp-relay
allowed-peer-ip=$TURN_RELAY_ADDRESS
$(for range in "${TURN_DENIED_PEERS[@]}"; do echo "denied-peer-ip=$range"; done)
no-dtls
no-tlsv1
no-tlsv1_1
no-software-attribute
no-rfc5780
no-cli
proc-user=turnserver
proc-group=turnserver
log-file=stdout
pidfile=$PARLEY_RUN_DIR/coturn.pid
EOC
  if [ "$changed" = 1 ] && pid=$(our_pid coturn turnserver); then
    log "coturn: config changed, restarting pid $pid"
    stop_ours coturn turnserver
  fi
  if our_pid coturn turnserver >/dev/null && turn_ok; then
    log "coturn: running (reused)"
    return 0
  fi
  stop_ours coturn turnserver # ours but not answering: replace it rather than fight for the port
  require_free_port coturn "$TURN_PORT"
  require_free_port coturn "$TURN_TLS_PORT"
  start_daemon coturn turnserver -c "$dir/turnserver.conf"
  wait_until 15 turn_ok || die "coturn: no STUN answer on 127.0.0.1:$TURN_PORT, see $logfile"
  log "coturn: started (STUN/TURN on ${TURN_LISTEN_ADDRESSES// /, } port $TURN_PORT, TLS $TURN_TLS_PORT, relay $TURN_RELAY_ADDRESS:$TURN_RELAY_PORTS)"
}

# ---------------------------------------------------------------------------------------------
# Prometheus: scrapes the API's and the worker's metrics listeners and, through the worker's
# http_sd endpoint, every hosted server that should be running; evaluates the alert rules of
# infra/prometheus/alerts.yml (no Alertmanager: alerts show at /alerts and /api/v1/alerts).
# The rules are copied into its state dir: a change in the repo reaches the running Prometheus
# at the next setup, through a reload (--web.enable-lifecycle), and an invalid file fails the
# setup here rather than at Prometheus' start.
PROMETHEUS_PORT=9090
# The operators' metrics listeners of the API and the worker (/metrics; the worker also serves
# the hosted servers' targets at /targets/servers and their metrics at /servers/<id>/metrics).
API_METRICS_PORT=9101
WORKER_METRICS_PORT=9102

prometheus_ready() { curl -fs -o /dev/null --max-time 2 "http://127.0.0.1:$PROMETHEUS_PORT/-/ready"; }

# prometheus_reload: has ours re-read its config and rules; fails when it refuses them.
prometheus_reload() { curl -fsS -o /dev/null --max-time 30 -X POST "http://127.0.0.1:$PROMETHEUS_PORT/-/reload"; }

ensure_prometheus() {
  local dir="$PARLEY_STATE_DIR/prometheus" logfile="$PARLEY_LOG_DIR/prometheus.log" pid changed=0 rules_src checked
  command -v prometheus >/dev/null || die "prometheus: prometheus missing (is the prometheus package installed?)"
  rules_src="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/infra/prometheus/alerts.yml"
  [ -f "$rules_src" ] || die "prometheus: $rules_src not found"
  # Checked before anything changes: the running Prometheus keeps its rules until the file is fixed.
  checked=$(promtool check rules "$rules_src" 2>&1) || die "prometheus: $rules_src is invalid (promtool check rules): $checked"
  mkdir -p "$dir/data"
  write_if_changed "$dir/alerts.yml" 644 <"$rules_src" && changed=1
  write_if_changed "$dir/prometheus.yml" 644 <<EOF && changed=1
# Generated by infra/bootstrap/services.sh at every run: edits are lost.
global:
  scrape_interval: 15s
  evaluation_interval: 15s

rule_files:
  - $dir/alerts.yml

scrape_configs:
  - job_name: parley-api
    static_configs:
      - targets: ['127.0.0.1:$API_METRICS_PORT']
  - job_name: parley-worker
    static_configs:
      - targets: ['127.0.0.1:$WORKER_METRICS_PORT']
  # One target per hosted server that should be running, from the worker: 127.0.0.1:$WORKER_METRICS_PORT with
  # __metrics_path__ /servers/<id>/metrics and the labels server_id and domain, which are kept.
  - job_name: parley-server
    http_sd_configs:
      - url: http://127.0.0.1:$WORKER_METRICS_PORT/targets/servers
        refresh_interval: 15s
EOF
  if pid=$(our_pid prometheus prometheus) && prometheus_ready; then
    if [ "$changed" = 0 ]; then
      log "prometheus: running (reused)"
      return 0
    fi
    if prometheus_reload; then
      log "prometheus: config or rules changed, reloaded pid $pid"
      return 0
    fi
    log "prometheus: config or rules changed and the reload failed, restarting pid $pid"
  fi
  stop_ours prometheus prometheus # ours but not answering: replace it rather than fight for the port
  require_free_port prometheus "$PROMETHEUS_PORT"
  start_daemon prometheus prometheus --config.file="$dir/prometheus.yml" \
    --web.listen-address="127.0.0.1:$PROMETHEUS_PORT" --storage.tsdb.path="$dir/data" \
    --storage.tsdb.retention.time=15d --web.enable-lifecycle
  # Replaying a large write-ahead log after a restart can take a while.
  wait_until 60 prometheus_ready || die "prometheus: http://127.0.0.1:$PROMETHEUS_PORT/-/ready not answering, see $logfile"
  log "prometheus: started (127.0.0.1:$PROMETHEUS_PORT, rules from infra/prometheus/alerts.yml)"
}

# Run directly: ensure the named services (all by default).
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  shopt -s inherit_errexit
  ensure_state_dir
  [ "$#" -gt 0 ] || set -- postgres redis docker edge_network powerdns pebble coturn prometheus
  for svc in "$@"; do
    case "$svc" in
      postgres | redis | docker | edge_network | powerdns | pebble | coturn | prometheus) "ensure_$svc" ;;
      *) die "unknown service '$svc' (postgres|redis|docker|edge_network|powerdns|pebble|coturn|prometheus)" ;;
    esac
  done
fi
