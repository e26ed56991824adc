#!/usr/bin/env bash
# Scale, measured: `lblab run` at c = 1000, 5000, 10000 and 20000, each with 3, 16 and 64 backends —
# wall time (the whole run: lab up, load, teardown), the load's own time, errors, and peak memory:
# the client's (the runner's VmHWM; in `lblab run` the runner is the client), nginx's (master and
# workers, each one's VmHWM summed: an upper bound, shared pages count once per process) and the
# backends' (the largest one, and all summed). Those come from `lblab run --json`'s `peak_rss`, read
# from /proc just before teardown. Then `loadtest -c 64` for 60 s against 5 s, its peak RSS by GNU
# time: memory must not grow with the duration. Prints markdown tables.
#
#   checks/scale.sh            # the full measurement, release build: run it on a quiet machine
#   checks/scale.sh --smoke    # c = 100 with 3 backends, loadtest 1 s against 2 s, debug build:
#                              # proves the script works, measures nothing
#   N=100000 checks/scale.sh   # requests per run (default: 5 x c, at least 50000)
#   SCALE_C="20000" SCALE_BACKENDS="3 64" checks/scale.sh   # some of the rows
#
# Everything listens on 127.0.0.1 only. Needs nginx, python3 and GNU time (/usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/.."

read -r -a CS <<<"${SCALE_C:-1000 5000 10000 20000}"
read -r -a BS <<<"${SCALE_BACKENDS:-3 16 64}"
LONG=60 SHORT=5
PROFILE=release
if [ "${1:-}" = "--smoke" ]; then
  CS=(100) BS=(3) LONG=2 SHORT=1 PROFILE=debug N=${N:-1000}
fi

if [ "$PROFILE" = release ]; then
  cargo build --release --quiet --bin lblab --bin loadtest
else
  cargo build --quiet --bin lblab --bin loadtest
fi
BIN=$PWD/target/$PROFILE
[ -x /usr/bin/time ] || { echo "scale: GNU time is required (apt-get install time)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "scale: python3 is required" >&2; exit 2; }

# Each client connection is a file: give the runner all the open files it may have.
# c=20000 needs more than a common hard limit of 20000; root may raise it.
if [ "$(id -u)" = 0 ] && [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt 65536 ]; then
  ulimit -Hn 65536 2>/dev/null || true
fi
ulimit -n "$(ulimit -Hn)"

WORK=$(mktemp -d /tmp/lblab-scale.XXXXXX)
UP=""
cleanup() {
  if [ -n "$UP" ]; then kill -INT "$UP" 2>/dev/null || true; wait "$UP" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

mib() { python3 -c "import sys; print(f'{int(sys.argv[1])/1024:.1f}')" "$1"; }

echo "lblab run: $(nproc) CPUs, open files $(ulimit -n), $PROFILE build"
echo
echo "| c | backends | requests | wall s | load s | ok | errors | client MiB | nginx MiB (sum) | backend MiB (max / sum) |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for c in "${CS[@]}"; do
  for b in "${BS[@]}"; do
    n=${N:-$(( 5 * c > 50000 ? 5 * c : 50000 ))}
    t0=$(date +%s%N)
    code=0
    "$BIN/lblab" run -b "$b" -c "$c" -n "$n" --json >"$WORK/run.json" 2>"$WORK/run.err" || code=$?
    t1=$(date +%s%N)
    wall=$(python3 -c "import sys; print(f'{(int(sys.argv[2])-int(sys.argv[1]))/1e9:.2f}')" "$t0" "$t1")
    if ! python3 - "$c" "$b" "$n" "$wall" "$WORK/run.json" <<'EOF'
import json, sys
c, b, n, wall, path = sys.argv[1:]
try:
    v = json.load(open(path))
except (OSError, ValueError):
    sys.exit(1)
m = v["peak_rss"]
mib = lambda k: f"{k / 1024:.1f}"
bk = m["backends_kib"]
errors = v["errors"]
if v["errors_by_kind"]:
    errors = f"{errors} {json.dumps(v['errors_by_kind'])}"
print(f"| {c} | {b} | {n} | {wall} | {v['elapsed_s']:.2f} | {v['ok']} | {errors} | "
      f"{mib(m['runner_kib'] or 0)} | {mib(sum(m['nginx_kib']))} | "
      f"{mib(max(bk, default=0))} / {mib(sum(bk))} |")
EOF
    then
      why=$(head -n 1 "$WORK/run.err" | tr '|' '/')
      echo "| $c | $b | $n | $wall | - | - | failed (exit $code): $why | - | - | - |"
    fi
  done
done

# loadtest alone against a lab kept up: the same flags, two durations.
echo
"$BIN/lblab" up --state-dir "$WORK/state" >"$WORK/up.out" 2>&1 &
UP=$!
for _ in $(seq 300); do
  "$BIN/lblab" status --json --state-dir "$WORK/state" >"$WORK/status.json" 2>/dev/null && break
  kill -0 "$UP" 2>/dev/null || { echo "scale: lblab up failed: $(cat "$WORK/up.out")" >&2; exit 1; }
  sleep 0.1
done
url=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"])' "$WORK/status.json")
echo "| loadtest -c 64 | requests | errors | peak RSS MiB |"
echo "| --- | ---: | ---: | ---: |"
for d in "$SHORT" "$LONG"; do
  /usr/bin/time -f %M -o "$WORK/time" "$BIN/loadtest" "$url" -c 64 -d "${d}s" --json >"$WORK/lt.json"
  python3 - "$d" "$(mib "$(tail -n 1 "$WORK/time")")" "$WORK/lt.json" <<'EOF'
import json, sys
d, rss, path = sys.argv[1:]
v = json.load(open(path))
print(f"| -d {d}s | {v['requests']} | {v['errors']} | {rss} |")
EOF
done
