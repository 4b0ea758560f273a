#!/bin/bash
# real-heat extras: Swift and Zaqar beside a running real-heat rig
# (setup.sh), from Debian bookworm packages, on 127.0.0.1 only, so that heat
# serves every software_config_transport (POLL_SERVER_CFN, POLL_SERVER_HEAT,
# POLL_TEMP_URL, ZAQAR_MESSAGE) and signal_transport (CFN_SIGNAL,
# TEMP_URL_SIGNAL, HEAT_SIGNAL, ZAQAR_SIGNAL, NO_SIGNAL).  Heat needs no
# change: it finds both services through keystone's catalog.
#
#   swift  python3-swift 2.30.1: account, container, object and proxy
#          server in ONE process (lib/extras_swift.py), one replica, one
#          device, keystone auth (authtoken + keystoneauth), tempurl
#                                             -> 127.0.0.1:SWIFT_PORT
#          (account/container/object servers on SWIFT_ACCOUNT_PORT,
#          SWIFT_CONTAINER_PORT, SWIFT_OBJECT_PORT)
#   zaqar  python3-zaqar 15.0.0: zaqar-server (wsgi transport, keystone
#          auth, API v2 and the deprecated v1.1 that os-collect-config and
#          heat-config-notify use), message_store = swift (the Swift above,
#          account of keystone user "zaqar" in project "service"),
#          management_store = sqlalchemy on sqlite  -> 127.0.0.1:ZAQAR_PORT
# Two processes, started with setsid, PIDs in $BASE/extras/run/*.pid.
# No redis: Debian's python3-zaqar 15.0.0-1+deb12u1 lacks the redis
# driver's Lua scripts (zaqar/storage/redis/scripts/*.lua), so its redis
# message store fails every message POST; the swift store needs no file
# the package lacks.  lib/extras_zaqar.py starts the packaged zaqar-server
# after creating the sqlite tables (the packaged alembic migrations are
# MySQL-only) and fixes two swift-store defects in memory (pop responses
# carry a "client_uuid" field that python3-zaqarclient 2.4.0 rejects, which
# breaks heat's ZAQAR_SIGNAL and os-collect-config's zaqar collector; and
# message names are uuid1 text, whose name order is not creation order
# across a 429.5 s wrap): see its docstring.
#
# MODES
#   bash extras.sh install  install the Debian packages if any is missing
#                           (library packages only: nothing starts a daemon)
#   bash extras.sh start    install if needed; stop the extras a previous
#                           run started for this BASE; configure; create
#                           the keystone users, roles and catalog entries;
#                           start Swift and Zaqar; check them (Swift
#                           put/get/delete, Zaqar v2 and v1.1 post/pop);
#                           append the extras block to $BASE/endpoints.env.
#                           Needs the rig up ($BASE/endpoints.env present).
#                           Run it again after every `setup.sh start` (that
#                           wipes keystone, catalog included).
#   bash extras.sh peers    install Debian's os-collect-config 12,
#                           os-refresh-config and os-apply-config if missing
#                           (heat-agent's differential peers; nothing starts)
#   bash extras.sh stop     stop both (by PID file, after checking that the
#                           PID still runs our command line; SIGTERM, SIGKILL
#                           after 15 s) and remove the extras block from
#                           endpoints.env.  Needs neither keystone nor heat.
#   bash extras.sh status   exit 0 if both run, answer, and endpoints.env
#                           has the extras block; 1 otherwise.
#   bash extras.sh help     print this header.
# On a failed start the processes that did start are left running for
# inspection; `extras.sh stop` stops them.
#
# KNOBS (environment variables)
#   BASE=/tmp/real-heat     the rig's BASE (as for setup.sh); everything this
#                           script writes is under $BASE/extras (etc/, data/,
#                           logs/, run/, lib/, cache/), plus its block in
#                           $BASE/endpoints.env (and $BASE/extras-apt-install.log
#                           when apt-get runs).  start wipes $BASE/extras.
#   SWIFT_PORT=28080  SWIFT_ACCOUNT_PORT=26012  SWIFT_CONTAINER_PORT=26011
#   SWIFT_OBJECT_PORT=26010  ZAQAR_PORT=28888   (must differ and be free)
#   SWIFT_PASS=swiftpass  ZAQAR_PASS=zaqarpass  keystone users "swift" and
#                           "zaqar" (letters, digits and . _ ~ + - only)
#   ZAQAR_SIGNED_URL_KEY    Zaqar's [signed_url] secret_key (default: random
#                           per start)
#   SKIP_APT=1              never run apt-get; exit 3 if a package is missing
#
# EXIT STATUS  0 ok; 1 a check failed or a process did not start (see
#   $BASE/extras/logs); 2 usage/configuration error (bad knob, port in use,
#   rig not up); 3 packages missing and not installable (skip, as for
#   setup.sh).
#
# ENDPOINTS.ENV BLOCK (between "# >>> real-heat extras" and
# "# <<< real-heat extras"; KEY=VALUE like the rest of the file):
#   REAL_HEAT_SWIFT_URL       http://127.0.0.1:SWIFT_PORT/v1/AUTH_<admin project id>
#   REAL_HEAT_SWIFT_ROOT      http://127.0.0.1:SWIFT_PORT
#   REAL_HEAT_ZAQAR_URL       http://127.0.0.1:ZAQAR_PORT  (+ /v2 or /v1.1)
#   REAL_HEAT_SWIFT_PORT REAL_HEAT_ZAQAR_PORT REAL_HEAT_SWIFT_BACKEND_PORTS
#   REAL_HEAT_SERVICE_PROJECT_ID  (project "service"; Zaqar's messages are
#                             in its Swift account)
#   REAL_HEAT_EXTRAS_BASE REAL_HEAT_EXTRAS_LOGS REAL_HEAT_EXTRAS (this script)
#   REAL_HEAT_SWIFT_PID REAL_HEAT_ZAQAR_PID
#   REAL_HEAT_SWIFT_VERSION REAL_HEAT_ZAQAR_VERSION  (Debian versions)
#
# USE
#   BASE=/tmp/real-heat bash setup.sh start && BASE=/tmp/real-heat bash extras.sh start
#   ... stacks with any software_config_transport / signal_transport ...
#   BASE=/tmp/real-heat bash extras.sh stop; BASE=/tmp/real-heat bash setup.sh stop
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SELF=$HERE/$(basename "${BASH_SOURCE[0]}")
MODE=${1:-}
case $MODE in
  install|peers|start|stop|status) ;;
  help|-h|--help) sed -n '2,/^set -euo pipefail/p' "$SELF" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "usage: bash extras.sh install|peers|start|stop|status|help" >&2; exit 2 ;;
