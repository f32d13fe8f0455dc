#!/usr/bin/env bash
# Build the container image from deploy/Dockerfile and check that it works, without a
# Docker engine: podman/buildah with the vfs storage driver and chroot isolation, on a
# stand-in base image made from Debian packages (no registry needed).
#
#     sudo bash deploy/image-test.sh        # or: make image-test (as root)
#
# Prints one PASS/FAIL line per check and exits non-zero if any check failed. Safe to run
# again: it reuses the base image and the build cache and removes the containers it made.
#
# Settings (environment):
#   BASE_IMAGE       base to build on (default localhost/takeaways-base, built if absent)
#   IMAGE            tag for the built image (default localhost/takeaways-bot:test)
#   DEBIAN_MIRROR    mirror for debootstrap (default http://deb.debian.org/debian)
#   HEALTH_TIMEOUT   seconds to wait for the running bot to report healthy (default 60)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

BASE_IMAGE=${BASE_IMAGE:-localhost/takeaways-base}
IMAGE=${IMAGE:-localhost/takeaways-bot:test}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
HEALTH_TIMEOUT=${HEALTH_TIMEOUT:-60}
APP_USER=10001:10001
STANDIN_TOKEN=123456789:AAStandinStandinStandinStandin_12345
STANDIN_PORT=${STANDIN_PORT:-18081}
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt

t_start=$(date +%s)
failures=0
pending=0
containers=()
workdir=""

say() { printf '==> %s\n' "$*"; }
pass() { printf 'PASS  %s\n' "$*"; }
fail() { printf 'FAIL  %s\n' "$*"; failures=$((failures + 1)); }
pend() { printf 'PEND  %s\n' "$*"; pending=$((pending + 1)); }
die() { printf 'image-test: %s\n' "$*" >&2; exit 2; }
elapsed() { echo $(($(date +%s) - $1)); }

# podman/buildah always with the storage driver that works without overlay support.
pod() { podman --storage-driver=vfs "$@"; }
bah() { buildah --storage-driver=vfs "$@"; }

cleanup() {
    local c
    for c in "${containers[@]}"; do
        bah rm "$c" >/dev/null 2>&1 || true
    done
    if [[ -n $workdir ]]; then
        rm -rf "$workdir"
    fi
}
trap cleanup EXIT

[[ $EUID -eq 0 ]] || die "run as root (podman/buildah with chroot isolation and debootstrap need it)"
[[ -f deploy/Dockerfile && -f pyproject.toml ]] || die "cannot find deploy/Dockerfile and pyproject.toml"

