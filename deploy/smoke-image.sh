#!/usr/bin/env bash
# Builds the container image and proves it works end to end, without Docker Hub and without a cluster:
#   1. the local Debian base image (deploy/build-base-image.sh) unless it exists;
#   2. `podman build --isolation chroot` of ./Dockerfile on that base;
#   3. the sandbox portal on the host (.venv/bin/b24rules sandbox), seeded with demo task 691
#      (entries of 0, 0, 60 and 3600 seconds);
#   4. the image run as Kubernetes runs it: `serve`, read-only root filesystem, tmpfs /tmp and
#      metrics dir, all capabilities dropped, uid 10001;
#   5. checks: /healthz, /readyz, the image's own HEALTHCHECK command, /metrics, a wrong token -> 401,
#      the sample ONTASKUPDATE event -> queued, and the two 0-second entries deleted on the portal;
#   6. rules hot reload: a ConfigMap-style `..data` swap to a broken set keeps the pod ready (/readyz 200
#      `status: degraded` with the problem, /readyz?strict=1 503, b24rules_rules_ok 0, /healthz 200), and
#      the fixed set turns it back to `ready` (strict 200, rules_ok 1);
#   7. the same events with the scaled shape: one `web` and two `worker` containers on PostgreSQL
#      (127.0.0.1:5432, database b24rules_smoke, dropped and re-created; skipped without a server).
#
#   deploy/smoke-image.sh            log in .tools/smoke/smoke-image.log (printed as it goes)
#
# Slow (a minute or two) and needs root + podman: a documented script, not part of `make test`.
# Environment: IMAGE, BASE_IMAGE, PORT (18080; web of shape B: PORT+1), SANDBOX_PORT (9999), PG_URL, BUILD_CA_BUNDLE (a CA bundle
# mounted over the base's during the build, for networks that intercept TLS; default: the host's
# /etc/ssl/certs/ca-certificates.crt when present), KEEP=1 leaves the container running.
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE="${IMAGE:-localhost/b24rules:smoke}"
BASE_IMAGE="${BASE_IMAGE:-localhost/b24rules-base:bookworm}"
PORT="${PORT:-18080}"
SANDBOX_PORT="${SANDBOX_PORT:-9999}"
SAMPLE="${SAMPLE:-tests/sandbox/samples/ontaskupdate-webhook.form}"
TOKEN=k3v9w2x8y7z6q5p4o3n2m1l0k9j8h7g6   # the samples' public application token
BUILD_CA_BUNDLE="${BUILD_CA_BUNDLE-/etc/ssl/certs/ca-certificates.crt}"
CONTAINER=b24rules-smoke
OUT=.tools/smoke
mkdir -p "$OUT"
LOG="$OUT/smoke-image.log"
exec > >(tee "$LOG") 2>&1

failures=0
passes=0
t0=$(date +%s)
step() { printf '\n== [%3ss] %s\n' "$(( $(date +%s) - t0 ))" "$*"; }
ok() { printf '   ok: %s\n' "$*"; passes=$((passes + 1)); }
bad() { printf '   FAIL: %s\n' "$*"; failures=$((failures + 1)); }
http() {  # METHOD URL [curl args…] -> prints "STATUS BODY"
  local method=$1 url=$2; shift 2
  curl -sS -o "$OUT/body" -w '%{http_code}' -X "$method" "$@" "$url" 2>/dev/null || echo -n 000
  printf ' %s' "$(head -c 300 "$OUT/body" 2>/dev/null)"
}
wait_for() {  # URL SECONDS -> 0 when it answers 200 in time
  local deadline=$(( $(date +%s) + $2 ))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$1" || true)" = 200 ] && return 0
    sleep 0.5
  done
  return 1
}