esac

log() { echo "[$(date +%T)] extras: $*"; }
die() { local rc=$1; shift; echo "real-heat extras: $*" >&2; exit "$rc"; }
ts() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.1f", b-a}'; }

BASE=${BASE:-/tmp/real-heat}
BASE=$(realpath -m -- "$BASE")
[[ $BASE =~ ^/[^/]+/. ]] || die 2 "refusing BASE=$BASE: use the rig's BASE (two levels deep or more)"
X=$BASE/extras
ENDPOINTS=$BASE/endpoints.env
SWIFT_PORT=${SWIFT_PORT:-28080}
SWIFT_ACCOUNT_PORT=${SWIFT_ACCOUNT_PORT:-26012}
SWIFT_CONTAINER_PORT=${SWIFT_CONTAINER_PORT:-26011}
SWIFT_OBJECT_PORT=${SWIFT_OBJECT_PORT:-26010}
ZAQAR_PORT=${ZAQAR_PORT:-28888}
SWIFT_PASS=${SWIFT_PASS:-swiftpass}
ZAQAR_PASS=${ZAQAR_PASS:-zaqarpass}
PY=/usr/bin/python3                      # Debian's python (not pyenv/venv)
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
unset PYTHONPATH PYTHONHOME VIRTUAL_ENV || true
PKGS="python3-swift python3-swiftclient python3-zaqar python3-zaqarclient"
# mode peers: Debian's os-collect-config 12 and its companions (heat-agent's
# differential peers); heat-agents (heat-config, its hooks) is not in Debian
[ "$MODE" != peers ] || PKGS="python3-os-collect-config python3-os-refresh-config python3-os-apply-config"
BEGIN_MARK="# >>> real-heat extras (Swift + Zaqar), written by extras.sh start, removed by extras.sh stop"
END_MARK="# <<< real-heat extras"

