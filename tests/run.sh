#!/usr/bin/env bash
# BatchPortal: run the whole test suite.
#
#   tests/run.sh                      # provision what the tests need, then run every test
#   tests/run.sh --filter 'FullyQualifiedName~Engine'   # extra args go to `dotnet test` as-is
#
# On a fresh Debian/Ubuntu machine (as root, or via sudo) this installs and starts, when missing:
#   a. a Docker engine (apt `docker.io`; dockerd started in the background with the vfs storage driver,
#      no iptables and no bridge; its log is /tmp/batchportal-dockerd.log and it is left running),
#   b. the local test image batchportal/busybox:latest, built from Debian's busybox-static with
#      `docker import` (no registry is needed or used),
#   c. Chromium (/usr/bin/chromium, exported as BATCHPORTAL_CHROMIUM for the browser tests),
#   d. the npm packages of tests/Api.Tests/js (`npm ci`; Node.js 20+ and npm must already be on PATH,
#      and under CI=true their absence stops the run),
#   e. the aws CLI (Debian's awscli when `aws` is not on PATH), which the API tests drive.
# Every step is idempotent and takes well under a second when things are already in place.
#
# Environment:
#   BATCHPORTAL_SETUP_ONLY=1   do steps a-e only and stop before `dotnet test` (exit 0 when provisioning worked).
#   BATCHPORTAL_CHROMIUM       browser to use; defaults to /usr/bin/chromium.
#   CI                         passed through unchanged to the tests.
#
# The last line printed is always "N passed, N failed, N skipped" (summed over the TRX files of all test
# projects). Exit status is non-zero when `dotnet test` failed, any test failed, or no test ran.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

IMAGE="batchportal/busybox:latest"
DOCKERD_LOG="/tmp/batchportal-dockerd.log"
RESULTS="$ROOT/tests/TestResults"

if [ -n "${CI+x}" ]; then export CI; fi
is_ci() { case "${CI:-}" in ""|false|0) return 1 ;; *) return 0 ;; esac; }
export DOTNET_NOLOGO="${DOTNET_NOLOGO:-1}"
export DOTNET_CLI_TELEMETRY_OPTOUT="${DOTNET_CLI_TELEMETRY_OPTOUT:-1}"

# ---------------------------------------------------------------------------------------------- helpers
say()  { printf '==> %s\n' "$*"; }
die()  { printf '==> ERROR: %s\n' "$*" >&2; exit 1; }