sandbox_pid=""
started=()
cleanup() {
  if [ "${KEEP:-0}" != 1 ] && [ "${#started[@]}" -gt 0 ]; then
    echo "== removing containers: ${started[*]}"
    # One at a time: podman 4.3's `rm -f a b` silently does nothing when `a` is already gone.
    local name
    for name in "${started[@]}"; do podman rm -f -t 15 "$name" >/dev/null 2>&1 || true; done
  fi
  if [ -n "$sandbox_pid" ]; then kill "$sandbox_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT

step "base image $BASE_IMAGE"
if podman image exists "$BASE_IMAGE"; then
  ok "present ($(podman image inspect --format '{{.Size}}' "$BASE_IMAGE" | awk '{printf "%.1f MB", $1/1e6}'))"
else
  bash deploy/build-base-image.sh "$BASE_IMAGE"
fi

step "podman build --isolation chroot -> $IMAGE"
build_args=(--isolation chroot --format docker --build-arg "BASE_IMAGE=$BASE_IMAGE"
  --build-arg "REVISION=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  --build-arg "CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ)" -t "$IMAGE")
if [ -n "$BUILD_CA_BUNDLE" ] && [ -f "$BUILD_CA_BUNDLE" ]; then
  # Only RUN steps see this mount; it is not part of any layer.
  build_args+=(-v "$BUILD_CA_BUNDLE:/etc/ssl/certs/ca-certificates.crt:ro")
fi
build_start=$(date +%s)
podman build "${build_args[@]}" . >"$OUT/build.log" 2>&1 || { tail -40 "$OUT/build.log"; bad "build"; exit 1; }
grep -E '^(\[[0-9]/[0-9]\] )?STEP|COMMIT|Successfully' "$OUT/build.log" | cut -c1-110 | sed 's/^/   /'
ok "built in $(( $(date +%s) - build_start ))s; size $(podman image inspect --format '{{.Size}}' "$IMAGE" | awk '{printf "%.1f MB", $1/1e6}')"
podman image inspect --format '   user={{.Config.User}} entrypoint={{.Config.Entrypoint}} cmd={{.Config.Cmd}} ports={{.Config.ExposedPorts}}' "$IMAGE"

# Which `podman run` flags work here: none on a normal host; inside some containers crun cannot set
# rlimits or cgroups, and runc with lowered limits does.
run_flags=()
for candidate in "" "--runtime runc --ulimit nofile=10000:10000 --ulimit nproc=4096:4096"; do
  read -r -a flags <<<"$candidate"
  if podman run --rm "${flags[@]}" --no-healthcheck --entrypoint true "$IMAGE" >/dev/null 2>&1; then
    run_flags=("${flags[@]}"); break
  fi
done
step "podman run flags for this host: ${run_flags[*]:-(none)}"

step "what is (not) in the image"
podman run --rm "${run_flags[@]}" --no-healthcheck --entrypoint sh "$IMAGE" -c '
  echo "   uid=$(id -u) python=$(python3 -V 2>&1) venv=$(du -sh /opt/venv | cut -f1)"
  for t in gcc cc make pip pip3 curl wget apt-get; do command -v $t >/dev/null && echo "   present: $t"; done
  echo "   rules: $(ls /etc/b24rules/rules | tr "\n" " ")"' || bad "inspecting the image"
podman run --rm "${run_flags[@]}" --no-healthcheck "$IMAGE" check /etc/b24rules/rules \
  && ok "b24rules check /etc/b24rules/rules (the shipped rules load in the image)" || bad "b24rules check"

start_sandbox() {  # a fresh portal with the demo tasks (task 691: entries of 0, 0, 60, 3600 s)
  stop_sandbox
  .venv/bin/b24rules sandbox --port "$SANDBOX_PORT" >"$OUT/sandbox.log" 2>&1 &
  sandbox_pid=$!
  wait_for "http://127.0.0.1:$SANDBOX_PORT/_sandbox/" 30 || { cat "$OUT/sandbox.log"; bad "sandbox did not start"; exit 1; }
  webhook_url=$(grep -o 'B24_WEBHOOK_URL=[^ ]*' "$OUT/sandbox.log" | head -1 | cut -d= -f2-)
  ok "sandbox up on 127.0.0.1:$SANDBOX_PORT (pid $sandbox_pid), B24_WEBHOOK_URL=$webhook_url"
  before=$(entries)
  ok "task 691 entries (seconds) before: $before"
}
stop_sandbox() {
  if [ -n "$sandbox_pid" ]; then kill "$sandbox_pid" 2>/dev/null || true; wait "$sandbox_pid" 2>/dev/null || true; fi
  sandbox_pid=""
}
entries() { curl -s "http://127.0.0.1:$SANDBOX_PORT/_sandbox/tasks/691/entries" | python3 -c '
import json, sys
body = json.load(sys.stdin)
items = body.get("result", body) if isinstance(body, dict) else body
print(" ".join(str(e.get("SECONDS", e.get("seconds"))) for e in items))'; }

run_container() {  # NAME COMMAND [extra podman args…]: the image as Kubernetes runs it
  local name=$1 command=$2; shift 2
  podman rm -f "$name" >/dev/null 2>&1 || true
  started+=("$name")
  podman run -d --name "$name" "${run_flags[@]}" --no-healthcheck --network host \
    --read-only --tmpfs /tmp:rw,mode=1777 \
    --tmpfs /run/b24rules/metrics:rw,mode=0700,U \
    --cap-drop ALL --security-opt no-new-privileges \
    -e B24_WEBHOOK_URL="$webhook_url" -e B24_APPLICATION_TOKEN="$TOKEN" \
    -e B24_SWEEP_INTERVAL=0 -e B24_LOG_FORMAT=text "$@" "$IMAGE" "$command" >/dev/null
}

check_http() {  # NAME PORT: health, readiness, uid, HEALTHCHECK, metrics
  local name=$1 port=$2 run_start
  run_start=$(date +%s)
  if wait_for "http://127.0.0.1:$port/healthz" 60; then
    ok "/healthz 200 (within $(( $(date +%s) - run_start ))s of the check)"
  else
    bad "/healthz not 200 within 60s"; podman logs "$name" 2>&1 | tail -30 | sed 's/^/      /'; return 1
  fi
  if wait_for "http://127.0.0.1:$port/readyz" 30; then ok "/readyz 200: $(curl -s "http://127.0.0.1:$port/readyz" | head -c 300)"
  else bad "/readyz: $(http GET "http://127.0.0.1:$port/readyz")"; fi
  podman exec "$name" id -u | grep -qx 10001 && ok "runs as uid 10001" || bad "not uid 10001"
  # The image's HEALTHCHECK, run exactly as declared (the engine's timer needs systemd; exec is enough).
  mapfile -t hc < <(podman image inspect --format '{{range .Config.Healthcheck.Test}}{{println .}}{{end}}' "$IMAGE" | sed '/^$/d')
  if [ "${hc[0]:-}" = CMD ] && podman exec -e PORT="$port" "$name" "${hc[@]:1}"; then
    ok "HEALTHCHECK command exits 0"
  else
    bad "HEALTHCHECK command failed: ${hc[*]}"
  fi
  local metrics
  metrics=$(http GET "http://127.0.0.1:$port/metrics")
  [ "${metrics%% *}" = 200 ] && ok "/metrics 200: $(curl -s "http://127.0.0.1:$port/metrics" | awk '$1 == "#" && $2 == "TYPE" {printf "%s ", $3}')" || bad "/metrics: $metrics"
}

check_events() {  # PORT: a wrong token is refused; the sample event deletes task 691's 0-second entries
  local port=$1 wrong answer post_start post_ms after deadline
  wrong=$(http POST "http://127.0.0.1:$port/bitrix24/events" -H 'Content-Type: application/x-www-form-urlencoded' \
    --data-binary "$(sed 's/k3v9w2x8y7z6q5p4o3n2m1l0k9j8h7g6/wrongtoken/' "$SAMPLE")")
  [ "${wrong%% *}" = 401 ] && ok "wrong application token -> $wrong" || bad "wrong token answered: $wrong"
  post_start=$(date +%s%N)
  answer=$(http POST "http://127.0.0.1:$port/bitrix24/events" -H 'Content-Type: application/x-www-form-urlencoded' \
    --data-binary "@$SAMPLE")
  post_ms=$(( ($(date +%s%N) - post_start) / 1000000 ))
  [ "${answer%% *}" = 200 ] && ok "sample ONTASKUPDATE (task 691) -> $answer in ${post_ms}ms" || bad "sample event answered: $answer"
  after=$before
  deadline=$(( $(date +%s) + 60 ))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    after=$(entries)
    case " $after " in *" 0 "*) sleep 0.5 ;; *) break ;; esac
  done
  case " $after " in
    *" 0 "*) bad "0-second entries still on task 691 after 60s: $after" ;;
    *) ok "task 691 entries (seconds) after: $after (deleted $(( ($(date +%s%N) - post_start) / 1000000 ))ms after the post)" ;;
  esac
}