# --- tools ------------------------------------------------------------------------------
missing=()
for tool in debootstrap podman buildah; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
if ((${#missing[@]})); then
    say "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap podman buildah >/dev/null
fi

# --- stand-in base image ----------------------------------------------------------------
t_base=$(date +%s)
if pod image exists "$BASE_IMAGE"; then
    say "base image $BASE_IMAGE is there"
elif [[ $BASE_IMAGE == localhost/* ]]; then
    say "building the base image $BASE_IMAGE with debootstrap (Debian bookworm, python3)"
    workdir=$(mktemp -d)
    debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
        bookworm "$workdir/rootfs" "$DEBIAN_MIRROR" >"$workdir/debootstrap.log" 2>&1 ||
        { tail -n 20 "$workdir/debootstrap.log" >&2; die "debootstrap failed"; }
    tar -C "$workdir/rootfs" -c . | pod import --quiet - "$BASE_IMAGE" >/dev/null
    rm -rf "$workdir"
    workdir=""
else
    say "pulling $BASE_IMAGE"
    pod pull "$BASE_IMAGE" >/dev/null
fi
base_seconds=$(elapsed "$t_base")

# --- build ------------------------------------------------------------------------------
version=$(sed -n 's/^version *= *"\([^"]*\)".*/\1/p' pyproject.toml | head -n 1)
previous=$(pod image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
# --format docker keeps HEALTHCHECK (the OCI format drops it). --layers=false: with vfs
# storage every cached layer is a full copy of the file system, which is slower than
# building afresh and leaves hundreds of MB of intermediate images behind per run.
build_args=(
    --format docker --layers=false --isolation=chroot --network=host
    --build-arg "BASE_IMAGE=$BASE_IMAGE" --build-arg "VERSION=$version"
    --ignorefile deploy/Dockerfile.dockerignore
    -f deploy/Dockerfile -t "$IMAGE"
)
# Let pip inside the build trust the same certificate authorities as this host.
[[ -f $CA_BUNDLE ]] && build_args+=(-v "$CA_BUNDLE:$CA_BUNDLE:ro")

say "building $IMAGE (version $version) on $BASE_IMAGE"
t_build=$(date +%s)
build_log=$(mktemp)
if pod build "${build_args[@]}" . >"$build_log" 2>&1; then
    build_seconds=$(elapsed "$t_build")
    pass "image builds (${build_seconds}s)"
    rm -f "$build_log"
else
    tail -n 40 "$build_log"
    rm -f "$build_log"
    fail "image builds"
    exit 1
fi
current=$(pod image inspect --format '{{.Id}}' "$IMAGE")
if [[ -n $previous && $previous != "$current" ]]; then
    pod rmi "$previous" >/dev/null 2>&1 || true # the last run's image, now untagged
fi

# --- image configuration ----------------------------------------------------------------
t_tests=$(date +%s)
inspect_json=$(pod image inspect "$IMAGE")
size_bytes=$(pod image inspect --format '{{.Size}}' "$IMAGE")

# Each line: PASS|FAIL<TAB>description.
while IFS=$'\t' read -r verdict text; do
    if [[ $verdict == PASS ]]; then pass "$text"; else fail "$text"; fi
done < <(
    INSPECT="$inspect_json" python3 - <<'PY'
import json, os

image = json.loads(os.environ["INSPECT"])[0]
c = image["Config"]

def check(ok, text):
    print(("PASS" if ok else "FAIL") + "\t" + text)

user = c.get("User") or ""
check(user != "" and user.split(":")[0] not in ("0", "root"), f"Config.User is not root ({user!r})")
check("/data" in (c.get("Volumes") or {}), f"Config.Volumes has /data ({sorted(c.get('Volumes') or {})})")
# `docker inspect` shows it as Config.Healthcheck; podman moves it to the top level.
hc = c.get("Healthcheck") or image.get("Healthcheck") or {}
test = hc.get("Test") or []
check(test == ["CMD", "takeaways-bot", "health"],
      f"Healthcheck.Test runs takeaways-bot health, exec form ({test})")
want = {"Interval": 30e9, "Timeout": 10e9, "StartPeriod": 30e9, "Retries": 3}
got = {k: hc.get(k) for k in want}
check(got == want, f"Healthcheck timing is 30s/10s/30s/3 ({got})")
stop = str(c.get("StopSignal") or "")
check(stop in ("SIGTERM", "15", "TERM"), f"Config.StopSignal is SIGTERM ({stop!r})")
ep = c.get("Entrypoint")
check(ep == ["takeaways-bot"], f"Config.Entrypoint is exec form ({ep})")
cmd = c.get("Cmd")
check(cmd == ["run"], f"Config.Cmd is ['run'] ({cmd})")
env = dict(e.split("=", 1) for e in c.get("Env") or [])
wanted = {"DATABASE_PATH": "/data/takeaways.db", "TAKEAWAYS_PATH": "/data/takeaways",
          "PYTHONUNBUFFERED": "1"}
check(all(env.get(k) == v for k, v in wanted.items()),
      "Config.Env sets " + " ".join(f"{k}={env.get(k)}" for k in wanted))
labels = c.get("Labels") or {}
# (org.opencontainers.image.source is set from --build-arg SOURCE_URL when given.)
keys = ["title", "description", "licenses", "version"]
missing = [k for k in keys if not labels.get(f"org.opencontainers.image.{k}")]
check(not missing and labels.get("org.opencontainers.image.licenses") == "MIT",
      "OCI labels title/description/licenses=MIT/version"
      + (f" (missing {missing})" if missing else
         f" (version {labels.get('org.opencontainers.image.version')})"))
PY
)

# --- commands inside the image, as the image's user -------------------------------------
container=$(bah from --pull-never "$IMAGE")
containers+=("$container")
uid=${APP_USER%%:*}

# buildah run mounts a fresh volume on /data at the container's first run, filled from the
# image (as Docker does for a new named volume); files copied in later land underneath
# it, unseen. So the sample goes in first.
bah copy --chown "$APP_USER" "$container" bot/samples/. /data/takeaways/ >/dev/null

# buildah run applies the image's Env but not its USER, so every command names the user.
run_in() { bah run --isolation=chroot --network=host --user "$APP_USER" "$container" -- "$@"; }
# Run a command; its output (without buildah's own exit-status lines) in $out, status in $rc.
capture() {
    local raw
    rc=0
    raw=$(run_in "$@" 2>&1) || rc=$?
    out=$(grep -v -E '^(subprocess exited with status [0-9]+|Error: exit status [0-9]+)$' <<<"$raw" || true)
}
show() { printf '%s\n' "$out" | tail -n "${1:-5}" | sed 's/^/      /'; }

capture sh -c 'stat -c "%u %n" /data /data/takeaways'
if [[ $rc -eq 0 && $out == "$uid /data"$'\n'"$uid /data/takeaways" ]]; then
    pass "a new /data volume and /data/takeaways belong to uid $uid"
else
    fail "a new /data volume and /data/takeaways belong to uid $uid"
    show
fi

capture takeaways-bot --help
if [[ $rc -eq 0 ]]; then pass "takeaways-bot --help exits 0"; else fail "takeaways-bot --help exits 0"; show; fi

capture takeaways-bot import /data/takeaways
if [[ $rc -eq 0 ]] && grep -qw '16 new' <<<"$out"; then
    pass "import of the sample as uid $uid: $(tail -n 1 <<<"$out")"
else
    fail "import of the sample as uid $uid gives \"16 new\""
    show
fi

capture sh -c 'stat -c "%u %n" "$DATABASE_PATH"'
if [[ $rc -eq 0 && $out == "$uid /data/takeaways.db" ]]; then
    pass "the database is /data/takeaways.db (image Env), owned by uid $uid"
else
    fail "the database is /data/takeaways.db (image Env), owned by uid $uid"
    show
fi

capture takeaways-bot import /data/takeaways
if [[ $rc -eq 0 ]] && grep -qw '0 new, 0 updated, 16 unchanged' <<<"$out"; then
    pass "importing again changes nothing: $(tail -n 1 <<<"$out")"
else
    fail "importing again changes nothing"
    show
fi

capture takeaways-bot stats
if [[ $rc -eq 0 ]] && grep -qx 'takeaways: 16' <<<"$out"; then
    pass "takeaways-bot stats: $(paste -sd ' ' <<<"$out")"
else
    fail "takeaways-bot stats shows the 16 takeaways"
    show
fi

# --- backup and restore, the README's way -------------------------------------------------
# The README streams both through the container: `compose exec -T bot takeaways-bot backup -
# > "$backup"` and `compose run --rm --no-deps -T bot restore - < "$backup"`. This runs the
# same container side through buildah, with the file on this host readable by its owner
# only. If the README's lines change, this check fails until the test follows them.
for line in 'compose exec -T bot takeaways-bot backup - > "$backup"' \
    'compose run --rm --no-deps -T bot restore - < "$backup"' \
    'compose up -d --build --force-recreate' \
    '- ${EXPORTS_DIR:-../exports}:/exports:ro,z'; do
    if grep -qF -- "$line" README.md deploy/docker-compose.yml; then
        pass "documented: $line"
    else
        fail "README.md/deploy/docker-compose.yml no longer say: $line (update this test with them)"
    fi
done

hostdir=$(mktemp -d)
backup="$hostdir/takeaways-$(date +%F).db"
if run_in takeaways-bot backup - >"$backup" 2>"$hostdir/backup.err" &&
    [[ $(head -c 15 "$backup") == "SQLite format 3" ]]; then
    chmod 600 "$backup"
    pass "backup - writes the database to stdout: $(grep -v '^subprocess exited' "$hostdir/backup.err" | head -n 1)"
else
    fail "backup - writes the database to stdout"
    sed 's/^/      /' "$hostdir/backup.err" | tail -n 5
fi

# Something changes after the backup, so that the restore visibly takes it back.
capture sh -c 'printf -- "- written after the backup\n" >/tmp/extra.md && takeaways-bot import /tmp/extra.md && takeaways-bot stats'
if [[ $rc -eq 0 ]] && grep -qx 'takeaways: 17' <<<"$out"; then
    pass "a takeaway added after the backup (17 now)"
else
    fail "a takeaway added after the backup"
    show
fi

capture takeaways-bot restore takeaways-2026-01-31.db
if [[ $rc -eq 1 && $(wc -l <<<"$out") -eq 1 ]] && grep -q 'no such file' <<<"$out"; then
    pass "restore of a missing file refuses in one line: $out"
else
    fail "restore of a missing file refuses in one line"
    show
fi

rc=0
raw=$(run_in takeaways-bot restore - <"$backup" 2>&1) || rc=$?
out=$(grep -v -E '^(subprocess exited with status [0-9]+|Error: exit status [0-9]+)$' <<<"$raw" || true)
if [[ $rc -eq 0 ]] && grep -q '^Restored stdin into /data/takeaways.db (16 takeaways' <<<"$out"; then
    pass "restore - < FILE (mode $(stat -c %a "$backup"), owner root) as uid $uid: $out"
else
    fail "restore - < FILE puts the backup back"
    show
fi
capture takeaways-bot stats
if [[ $rc -eq 0 ]] && grep -qx 'takeaways: 16' <<<"$out"; then
    pass "after the restore: $(paste -sd ' ' <<<"$out")"
else
    fail "after the restore the database has the backup's 16 takeaways"
    show
fi

capture takeaways-bot --version
if [[ $rc -eq 0 && $out == "takeaways-bot $version (database schema "*")" ]]; then
    pass "takeaways-bot --version: $out"
else
    fail "takeaways-bot --version names $version and the schema"
    show
fi

# --- the running bot: start-up log, health, a Telegram outage, SIGTERM -------------------
has_health=no
has_standin=no
capture takeaways-bot health --help
[[ $rc -eq 0 ]] && has_health=yes
capture python3 -m bot.standin --help
[[ $rc -eq 0 ]] && grep -q -- '--port' <<<"$out" && has_standin=yes

if [[ $has_health == no ]]; then
    pend "takeaways-bot health: no such command in this build yet (HEALTHCHECK would fail)"
else
    # Without a running bot the check must fail, with one line saying why.
    capture takeaways-bot health
    if [[ $rc -eq 0 ]]; then
        fail "health without a running bot exits non-zero (it exited 0: $out)"
    elif [[ -n $out && $(wc -l <<<"$out") -eq 1 ]]; then
        pass "health without a running bot exits $rc: $out"
    else
        fail "health without a running bot gives a one-line reason"
        show
    fi
fi

# In the container: the stand-in for Telegram's Bot API, the bot on a fresh database with
# an empty exports folder (a new install), health, then (OUTAGE=1) the stand-in stopped
# for OUTAGE_SECONDS and started again, then SIGTERM. Prints RESULT lines and the bot's log.
# shellcheck disable=SC2016 # expanded inside the container
run_script='
    start_standin() {
        python3 -m bot.standin --port "$PORT" --token "$BOT_TOKEN" >>/tmp/standin.log 2>&1 &
        standin=$!
        i=0
        until python3 -c "import socket, sys; socket.create_connection((\"127.0.0.1\", int(sys.argv[1])), 1)" "$PORT" 2>/dev/null; do
            i=$((i + 1))
            if [ $i -gt 100 ]; then echo "RESULT standin=down"; tail -n 20 /tmp/standin.log; exit 0; fi
            sleep 0.1
        done
    }
    start_standin
    mkdir -p "$TAKEAWAYS_PATH"
    : >/tmp/bot.log
    BOT_API_URL="http://127.0.0.1:$PORT" takeaways-bot run >/tmp/bot.log 2>&1 &
    bot=$!
    start=$(date +%s)
    healthy=no
    while [ $(($(date +%s) - start)) -lt "$HEALTH_TIMEOUT" ]; do
        if takeaways-bot health >/tmp/health.out 2>&1; then healthy=yes; break; fi
        kill -0 $bot 2>/dev/null || break
        sleep 1
    done
    echo "RESULT healthy=$healthy after=$(($(date +%s) - start)) reason=$(head -n 1 /tmp/health.out)"
    if [ "$OUTAGE" = 1 ] && [ $healthy = yes ]; then
        kill -TERM $standin
        wait $standin 2>/dev/null
        sleep "$OUTAGE_SECONDS"
        takeaways-bot health --max-age 0 >/tmp/outage-health.out 2>&1
        echo "HEALTH_IN_OUTAGE $(head -n 1 /tmp/outage-health.out)"
        start_standin
        t0=$(date +%s)
        recovered=no
        while [ $(($(date +%s) - t0)) -lt 60 ]; do
            if grep -q "Telegram reachable again" /tmp/bot.log; then recovered=yes; break; fi
            sleep 1
        done
        echo "RESULT recovered=$recovered after=$(($(date +%s) - t0))"
    fi
    t0=$(date +%s)
    kill -TERM $bot 2>/dev/null
    wait $bot
    echo "RESULT bot_exit=$? stop_seconds=$(($(date +%s) - t0))"
    kill -TERM $standin 2>/dev/null
    wait $standin 2>/dev/null
    echo "--- bot log"
    cat /tmp/bot.log
'
result() { sed -n "s/^RESULT .*$1=\([^ ]*\).*/\1/p" <<<"$out" | head -n 1; }
bot_log() { sed -n '/^--- bot log$/,$p' <<<"$out" | tail -n +2; }
# The message of each log line (after "time LEVEL logger: ").
messages() { bot_log | sed -n 's/^[0-9-]* [0-9:,]* [A-Z]* [a-z_.]*: //p'; }

if [[ $has_health == yes && $has_standin == yes ]]; then
    outage_seconds=10
    say "running the bot against the local Bot API stand-in, with a ${outage_seconds}s Telegram outage"
    capture env "PORT=$STANDIN_PORT" "HEALTH_TIMEOUT=$HEALTH_TIMEOUT" "BOT_TOKEN=$STANDIN_TOKEN" \
        DATABASE_PATH=/data/fresh.db TAKEAWAYS_PATH=/tmp/exports OUTAGE=1 \
        "OUTAGE_SECONDS=$outage_seconds" sh -c "$run_script"
    if [[ $(result healthy) == yes ]]; then
        pass "health exits 0 while the bot runs (after $(result after)s)"
    else
        fail "health exits 0 while the bot runs within ${HEALTH_TIMEOUT}s"
        show 25
    fi

    # Start-up: what runs, on what, with what; a fresh install is no failure; no Ctrl+C.
    msgs=$(messages)
    startup_ok=yes
    for wanted in \
        "takeaways-bot $version starting: database /data/fresh.db (schema " \
        "TAKEAWAYS_PATH=/tmp/exports has no export files yet" \
        "collection: 16 takeaways from 1 source" \
        "@takeaways_bot is running (long polling)" \
        "next delivery: "; do
        grep -qF -- "$wanted" <<<"$msgs" || { startup_ok=no; fail "start-up log has: $wanted"; }
    done
    if grep -q "Ctrl+C\|no export files found\|[1-9][0-9]* failed" <<<"$msgs"; then
        startup_ok=no
        fail "start-up log of a fresh install has no Ctrl+C, no 'no export files found', no failures"
    fi
    [[ $startup_ok == yes ]] && pass "start-up log: version, database and schema, collection, mode, next delivery; quiet on a fresh install"

    tries=$(grep -c -E '^WARNING bot\.telegram\.heartbeat: Telegram unreachable \(.+\); next try in [0-9]+ (s|min)' \
        < <(bot_log | cut -d' ' -f3-) || true)
    back=$(grep -c -E 'Telegram reachable again after [0-9]+ (s|min)' < <(bot_log) || true)
    others=$(bot_log | grep -E ' (WARNING|ERROR|CRITICAL) ' | grep -v -c 'Telegram unreachable' || true)
    tracebacks=$(bot_log | grep -c 'Traceback' || true)
    in_outage=$(sed -n 's/^HEALTH_IN_OUTAGE //p' <<<"$out")
    if [[ $(result recovered) == yes && $tries -ge 2 && $tries -le 8 && $back -eq 1 &&
        $others -eq 0 && $tracebacks -eq 0 ]]; then
        pass "Telegram outage of ${outage_seconds}s: $tries lines, one per failed try; 1 when back ($(grep -o 'Telegram reachable again after .*' <<<"$out")); no traceback, no other warning"
    else
        fail "Telegram outage: one line per failed try ($tries), one when back ($back, recovered=$(result recovered)), no other warning ($others), no traceback ($tracebacks)"
        bot_log | tail -n 25 | sed 's/^/      /'
    fi
    if grep -q '^unhealthy: Telegram cannot be reached' <<<"$in_outage"; then
        pass "health during the outage blames Telegram: $in_outage"
    else
        fail "health during the outage says Telegram cannot be reached ($in_outage)"
    fi
    if [[ $(result bot_exit) == 0 ]]; then
        pass "the bot exits 0 on SIGTERM (in $(result stop_seconds)s)"
    else
        fail "the bot exits 0 on SIGTERM (exit $(result bot_exit))"
        show 25
    fi
else
    missing_parts=()
    [[ $has_health == yes ]] || missing_parts+=("takeaways-bot health")
    [[ $has_standin == yes ]] || missing_parts+=("python3 -m bot.standin --port")
    pend "health of a running bot and exit 0 on SIGTERM: waiting for ${missing_parts[*]}"
fi

# --- upgrade: a changed image on the same data -------------------------------------------
# What `compose up -d --build --force-recreate` does to the data: a new container from a
# new image, on the same volume. The new image here is this one with its version changed;
# the volume is a host folder (mounted beside /data: buildah puts a fresh volume on the
# image's VOLUME whatever -v says).
if [[ $has_standin == yes ]]; then
    upgraded_version="$version+upgrade-test"
    upgrade_image="${IMAGE%:*}:upgrade-test"
    datadir="$hostdir/data"
    mkdir -p "$datadir/exports"
    cp bot/samples/* "$datadir/exports/"
    chown -R "$APP_USER" "$datadir"
    old=$(bah from --pull-never "$IMAGE")
    containers+=("$old")
    raw=$(bah run --isolation=chroot --user "$APP_USER" -v "$datadir:/srv/data" "$old" -- \
        env DATABASE_PATH=/srv/data/takeaways.db takeaways-bot import /srv/data/exports 2>&1) || true
    new=$(bah from --pull-never "$IMAGE")
    containers+=("$new")
    bah run --isolation=chroot --user 0:0 "$new" -- sh -c \
        "sed -i 's/^__version__ = .*/__version__ = \"$upgraded_version\"/' /opt/venv/lib/python3*/site-packages/bot/__init__.py" >/dev/null
    bah commit --quiet --format docker "$new" "$upgrade_image" >/dev/null
    upgraded=$(bah from --pull-never "$upgrade_image")
    containers+=("$upgraded")
    rc=0
    raw=$(bah run --isolation=chroot --network=host --user "$APP_USER" -v "$datadir:/srv/data" "$upgraded" -- \
        env "PORT=$STANDIN_PORT" "HEALTH_TIMEOUT=$HEALTH_TIMEOUT" "BOT_TOKEN=$STANDIN_TOKEN" \
        DATABASE_PATH=/srv/data/takeaways.db TAKEAWAYS_PATH=/srv/data/exports OUTAGE=0 \
        sh -c "$run_script" 2>&1) || rc=$?
    out=$(grep -v -E '^(subprocess exited with status [0-9]+|Error: exit status [0-9]+)$' <<<"$raw" || true)
    msgs=$(messages)
    if grep -qF "takeaways-bot $upgraded_version starting: database /srv/data/takeaways.db (schema " <<<"$msgs" &&
        grep -qF "16 unchanged" <<<"$msgs" &&
        grep -qF "collection: 16 takeaways from 1 source" <<<"$msgs" &&
        [[ $(result healthy) == yes ]]; then
        pass "upgrade to a changed image keeps the data and logs the new version: $(grep -F 'starting:' <<<"$msgs")"
    else
        fail "upgrade to a changed image: new version in the log, the 16 takeaways kept, healthy"
        show 25
    fi
    # The containers first: an image that still has one cannot be removed.
    bah rm "$old" "$new" "$upgraded" >/dev/null 2>&1 || true
    pod rmi "$upgrade_image" >/dev/null 2>&1 || true
fi
rm -rf "$hostdir"

# --- summary ----------------------------------------------------------------------------
tests_seconds=$(elapsed "$t_tests")
size_mb=$(awk -v b="$size_bytes" 'BEGIN { printf "%.0f", b / 1000000 }')
say "image $IMAGE: ${size_mb} MB on $BASE_IMAGE"
say "time: base ${base_seconds}s, build ${build_seconds}s, checks ${tests_seconds}s, total $(elapsed "$t_start")s"
if ((failures)); then
    echo "image-test: $failures check(s) FAILED"
    exit 1
fi
echo "image-test: all checks passed$( ((pending)) && echo " ($pending pending)")"
