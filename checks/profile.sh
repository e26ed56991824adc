#!/usr/bin/env bash
# Where the client's instructions go, counted by callgrind: repeatable on a noisy machine, unlike
# req/s. Runs `loadtest -t 1 -c 64 -n N` (its lean engine, then --engine reqwest) and `wrk -t1 -c64`
# under callgrind against nginx answering `return 200` itself, and prints instructions per request
# for each and, for the lean engine, the share of the layers a request passes through (inclusive
# counts: a layer includes what it calls); and the same total for
# crates/loadtest/examples/bare_reqwest.rs, reqwest alone in loadtest's loop.
#
#   checks/profile.sh            # N = 20000 (about a minute)
#   N=5000 checks/profile.sh
#
# Needs nginx and valgrind; wrk is optional. Everything listens on 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-20000}
command -v valgrind >/dev/null || { echo "profile: valgrind is required (apt-get install -y valgrind)" >&2; exit 2; }
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || { echo "profile: nginx is required (apt-get install -y nginx)" >&2; exit 2; }
cargo build --release --quiet --bin loadtest --example bare_reqwest
BIN=$PWD/target/release

WORK=$(mktemp -d /tmp/lblab-profile.XXXXXX)
NGINX_PID=""
cleanup() {
  [ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$WORK/nginx.conf" <<EOF
worker_processes 1;
pid $WORK/nginx.pid;
events { worker_connections 1024; }
http {
    access_log off;
    server {
        listen 127.0.0.1:$PORT;
        location / { return 200 "Hello from Server 0!"; }
    }
}
EOF
"$NGINX" -p "$WORK" -c "$WORK/nginx.conf" -e "$WORK/error.log" -g 'daemon off;' &
NGINX_PID=$!
for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.02; done
URL=http://127.0.0.1:$PORT/

valgrind --tool=callgrind --callgrind-out-file="$WORK/loadtest.cg" \
  "$BIN/loadtest" "$URL" -t 1 -c 64 -n "$N" --json >"$WORK/loadtest.json" 2>"$WORK/loadtest.err"
callgrind_annotate --inclusive=yes "$WORK/loadtest.cg" >"$WORK/loadtest.txt" 2>/dev/null
valgrind --tool=callgrind --callgrind-out-file="$WORK/reqwest.cg" \
  "$BIN/loadtest" "$URL" --engine reqwest -t 1 -c 64 -n "$N" --json >/dev/null 2>"$WORK/reqwest.err"
REQWEST_IR=$(awk '/Collected/ {print $4}' "$WORK/reqwest.err")

# The floor: reqwest alone, set up as loadtest sets up its client, in the same loop, nothing else.
valgrind --tool=callgrind --callgrind-out-file="$WORK/bare.cg" \
  "$BIN/examples/bare_reqwest" "$URL" "$N" >"$WORK/bare.out" 2>"$WORK/bare.err"
BARE_IR=$(awk '/Collected/ {print $4}' "$WORK/bare.err")

WRK_REQUESTS="" WRK_IR=""
if command -v wrk >/dev/null; then
  valgrind --tool=callgrind --callgrind-out-file="$WORK/wrk.cg" wrk -t1 -c64 -d3s "$URL" \
    >"$WORK/wrk.out" 2>"$WORK/wrk.err"
  WRK_REQUESTS=$(awk '/requests in/ {print $1}' "$WORK/wrk.out")
  WRK_IR=$(awk '/Collected/ {print $4}' "$WORK/wrk.err")
else
  echo "profile: wrk not installed, its row is left out"
fi

python3 - "$WORK/loadtest.txt" "$WORK/loadtest.json" "$WRK_REQUESTS" "$WRK_IR" "$BARE_IR" "$REQWEST_IR" <<'EOF'
import json, re, sys

text, report, wrk_requests, wrk_ir, bare_ir, reqwest_ir = sys.argv[1:]
requests = json.load(open(report))["requests"]
rows = {}
for line in open(text):
    m = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+(\S.*)$", line)
    if m and not line.lstrip().startswith("=>"):
        rows.setdefault(m.group(2), int(m.group(1).replace(",", "")))

def inclusive(pattern):
    """The largest inclusive count of a function whose name matches (its own entry, not a call)."""
    hits = [n for name, n in rows.items() if re.search(pattern, name) and name.endswith("]")]
    return max(hits, default=0)

total = next(n for name, n in rows.items() if name == "PROGRAM TOTALS")
worker = inclusive(r":loadtest::run::worker::worker::\{\{closure\}\} \[")
send = inclusive(r":loadtest::run::worker::Transport::send::\{\{closure\}\} \[")
parse = inclusive(r":loadtest::http1::response::parse_head \[")
# A renamed function would make its layer read 0: fail, so the layers are renamed with the code.
if not (worker and send and parse):
    sys.exit("profile: the worker, send or parse_head function was not found in callgrind's output; update the names in checks/profile.sh")
layers = [
    ("loadtest's own loop: schedule, attribution, counts, latency", worker - send),
    ("the lean engine: write, read, parse, frame (http1::Conn, inlined into send)", send),
    ("  of which the response head: httparse and the headers lblab reads", parse),
    ("  of which the read loop (tokio's TcpStream::read_buf)", inclusive(r":loadtest::http1::fill::\{\{closure\}\} \[")),
    ("tokio: the runtime, its timers and I/O driver", total - worker),
]
print(f"\nloadtest -t 1 -c 64 -n {requests}: {total:,} instructions, {total // requests:,} per request")
print(f"{'layer':<74} {'per request':>12} {'share':>6}")
for name, n in layers:
    print(f"{name:<74} {n // requests:>12,} {100 * n / total:>5.1f}%")
reqwest = int(reqwest_ir.replace(",", ""))
print(f"\nloadtest --engine reqwest, {requests} requests: {reqwest:,} instructions, {reqwest // requests:,} per request")
bare = int(bare_ir.replace(",", ""))
print(f"reqwest alone (crates/loadtest/examples/bare_reqwest.rs), {requests} requests: "
      f"{bare:,} instructions, {bare // requests:,} per request")
print(f"lean engine / reqwest engine, instructions per request: {total / reqwest:.2f} ×")
if wrk_requests and wrk_ir:
    wr, wi = int(wrk_requests), int(wrk_ir.replace(",", ""))
    print(f"\nwrk -t1 -c64 -d3s: {wr} requests, {wi:,} instructions, {wi // wr:,} per request")
    print(f"loadtest / wrk, instructions per request: {(total / requests) / (wi / wr):.1f} ×")
EOF