show_logs() {  # NAME…
  local name
  for name in "$@"; do
    echo "   --- $name (last 8 lines)"
    podman logs "$name" 2>&1 | tail -8 | cut -c1-200 | sed 's/^/   /'
  done
}

# A rules directory laid out as the kubelet lays out a ConfigMap volume: files are symlinks through
# `..data`, which is swapped atomically (rename) on every update.
RULES_VOL="$PWD/$OUT/rules-volume"
publish_rules() {  # SOURCE_DIR: a new timestamped copy, then the atomic ..data swap
  local version="..$(date +%s%N)"
  mkdir -p "$RULES_VOL/$version"
  cp "$1"/*.yaml "$RULES_VOL/$version/"
  chmod -R a+rX "$RULES_VOL"
  ln -sfn "$version" "$RULES_VOL/..data_tmp"
  mv -T "$RULES_VOL/..data_tmp" "$RULES_VOL/..data"
  local f
  for f in "$1"/*.yaml; do ln -sfn "..data/$(basename "$f")" "$RULES_VOL/$(basename "$f")"; done
}
wait_ready_status() {  # PORT STATUS SECONDS [QUERY]
  local deadline=$(( $(date +%s) + $3 ))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/readyz${4:-}" || true)" = "$2" ] && return 0
    sleep 0.5
  done
  return 1
}

step "shape A: one container running serve, SQLite on a tmpfs (port $PORT)"
rm -rf "$RULES_VOL" && mkdir -p "$RULES_VOL"
publish_rules rules
start_sandbox
run_container "$CONTAINER" serve -e PORT="$PORT" --tmpfs /var/lib/b24rules:rw,mode=0700,U \
  -v "$RULES_VOL:/etc/b24rules/rules:ro"
check_http "$CONTAINER" "$PORT" || exit 1
check_events "$PORT"

step "rules hot reload through a ConfigMap-style ..data swap"
mkdir -p "$OUT/rules-broken"
cp rules/*.yaml "$OUT/rules-broken/"
printf -- '- name: broken-rule\n  on: [ONTASKUPDATE]\n  where:\n    entry.secnds: 0\n  action: delete\n' \
  >"$OUT/rules-broken/zz-broken.yaml"
swap_start=$(date +%s)
publish_rules "$OUT/rules-broken"
# A broken set keeps the last good one running and the pod in the Service (a bad ConfigMap must not take
# every replica out at once); it shows as `degraded`, and only ?strict=1 answers 503.
if wait_ready_status "$PORT" 503 60 "?strict=1"; then
  ok "broken set -> /readyz?strict=1 503 after $(( $(date +%s) - swap_start ))s"
else
  bad "broken set did not turn /readyz?strict=1 to 503 within 60s"
fi
readyz=$(http GET "http://127.0.0.1:$PORT/readyz")
case "$readyz" in
  "200 "*'"status":"degraded"'*) ok "/readyz stays 200, degraded: ${readyz#200 }" ;;
  *) bad "/readyz with a broken set: $readyz" ;;
esac
rules_ok=$(curl -s "http://127.0.0.1:$PORT/metrics" | awk '$1 == "b24rules_rules_ok" {print $2}')
[ "$rules_ok" = 0.0 ] && ok "b24rules_rules_ok 0" || bad "b24rules_rules_ok is '$rules_ok', not 0"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/healthz")" = 200 ] \
  && ok "/healthz stays 200 (the process lives on with the last good set)" || bad "/healthz not 200"
rm -f "$RULES_VOL/zz-broken.yaml"
swap_start=$(date +%s)
publish_rules rules
if wait_ready_status "$PORT" 200 60 "?strict=1"; then
  readyz=$(http GET "http://127.0.0.1:$PORT/readyz")
  ok "fixed set -> /readyz?strict=1 200 after $(( $(date +%s) - swap_start ))s; /readyz: ${readyz:0:60}"
else
  bad "fixed set did not bring /readyz?strict=1 back to 200 within 60s"
fi
rules_ok=$(curl -s "http://127.0.0.1:$PORT/metrics" | awk '$1 == "b24rules_rules_ok" {print $2}')
[ "$rules_ok" = 1.0 ] && ok "b24rules_rules_ok 1" || bad "b24rules_rules_ok is '$rules_ok', not 1"
show_logs "$CONTAINER"

PG_URL="${PG_URL:-postgresql://postgres@127.0.0.1:5432/b24rules_smoke}"
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  step "shape B skipped: no PostgreSQL on 127.0.0.1:5432"
else
  step "shape B: web + 2 workers on PostgreSQL ($PG_URL), web on port $((PORT + 1))"
  podman rm -f "$CONTAINER" >/dev/null 2>&1 || true
  psql -h 127.0.0.1 -U postgres -q -c 'DROP DATABASE IF EXISTS b24rules_smoke' -c 'CREATE DATABASE b24rules_smoke' \
    && ok "fresh database b24rules_smoke" || bad "creating the database"
  start_sandbox
  run_container "$CONTAINER-web" web -e PORT="$((PORT + 1))" -e B24_DATABASE_URL="$PG_URL"
  for i in 1 2; do
    run_container "$CONTAINER-worker$i" worker -e B24_DATABASE_URL="$PG_URL" -e B24_METRICS_PORT="$((19100 + i))"
  done
  check_http "$CONTAINER-web" "$((PORT + 1))" || exit 1
  for i in 1 2; do
    if wait_for "http://127.0.0.1:$((19100 + i))/metrics" 30; then ok "worker$i metrics on :$((19100 + i))"
    else bad "worker$i metrics port"; show_logs "$CONTAINER-worker$i"; fi
  done
  check_events "$((PORT + 1))"
  show_logs "$CONTAINER-web" "$CONTAINER-worker1" "$CONTAINER-worker2"
fi

step "smoke done in $(( $(date +%s) - t0 ))s"
echo "smoke-image: $passes passed, $failures failed"
[ "$failures" -eq 0 ]
