#!/usr/bin/env bash
# ha_smoke_test.sh REPO BUILD_DIR: a smoke test of `deploy/run --ha` and `deploy/stop` themselves.
# Runs the HA layout in a temporary var/ (SIMPUL_VAR) on free ports away from the defaults
# (SIMPUL_RUN_PORT_BASE) with the binaries already built (SIMPUL_RUN_SKIP_BUILD=1), then checks:
#   - all 14 processes run (2 x registry, complaints, monitoring, gateway; 3 Redis; 3 sentinels),
#     and var/ha (config files with passwords) is mode 700,
#   - a complaint filed through gateway 1 is read through gateway 2,
#   - after SENTINEL FAILOVER a filing through each gateway succeeds within 10 s, and the
#     complaint filed before the failover is still there,
#   - deploy/stop leaves none of those processes running.
# Everything it starts is stopped on exit (deploy/stop, then SIGKILL of what is left).
set -euo pipefail
[[ $# -eq 2 ]] || { echo "usage: ha_smoke_test.sh REPO BUILD_DIR" >&2; exit 2; }
REPO="$(cd "$1" && pwd)"
BUILD="$(cd "$2" && pwd)"
for bin in services/registry/simpul-registry services/complaints/simpul-complaints \
  services/monitoring/simpul-monitoring gateway/simpul-gateway gateway/simpul-apikey \
  gateway/simpul-audit tools/simpul-token; do
  [[ -x "$BUILD/$bin" ]] || { echo "FAIL: $BUILD/$bin is not built" >&2; exit 1; }
done

# Nothing of the caller's environment configures the processes.
while IFS='=' read -r name _; do unset "$name"; done < <(env | grep '^SIMPUL_' || true)

T0=$SECONDS
VAR="$(mktemp -d /tmp/simpul-ha-smoke.XXXXXX)"
export SIMPUL_VAR="$VAR" SIMPUL_BUILD_DIR="$BUILD" SIMPUL_RUN_SKIP_BUILD=1

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
elapsed() { echo "$((SECONDS - T0))s"; }

# A port base whose every port (B+0..3, +80..82, +90..92, +100..103, +1000, +1100, +2000..3,
# +2100..3) is free: B in 10000..23900, so the range stays below the defaults' sentinels (26380)
# and the kernel's ephemeral ports (32768..), and away from 7100..9203 and 6380.
free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
BASE=""
for _ in $(seq 1 20); do
  candidate=$((10000 + (RANDOM % 140) * 100))
  ok=yes
  for off in 0 1 2 3 80 81 82 90 91 92 100 101 102 103 1000 1100 2000 2001 2002 2003 2100 2101 \
    2102 2103; do
    free $((candidate + off)) || { ok=""; break; }
  done
  [[ -n "$ok" ]] && { BASE=$candidate; break; }
done
[[ -n "$BASE" ]] || fail "no free port range found"
export SIMPUL_RUN_PORT_BASE="$BASE"
GW1_REST="127.0.0.1:$((BASE + 1000))"
GW2_REST="127.0.0.1:$((BASE + 1100))"
SENTINEL="$((BASE + 90))"

PIDS=()
cleanup() {
  local rc=$? pid
  "$REPO/deploy/stop" >"$VAR/stop-on-exit.log" 2>&1 || true
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  for f in "$VAR"/ha/run/*.pid; do
    [[ -e "$f" ]] && kill -KILL "$(tr -dc 0-9 <"$f")" 2>/dev/null || true
  done
  if ((rc != 0)); then
    echo "--- deploy/run output (last 40 lines) and logs in $VAR" >&2
    tail -n 40 "$VAR/run.log" >&2 2>/dev/null || true
    echo "--- deploy/stop output" >&2
    cat "$VAR/stop.log" >&2 2>/dev/null || true
  else
    rm -rf "$VAR"
  fi
}
trap cleanup EXIT

echo "deploy/run --ha on port base $BASE, var $VAR"
timeout 150 "$REPO/deploy/run" --ha >"$VAR/run.log" 2>&1 || fail "deploy/run --ha failed ($(elapsed))"
echo "started in $(elapsed)"

# 1. All 14 processes run, each the program its pid file names.
names=(registry-1 registry-2 complaints-1 complaints-2 monitoring-1 monitoring-2 gateway-1 gateway-2
  redis-1 redis-2 redis-3 sentinel-1 sentinel-2 sentinel-3)
for n in "${names[@]}"; do
  f="$VAR/ha/run/$n.pid"
  [[ -s "$f" ]] || fail "no pid file $f"
  pid="$(tr -dc 0-9 <"$f")"
  kill -0 "$pid" 2>/dev/null || fail "$n (pid $pid) does not run"
  case "$n" in
    redis-*) want=redis-server ;;
    sentinel-*) want=sentinel ;;
    *) want="simpul-${n%-*}" ;;
  esac
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$want" || fail "pid $pid of $n is not $want"
  PIDS+=("$pid")
done
[[ ${#PIDS[@]} -eq 14 ]] || fail "expected 14 processes, found ${#PIDS[@]}"
echo "ok: 14 processes run"
# The Redis and Sentinel config files hold passwords and are rewritten mode 644 by CONFIG REWRITE:
# their directory must keep others out.
[[ "$(stat -c %a "$VAR/ha")" == 700 ]] || fail "$VAR/ha is mode $(stat -c %a "$VAR/ha"), not 700"

# 2. File through gateway 1, read through gateway 2.
export CURL_CA_BUNDLE="$VAR/pki/ca.crt"
# shellcheck disable=SC1091
source "$VAR/ha/demo/api-keys.env"
[[ -n "${SIMPUL_KEY_SMS:-}" ]] || fail "no SIMPUL_KEY_SMS in $VAR/ha/demo/api-keys.env"
# file REST KEY: files a complaint through https://REST, prints "HTTP_CODE TRACKING_CODE".
file() {
  local out code
  out="$(curl -s -m 5 -w '\n%{http_code}' -H "authorization: Bearer $SIMPUL_KEY_SMS" \
    -H 'content-type: application/json' "https://$1/v1/complaints" \
    -d "{\"idempotency_key\": \"$2\", \"report_type\": \"REPORT_TYPE_COMPLAINT\", \"channel\": \"CHANNEL_SMS\", \"service_id\": \"ktp-el-padang-pariaman\", \"description\": \"Uji ketersediaan tinggi $2.\"}" || true)"
  code="$(tail -n 1 <<<"$out")"
  echo "$code $(head -n 1 <<<"$out" | sed -n 's/.*"tracking_code":"\([^"]*\)".*/\1/p')"
}
# read_back REST CODE: the id GetComplaint answers through https://REST.
read_back() {
  curl -s -m 5 -H "authorization: Bearer $SIMPUL_KEY_SMS" "https://$1/v1/complaints/$2" |
    sed -n 's/.*"id":"\([^"]*\)".*/\1/p'
}
read -r code tracking <<<"$(file "$GW1_REST" smoke-before-failover)"
[[ "$code" == 201 || "$code" == 200 ]] && [[ -n "$tracking" ]] || fail "filing through gateway 1: HTTP $code"
[[ "$(read_back "$GW2_REST" "$tracking")" == "$tracking" ]] ||
  fail "complaint $tracking filed through gateway 1 not read through gateway 2"
echo "ok: $tracking filed through gateway 1, read through gateway 2"

# 3. SENTINEL FAILOVER: a new master within 10 s, and a filing through each gateway succeeds.
scli() {
  REDISCLI_AUTH="$(<"$VAR/redis-auth/simpul-admin.password")" redis-cli --no-auth-warning \
    --user simpul-admin -h 127.0.0.1 -p "$SENTINEL" "$@"
}
old_master="$(scli SENTINEL get-master-addr-by-name simpul | sed -n 2p)"
[[ -n "$old_master" ]] || fail "sentinel names no master"
failover_at=$SECONDS
[[ "$(scli SENTINEL FAILOVER simpul)" == OK ]] || fail "SENTINEL FAILOVER refused"
declare -A filed=()
attempt=0
while ((${#filed[@]} < 2)); do
  ((SECONDS - failover_at <= 10)) || fail "no filing through gateway(s) other than ${!filed[*]} within 10 s of the failover"
  attempt=$((attempt + 1))
  new_master="$(scli SENTINEL get-master-addr-by-name simpul | sed -n 2p)"
  if [[ "$new_master" != "$old_master" ]]; then
    for gw in "$GW1_REST" "$GW2_REST"; do
      [[ -n "${filed[$gw]:-}" ]] && continue
      read -r code tracking2 <<<"$(file "$gw" "smoke-after-failover-$gw-$attempt")"
      [[ "$code" == 201 || "$code" == 200 ]] && filed[$gw]="$tracking2"
    done
  fi
  sleep 0.2
done
echo "ok: master $old_master -> $new_master; a filing through each gateway within $((SECONDS - failover_at)) s"
[[ "$(read_back "$GW1_REST" "$tracking")" == "$tracking" ]] ||
  fail "complaint $tracking, acknowledged before the failover, is gone"
echo "ok: $tracking is still there after the failover"

# 4. deploy/stop leaves nothing running.
"$REPO/deploy/stop" >"$VAR/stop.log" 2>&1 || fail "deploy/stop failed"
for pid in "${PIDS[@]}"; do
  if kill -0 "$pid" 2>/dev/null && [[ "$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null)" != Z ]]; then
    fail "pid $pid still runs after deploy/stop"
  fi
done
echo "ok: deploy/stop stopped all 14 processes"
echo "PASS in $(elapsed)"