now_ms() {
  if [ -n "${EPOCHREALTIME:-}" ]; then local t="${EPOCHREALTIME/[.,]/}"; echo $(( t / 1000 ))
  else echo $(( $(date +%s%N) / 1000000 )); fi
}
STEP_NAME=""; STEP_START=0
step_begin() { STEP_NAME="$1"; STEP_START="$(now_ms)"; say "$1"; }
step_end()   { local d=$(( $(now_ms) - STEP_START )); say "$STEP_NAME: $1 ($(awk -v ms="$d" 'BEGIN{printf "%.1f s", ms/1000}'))"; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
fi
as_root() {
  if [ "$(id -u)" -eq 0 ] || [ -n "$SUDO" ]; then $SUDO "$@"
  else die "need root (or sudo) to run: $*"; fi
}

APT_UPDATED=0
apt_install() {
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install these by hand: $*"
  if [ "$APT_UPDATED" -eq 0 ]; then
    say "apt-get update"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 update -qq \
      || die "apt-get update failed"
    APT_UPDATED=1
  fi
  say "apt-get install -y $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 install -y -qq "$@" \
    || die "apt-get install $* failed"
}

# `docker` as this user, or through sudo when the socket is root-only and sudo exists.
DOCKER=(docker)
docker_ok() { "${DOCKER[@]}" info >/dev/null 2>&1; }

# ---------------------------------------------------------------------------------------------- a. Docker engine
step_begin "Docker engine"
if docker_ok; then
  step_end "already running"
else
  if [ -n "$SUDO" ] && $SUDO docker info >/dev/null 2>&1; then
    DOCKER=(sudo docker)
    step_end "already running (reachable through sudo only; the tests need access to /var/run/docker.sock)"
  else
    if ! command -v dockerd >/dev/null 2>&1 && [ ! -x /usr/sbin/dockerd ] && [ ! -x /usr/bin/dockerd ]; then
      apt_install docker.io
    fi
    command -v docker >/dev/null 2>&1 || apt_install docker.io
    DOCKERD="$(command -v dockerd 2>/dev/null || true)"
    if [ -z "$DOCKERD" ]; then
      if [ -x /usr/sbin/dockerd ]; then DOCKERD=/usr/sbin/dockerd; else DOCKERD=/usr/bin/dockerd; fi
    fi
    if [ -n "$SUDO" ]; then DOCKER=(sudo docker); fi

    started="no"
    # A systemd-managed docker: start the service and use it as it is.
    if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1 \
       && systemctl list-unit-files docker.service >/dev/null 2>&1 \
       && as_root systemctl start docker >/dev/null 2>&1; then
      started="systemd"
    fi
    # A dockerd that is already starting (e.g. from a parallel run) must not get a twin.
    if [ "$started" = "no" ] && [ -f /var/run/docker.pid ] \
       && as_root kill -0 "$(cat /var/run/docker.pid 2>/dev/null || echo 0)" 2>/dev/null; then
      started="existing"
    fi
    if [ "$started" = "no" ]; then
      say "starting $DOCKERD --storage-driver=vfs --iptables=false --bridge=none (log: $DOCKERD_LOG)"
      if [ "$(id -u)" -ne 0 ] && [ -z "$SUDO" ]; then die "need root (or sudo) to start dockerd"; fi
      # In its own session, with no inherited descriptors besides the log (so nothing that waits for
      # our stdout/stderr, e.g. a CI runner, waits for dockerd), and no shell left behind as its parent.
      (
        for fd in "/proc/$BASHPID/fd/"*; do
          n="${fd##*/}"
          if [ "$n" -gt 2 ] 2>/dev/null; then eval "exec $n>&-" 2>/dev/null || true; fi
        done
        exec $SUDO setsid nohup "$DOCKERD" --storage-driver=vfs --iptables=false --bridge=none \
          </dev/null >>"$DOCKERD_LOG" 2>&1
      ) &
      disown 2>/dev/null || true
      started="dockerd"
    fi

    for _ in $(seq 1 120); do
      docker_ok && break
      sleep 0.5
    done
    if ! docker_ok; then
      echo "---- last lines of $DOCKERD_LOG ----" >&2
      tail -n 30 "$DOCKERD_LOG" >&2 2>/dev/null || true
      die "Docker engine did not answer 'docker info' within 60 s (started via: $started)"
    fi
    step_end "started ($started)"
  fi
fi

# ---------------------------------------------------------------------------------------------- b. test image
step_begin "Test image $IMAGE"
# Bump IMAGE_RECIPE whenever the rootfs below changes: an image with another label gets rebuilt.
IMAGE_RECIPE=2
have_recipe="$("${DOCKER[@]}" image inspect --format '{{index .Config.Labels "batchportal.recipe"}}' "$IMAGE" 2>/dev/null || true)"
old_id="$("${DOCKER[@]}" image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)"
if [ "$have_recipe" = "$IMAGE_RECIPE" ]; then
  built="present"
else
  # The image needs a *static* busybox (Debian's `busybox` package is dynamically linked).
  if [ ! -x /bin/busybox ] || ldd /bin/busybox >/dev/null 2>&1; then
    apt_install busybox-static
  fi
  ldd /bin/busybox >/dev/null 2>&1 && die "/bin/busybox is not statically linked (install busybox-static)"

  ROOTFS="$(mktemp -d /tmp/batchportal-rootfs.XXXXXX)"
  trap 'rm -rf "$ROOTFS"' EXIT
  chmod 755 "$ROOTFS"   # mktemp makes it 0700: non-root container users could not reach /bin
  mkdir -p "$ROOTFS"/{bin,etc,root,home,tmp,var/tmp,dev,proc,sys}
  chmod 1777 "$ROOTFS/tmp" "$ROOTFS/var/tmp"
  chmod 700 "$ROOTFS/root"
  cp /bin/busybox "$ROOTFS/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [ "$applet" = "busybox" ] || ln -sf busybox "$ROOTFS/bin/$applet"
  done
  cat >"$ROOTFS/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
  cat >"$ROOTFS/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
EOF
  tar -C "$ROOTFS" --numeric-owner --owner=0 --group=0 -c . \
    | "${DOCKER[@]}" import --change 'ENV PATH=/bin' --change 'CMD ["sh"]' \
        --change "LABEL batchportal.recipe=$IMAGE_RECIPE" - "$IMAGE" >/dev/null \
    || die "docker import of $IMAGE failed"
  rm -rf "$ROOTFS"; trap - EXIT
  # Drop the image this one replaces (an older recipe), unless containers still use it.
  if [ -n "$old_id" ]; then "${DOCKER[@]}" rmi "$old_id" >/dev/null 2>&1 || true; fi
  built="built"
fi
out="$("${DOCKER[@]}" run --rm --network none "$IMAGE" echo ok 2>&1 || true)"
[ "$out" = "ok" ] || die "$IMAGE does not run: 'docker run --rm --network none $IMAGE echo ok' gave: $out"
step_end "$built, runs"

# ---------------------------------------------------------------------------------------------- c. Chromium
step_begin "Chromium"
if [ -n "${BATCHPORTAL_CHROMIUM:-}" ] && [ -x "$BATCHPORTAL_CHROMIUM" ]; then
  chromium_state="using $BATCHPORTAL_CHROMIUM"
else
  if [ ! -x /usr/bin/chromium ]; then
    apt_install chromium
    chromium_state="installed"
  else
    chromium_state="present"
  fi
  [ -x /usr/bin/chromium ] || die "/usr/bin/chromium missing after installing chromium"
  export BATCHPORTAL_CHROMIUM=/usr/bin/chromium
fi
export BATCHPORTAL_CHROMIUM
step_end "$chromium_state"

# ---------------------------------------------------------------------------------------------- d. Node packages
# tests/Api.Tests/js holds the AWS SDK for JavaScript scenarios (exact versions in its package-lock.json). They are
# installed with `npm ci` when node_modules is missing or was installed from another lock file; otherwise nothing runs.
step_begin "Node packages for tests/Api.Tests/js"
JS_DIR="$ROOT/tests/Api.Tests/js"
JS_STAMP="$JS_DIR/node_modules/.batchportal-lock"
js_lock_id() {
  if [ -f "$JS_DIR/package-lock.json" ]; then sha256sum "$JS_DIR/package-lock.json" | cut -d' ' -f1
  else sha256sum "$JS_DIR/package.json" | cut -d' ' -f1; fi
}
if [ -f "$JS_STAMP" ] && [ "$(cat "$JS_STAMP")" = "$(js_lock_id)" ]; then
  step_end "present"
elif ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
  # Debian's own nodejs is too old for the SDK (it needs Node 20+), so it is not installed from here.
  msg="node/npm not found: the SDK tests in tests/Api.Tests need Node.js 20+ with npm on PATH"
  if is_ci; then die "$msg"; fi
  say "WARNING: $msg; those tests will fail"
  step_end "missing"
else
  node_major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
  if [ "$node_major" -lt 20 ]; then
    msg="node $(node --version) is too old for the AWS SDK for JavaScript v3 (needs 20+)"
    if is_ci; then die "$msg"; fi
    say "WARNING: $msg"
  fi
  if [ -f "$JS_DIR/package-lock.json" ]; then npm_cmd=(ci); else npm_cmd=(install); fi
  ( cd "$JS_DIR" && npm "${npm_cmd[@]}" --no-audit --no-fund --loglevel=error ) \
    || die "npm ${npm_cmd[*]} failed in $JS_DIR"
  js_lock_id >"$JS_STAMP"
  step_end "npm ${npm_cmd[*]} done"
fi

# ---------------------------------------------------------------------------------------------- e. aws CLI
step_begin "aws CLI"
if command -v aws >/dev/null 2>&1; then
  step_end "present ($(aws --version 2>&1 | cut -d' ' -f1))"
else
  apt_install awscli
  command -v aws >/dev/null 2>&1 || die "aws CLI still missing after installing Debian's awscli"
  step_end "installed ($(aws --version 2>&1 | cut -d' ' -f1))"
fi

if [ "${BATCHPORTAL_SETUP_ONLY:-}" = "1" ]; then
  say "BATCHPORTAL_SETUP_ONLY=1: provisioning done, not running dotnet test"
  exit 0
fi

# ---------------------------------------------------------------------------------------------- f. dotnet test
command -v dotnet >/dev/null 2>&1 || die "dotnet not found on PATH (needs the .NET 10 SDK)"
rm -rf "$RESULTS"
mkdir -p "$RESULTS"

step_begin "dotnet test BatchPortal.sln -c Release${*:+ $*}"
test_rc=0
dotnet test BatchPortal.sln -c Release --logger trx --results-directory "$RESULTS" "$@" || test_rc=$?
step_end "exit code $test_rc"

# Sum the <Counters .../> element of every TRX file (one per test project).
passed=0; failed=0; skipped=0; trx_count=0
attr() { printf '%s' "$counters" | sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p"; }
shopt -s nullglob globstar
for trx in "$RESULTS"/**/*.trx; do
  trx_count=$((trx_count + 1))
  counters="$(grep -o '<Counters [^>]*>' "$trx" | head -n 1 || true)"
  [ -n "$counters" ] || continue
  t="$(attr total)"; p="$(attr passed)"; f="$(attr failed)"
  e="$(attr error)"; to="$(attr timeout)"; ab="$(attr aborted)"
  t=${t:-0}; p=${p:-0}; f=$(( ${f:-0} + ${e:-0} + ${to:-0} + ${ab:-0} ))
  s=$(( t - p - f )); [ "$s" -ge 0 ] || s=0
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
done
shopt -u nullglob globstar

rc=0
if [ "$test_rc" -ne 0 ]; then say "dotnet test exited with $test_rc"; rc=1; fi
if [ "$trx_count" -eq 0 ]; then say "no TRX files in $RESULTS"; rc=1; fi
if [ "$failed" -gt 0 ]; then rc=1; fi
if [ $((passed + failed)) -eq 0 ]; then say "no tests ran"; rc=1; fi

echo "$passed passed, $failed failed, $skipped skipped"
exit "$rc"