# PID of swift|zaqar if its PID file names a live process running our
# command line for this BASE; else status 1.
proc_pid() {
  local f=$X/run/$1.pid pid
  [ -f "$f" ] || return 1
  pid=$(cat "$f")
  [[ $pid =~ ^[0-9]+$ ]] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$X/lib/extras_$1.py" || return 1
  echo "$pid"
}

# running and not a zombie (a stopped daemon stays a zombie until PID 1
# reaps it: the script that started it has exited)
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]
}

stop_procs() {
  local p pid
  for p in zaqar swift; do
    [ -f "$X/run/$p.pid" ] || continue
    if pid=$(proc_pid "$p"); then
      log "stopping $p (pid $pid)"
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 75); do alive "$pid" || break; sleep 0.2; done
      if alive "$pid"; then
        log "$p (pid $pid) still running 15 s after SIGTERM: SIGKILL"
        kill -9 "$pid" 2>/dev/null || true
      fi
    else
      log "$p: PID file names no running $p of this BASE; removing it"
    fi
    rm -f "$X/run/$p.pid"
  done
}

# endpoints.env without our block (stdout)
strip_block() {
  awk -v b="$BEGIN_MARK" -v e="$END_MARK" '$0 == b {skip = 1; next} $0 == e {skip = 0; next} !skip' "$ENDPOINTS"
}

remove_block() {
  [ -f "$ENDPOINTS" ] || return 0
  grep -qxF -- "$BEGIN_MARK" "$ENDPOINTS" || return 0
  strip_block > "$ENDPOINTS.extras.tmp" && mv "$ENDPOINTS.extras.tmp" "$ENDPOINTS"
}

missing() {
  local p
  for p in $PKGS; do
    [ "$(dpkg-query -W -f '${db:Status-Abbrev}' "$p" 2>/dev/null)" = "ii " ] || echo "$p"
  done
}

# Library packages only (see the header): python3-swift's postinst adds a
# system user "swift" and /var/backups/swift, nothing else runs.  Not
# installed on purpose: swift (pulls rsyslog), swift-proxy/-account/
# -container/-object and zaqar-server (init scripts, uwsgi), redis-server.
# Never upgrades the machine's systemd: a plan that would is refused (exit 3).
install_pkgs() {
  command -v dpkg >/dev/null 2>&1 || die 3 "no dpkg: this needs Debian bookworm packages"
  [ -n "$(missing)" ] || return 0
  [ "${SKIP_APT:-0}" != 1 ] || die 3 "SKIP_APT=1 but Debian packages are missing: $(echo $(missing))"
  command -v apt-get >/dev/null 2>&1 || die 3 "no apt-get to install $(echo $(missing))"
  local sudo
  if [ "$(id -u)" = 0 ]; then sudo=
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"
  else die 3 "not root and no passwordless sudo: cannot install $(echo $(missing))"; fi
  mkdir -p "$BASE"
  log "apt-get install $PKGS"
  local apt="$sudo env DEBIAN_FRONTEND=noninteractive apt-get" log=$BASE/extras-apt-install.log plan
  # apt-get update only if the plan fails (lists missing or stale): after
  # setup.sh installed the rig the lists are fresh
  plan=$({ $apt -s install --no-install-recommends $PKGS ||
           { $apt update -qq && $apt -s install --no-install-recommends $PKGS; }; } 2>>"$log") \
    || { tail -30 "$log" >&2; die 3 "apt-get cannot install $PKGS (full log: $log)"; }
  local upgrades
  upgrades=$(printf '%s\n' "$plan" | awk '/^Inst [^ ]+ \[/ && $2 ~ /^(systemd|libsystemd|udev|libudev|libpam-systemd)/ {print $2}')
  [ -z "$upgrades" ] || die 3 "installing $PKGS would upgrade $(echo $upgrades): refused (this machine's systemd stays as it is)"
  $apt install -y -qq --no-install-recommends $PKGS >>"$log" 2>&1 \
    || { tail -30 "$log" >&2
         die 3 "apt-get failed (full log: $log)"; }
  [ -z "$(missing)" ] || die 3 "still missing after apt-get: $(echo $(missing))"
}

if [ "$MODE" = install ] || [ "$MODE" = peers ]; then
  T0=$(ts); install_pkgs
  log "packages present: $(for p in $PKGS; do printf '%s=%s ' "$p" "$(dpkg-query -W -f '${Version}' "$p")"; done)($(elapsed "$T0" "$(ts)") s)"
  exit 0
fi

if [ "$MODE" = stop ]; then
  if [ -d "$X/run" ]; then stop_procs; else log "nothing to stop under $X"; fi
  remove_block
  exit 0
fi

if [ "$MODE" = status ]; then
  rc=0
  for p in swift zaqar; do
    if pid=$(proc_pid "$p"); then echo "$p running (pid $pid)"
    else echo "$p not running"; rc=1; fi
  done
  if [ -f "$ENDPOINTS" ] && grep -qxF -- "$BEGIN_MARK" "$ENDPOINTS"; then
    # shellcheck disable=SC1090
    ( set -a; . "$ENDPOINTS"; set +a
      for u in "$REAL_HEAT_SWIFT_ROOT/healthcheck" "$REAL_HEAT_ZAQAR_URL/v2/ping"; do
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$u" || true)
        case $code in 2??|3??|4??) echo "$u answers ($code)" ;;
          *) echo "$u does not answer ($code)"; exit 1 ;; esac
      done ) || rc=1
  else
    echo "no extras block in $ENDPOINTS"; rc=1
  fi
  exit $rc
fi

# ================================================================== start
PORTS="$SWIFT_PORT $SWIFT_ACCOUNT_PORT $SWIFT_CONTAINER_PORT $SWIFT_OBJECT_PORT $ZAQAR_PORT"
for v in SWIFT_PORT SWIFT_ACCOUNT_PORT SWIFT_CONTAINER_PORT SWIFT_OBJECT_PORT ZAQAR_PORT; do
  [[ ${!v} =~ ^[0-9]+$ ]] && [ "${!v}" -ge 1 ] && [ "${!v}" -le 65535 ] \
    || die 2 "$v=${!v} is not a port number"
done
[ "$(printf '%s\n' $PORTS | sort -u | wc -l)" = 5 ] || die 2 "the five extras ports must differ"
for v in SWIFT_PASS ZAQAR_PASS; do
  [[ ${!v} =~ ^[A-Za-z0-9._~+-]+$ ]] || die 2 "$v: use letters, digits and . _ ~ + - only"
done
SIGNED_URL_KEY=${ZAQAR_SIGNED_URL_KEY:-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')}
[[ $SIGNED_URL_KEY =~ ^[A-Za-z0-9._~+-]+$ ]] || die 2 "ZAQAR_SIGNED_URL_KEY: use letters, digits and . _ ~ + - only"
for f in extras_swift.py extras_zaqar.py extras_ks.py extras_check.py; do
  [ -f "$HERE/lib/$f" ] || die 2 "$HERE/lib/$f is missing"
done

T0=$(ts)
install_pkgs
SWIFT_VERSION=$(dpkg-query -W -f '${Version}' python3-swift)
ZAQAR_VERSION=$(dpkg-query -W -f '${Version}' python3-zaqar)
log "python3-swift $SWIFT_VERSION, python3-zaqar $ZAQAR_VERSION"
case $SWIFT_VERSION/$ZAQAR_VERSION in
  2.30.1-*/15.0.0-*) ;;
  *) log "WARNING: untested package versions (tested: python3-swift 2.30.1-0+deb12u3, python3-zaqar 15.0.0-1+deb12u1)" ;;
esac
T_APT=$(ts)

[ -f "$ENDPOINTS" ] || die 2 "no $ENDPOINTS: start the rig first (BASE=$BASE bash setup.sh start)"
# the rig's values, read in a subshell so that nothing else leaks in
eval "$(set -a; . "$ENDPOINTS"; set +a
        printf 'KS_URL=%q ADMIN_PASSWORD=%q ADMIN_PROJECT_ID=%q\n' \
          "$REAL_HEAT_KEYSTONE_URL" "$REAL_HEAT_ADMIN_PASSWORD" "$REAL_HEAT_ADMIN_PROJECT_ID")"
[ -n "$KS_URL" ] && [ -n "$ADMIN_PROJECT_ID" ] || die 2 "$ENDPOINTS lacks the rig's keystone values"

stop_procs
remove_block
command -v ss >/dev/null 2>&1 || die 3 "no ss (package iproute2)"
for port in $PORTS; do
  if ss -ltnH "sport = :$port" 2>/dev/null | grep -q .; then
    die 2 "port $port is already in use; set SWIFT_PORT/SWIFT_ACCOUNT_PORT/SWIFT_CONTAINER_PORT/SWIFT_OBJECT_PORT/ZAQAR_PORT"
  fi
done
rm -rf "$X"
mkdir -p "$X/etc/swift" "$X/etc/zaqar" "$X/data/swift/d1" "$X/logs" "$X/run" "$X/lib" "$X/cache"
# stevedore (keystoneauth, oslo, zaqar) caches entry points under
# $XDG_CACHE_HOME/python-entrypoints, one ~280 KB file per distinct sys.path:
# keep it under $BASE
export XDG_CACHE_HOME=$X/cache
cp "$HERE"/lib/extras_*.py "$X/lib/"
T_CLEAN=$(ts)

# ================================================================== swift
S=$X/etc/swift
cat > "$S/swift.conf" <<EOF
[swift-hash]
swift_hash_path_suffix = real-heat-extras
swift_hash_path_prefix = real-heat

[storage-policy:0]
name = Policy-0
default = yes
EOF
for srv in account:$SWIFT_ACCOUNT_PORT container:$SWIFT_CONTAINER_PORT object:$SWIFT_OBJECT_PORT; do
  name=${srv%%:*}; port=${srv##*:}
  cat > "$S/$name-server.conf" <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $port
workers = 0
devices = $X/data/swift
mount_check = false
swift_dir = $S
log_level = INFO

[pipeline:main]
pipeline = $name-server

[app:$name-server]
use = egg:swift#$name
EOF
done
cat > "$S/proxy-server.conf" <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $SWIFT_PORT
workers = 0
swift_dir = $S
log_level = INFO

[pipeline:main]
# Swift's required filters listed explicitly (else the proxy inserts them)
pipeline = catch_errors gatekeeper healthcheck proxy-logging listing_formats tempurl authtoken keystoneauth copy dlo versioned_writes proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:tempurl]
use = egg:swift#tempurl
[filter:copy]
use = egg:swift#copy
[filter:dlo]
use = egg:swift#dlo
[filter:versioned_writes]
use = egg:swift#versioned_writes

[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory
www_authenticate_uri = $KS_URL
auth_url = $KS_URL
auth_type = password
username = swift
password = $SWIFT_PASS
project_name = service
user_domain_name = Default
project_domain_name = Default
delay_auth_decision = True

[filter:keystoneauth]
use = egg:swift#keystoneauth
operator_roles = admin, swiftoperator, heat_stack_owner
reseller_admin_role = ResellerAdmin
EOF

# ================================================================== zaqar
cat > "$X/etc/zaqar/zaqar.conf" <<EOF
[DEFAULT]
log_file = $X/logs/zaqar.log
debug = false
auth_strategy = keystone
# os-collect-config's zaqar collector and heat-config-notify use API v1.1
enable_deprecated_api_versions = 1.1

[drivers]
transport = wsgi
message_store = swift
management_store = sqlalchemy

[drivers:transport:wsgi]
bind = 127.0.0.1
port = $ZAQAR_PORT

[drivers:message_store:swift]
# messages are objects in the Swift account of user "zaqar", project "service"
uri = swift://zaqar:$ZAQAR_PASS@/service
auth_url = $KS_URL
region_name = RegionOne
interface = public

[drivers:management_store:sqlalchemy]
uri = sqlite:///$X/data/zaqar.db

[signed_url]
secret_key = $SIGNED_URL_KEY

[keystone_authtoken]
www_authenticate_uri = $KS_URL
auth_url = $KS_URL
auth_type = password
username = zaqar
password = $ZAQAR_PASS
project_name = service
user_domain_name = Default
project_domain_name = Default
EOF

# ======================================================= keystone objects
log "keystone: users swift and zaqar, roles, catalog (object-store, messaging)"
SERVICE_PROJECT_ID=$(OS_AUTH_URL=$KS_URL OS_PASSWORD=$ADMIN_PASSWORD \
  $PY "$X/lib/extras_ks.py" "$SWIFT_PASS" "$ZAQAR_PASS" "$SWIFT_PORT" "$ZAQAR_PORT" \
  2>"$X/logs/extras_ks.stderr") || { tail -30 "$X/logs/extras_ks.stderr" >&2; die 1 "keystone setup failed"; }
T_KS=$(ts)

# ================================================================== start
log "starting swift (proxy :$SWIFT_PORT) and zaqar (:$ZAQAR_PORT)"
setsid $PY "$X/lib/extras_swift.py" "$S" >"$X/logs/swift.log" 2>&1 </dev/null &
echo $! > "$X/run/swift.pid"
setsid $PY "$X/lib/extras_zaqar.py" --config-file "$X/etc/zaqar/zaqar.conf" \
  >"$X/logs/zaqar.stdout" 2>&1 </dev/null &
echo $! > "$X/run/zaqar.pid"
answers() { case $(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$1" || true) in 2??|3??|4??) return 0 ;; esac; return 1; }
T_SWIFT=; T_ZAQAR=
for _ in $(seq 1 240); do
  [ -z "$T_SWIFT" ] && answers "http://127.0.0.1:$SWIFT_PORT/healthcheck" && T_SWIFT=$(ts)
  [ -z "$T_ZAQAR" ] && answers "http://127.0.0.1:$ZAQAR_PORT/v2/ping" && T_ZAQAR=$(ts)
  [ -n "$T_SWIFT" ] && [ -n "$T_ZAQAR" ] && break
  proc_pid swift >/dev/null && proc_pid zaqar >/dev/null || break
  sleep 0.25
done
[ -n "$T_SWIFT" ] || { tail -30 "$X/logs/swift.log" >&2; die 1 "swift did not start (log: $X/logs/swift.log)"; }
[ -n "$T_ZAQAR" ] || { tail -30 "$X/logs/zaqar.stdout" "$X/logs/zaqar.log" >&2 2>/dev/null; die 1 "zaqar did not start (logs: $X/logs/zaqar.*)"; }
log "swift up after $(elapsed "$T_KS" "$T_SWIFT") s, zaqar after $(elapsed "$T_KS" "$T_ZAQAR") s"

# ========================================================= endpoints block
kv() {
  if [[ $2 =~ ^[A-Za-z0-9_./:@%+,=~-]*$ ]]; then printf '%s=%s\n' "$1" "$2"
  else printf "%s='%s'\n" "$1" "${2//\'/\'\\\'\'}"; fi
}
{
  echo "$BEGIN_MARK"
  kv REAL_HEAT_SWIFT_URL "http://127.0.0.1:$SWIFT_PORT/v1/AUTH_$ADMIN_PROJECT_ID"
  kv REAL_HEAT_SWIFT_ROOT "http://127.0.0.1:$SWIFT_PORT"
  kv REAL_HEAT_SWIFT_PORT "$SWIFT_PORT"
  kv REAL_HEAT_SWIFT_BACKEND_PORTS "$SWIFT_ACCOUNT_PORT,$SWIFT_CONTAINER_PORT,$SWIFT_OBJECT_PORT"
  kv REAL_HEAT_ZAQAR_URL "http://127.0.0.1:$ZAQAR_PORT"
  kv REAL_HEAT_ZAQAR_PORT "$ZAQAR_PORT"
  kv REAL_HEAT_SERVICE_PROJECT_ID "$SERVICE_PROJECT_ID"
  kv REAL_HEAT_EXTRAS_BASE "$X"
  kv REAL_HEAT_EXTRAS_LOGS "$X/logs"
  kv REAL_HEAT_EXTRAS "$SELF"
  kv REAL_HEAT_SWIFT_PID "$(cat "$X/run/swift.pid")"
  kv REAL_HEAT_ZAQAR_PID "$(cat "$X/run/zaqar.pid")"
  kv REAL_HEAT_SWIFT_VERSION "$SWIFT_VERSION"
  kv REAL_HEAT_ZAQAR_VERSION "$ZAQAR_VERSION"
  echo "$END_MARK"
} > "$X/endpoints.block"

log "check (endpoints.env values, standard library only)"
env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 \
  sh -c 'set -a; . "$1"; set +a; exec /usr/bin/python3 "$2" "$3" "$4"' _ \
  "$ENDPOINTS" "$X/lib/extras_check.py" "http://127.0.0.1:$SWIFT_PORT" "http://127.0.0.1:$ZAQAR_PORT" \
  2>&1 | tee "$X/logs/extras_check.out" || die 1 "check failed (logs: $X/logs)"
T_CHECK=$(ts)

{ strip_block; cat "$X/endpoints.block"; } > "$ENDPOINTS.extras.tmp" && mv "$ENDPOINTS.extras.tmp" "$ENDPOINTS"
T_READY=$(ts)
cat > "$X/logs/timings.txt" <<EOF
apt (0 if already installed):   $(elapsed "$T0" "$T_APT") s
stop previous run, clean up:    $(elapsed "$T_APT" "$T_CLEAN") s
keystone objects:               $(elapsed "$T_CLEAN" "$T_KS") s
swift start until /healthcheck: $(elapsed "$T_KS" "$T_SWIFT") s
zaqar start until /v2/ping:     $(elapsed "$T_KS" "$T_ZAQAR") s
check:                          $(elapsed "$(printf '%s\n' "$T_SWIFT" "$T_ZAQAR" | sort -n | tail -1)" "$T_CHECK") s
=> start to ready:              $(elapsed "$T0" "$T_READY") s
EOF
for p in swift zaqar; do
  ps -o pid=,rss= -p "$(cat "$X/run/$p.pid")" | awk -v n=$p '{printf "%-6s pid %s RSS %.0f MiB\n", n, $1, $2/1024}'
done > "$X/logs/rss.txt"
log "ready after $(elapsed "$T0" "$T_READY") s; appended the extras block to $ENDPOINTS"
