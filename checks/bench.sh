#!/usr/bin/env bash
# The speed benchmark: loadtest (its lean engine, and --engine reqwest) against wrk, oha, hey and ab
# (where installed) and against reqwest alone (crates/loadtest/examples/bare_reqwest.rs) on the same
# nginx `return 200` target; the same clients through a running lab (`lblab up`: 3 backends behind
# nginx); bursts of 1000 and 10 000 connections; lblab-backend against that nginx on one core
# each; and the whole `lblab run`.
# Pairs run alternately, ROUNDS times; the table gives medians and ratios. Absolute numbers on a shared
# machine drift from minute to minute: only the ratios from one run of this script mean anything.
#
#   checks/bench.sh            # 5 rounds, 5 s runs (about 5 minutes)
#   checks/bench.sh --smoke    # 1 round, 1 s runs: proves the script still works, judges nothing
#   ROUNDS=9 SECS=10 checks/bench.sh
#
# Everything listens on 127.0.0.1 only. Needs nginx; wrk, oha, hey, ab, taskset and GNU time are used
# when present and reported missing otherwise. oha, where it is not on PATH, is taken from
# ~/.cache/lblab/oha, and installed there (`cargo install oha --locked`, about 8 minutes) by a run
# that is not --smoke.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-5}
SECS=${SECS:-5}
BURST=${BURST:-1000}
if [ "${1:-}" = "--smoke" ]; then ROUNDS=1 SECS=1; fi

cargo build --release --quiet --bins --example bare_reqwest
BIN=$PWD/target/release
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || { echo "bench: nginx is required (apt-get install -y nginx)" >&2; exit 2; }

WORK=$(mktemp -d /tmp/lblab-bench.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

missing=()
have() { command -v "$1" >/dev/null 2>&1 || { missing+=("$1"); return 1; }; }
TIME=/usr/bin/time
[ -x "$TIME" ] || { missing+=("GNU time (apt-get install time)"); TIME=""; }
PIN0="" PIN1=""
if have taskset; then PIN0="taskset -c 0" PIN1="taskset -c 1"; fi

OHA=$(command -v oha || echo "${XDG_CACHE_HOME:-$HOME/.cache}/lblab/oha/bin/oha")
if [ ! -x "$OHA" ] && [ "${1:-}" != "--smoke" ] && command -v cargo >/dev/null; then
  echo "bench: installing oha into $(dirname "$(dirname "$OHA")") (cargo install oha --locked, about 8 minutes)"
  cargo install --quiet oha --locked --root "$(dirname "$(dirname "$OHA")")" >"$WORK/oha-install.log" 2>&1 ||
    echo "bench: oha could not be installed ($(tail -1 "$WORK/oha-install.log")); its rows are left out"
fi
have_oha() { [ -x "$OHA" ] || { missing+=("oha (checks/bench.sh without --smoke installs it)"); return 1; }; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.02; done; echo "bench: nothing listens on $1" >&2; exit 1; }

# nginx answering `return 200` itself with one worker: the ceiling every client is measured against.
NGINX_PORT=$(free_port)
mkdir -p "$WORK/nginx"
cat >"$WORK/nginx/nginx.conf" <<EOF
worker_processes 1;
worker_cpu_affinity 10;
worker_rlimit_nofile 24000;
pid $WORK/nginx/nginx.pid;
events { worker_connections 12000; }
http {
    access_log off;
    server {
        listen 127.0.0.1:$NGINX_PORT backlog=4096;
        location / { return 200 "Hello from Server 0!"; }
    }
}
EOF
[ -n "$PIN1" ] || sed -i '/worker_cpu_affinity/d' "$WORK/nginx/nginx.conf"
"$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/error.log" -g 'daemon off;' &
PIDS+=($!)
wait_port "$NGINX_PORT"
URL=http://127.0.0.1:$NGINX_PORT/

# Each function prints one number.
# One sending thread, as wrk -t1: each client gets core 0 to itself, nginx gets core 1.
# The req/s in loadtest's --json report, and in wrk's text.
parse_loadtest_rps() { python3 -c 'import json,sys; print(round(json.load(sys.stdin)["rps"]))'; }
parse_wrk_rps() { awk '/Requests\/sec/ {print int($2)}'; }
rps_loadtest() { $PIN0 "$BIN/loadtest" "$1" -t 1 -c 64 -d "${SECS}s" --json | parse_loadtest_rps; }
rps_loadtest_reqwest() { $PIN0 "$BIN/loadtest" "$1" --engine reqwest -t 1 -c 64 -d "${SECS}s" --json | parse_loadtest_rps; }
# reqwest alone in loadtest's loop (crates/loadtest/examples/bare_reqwest.rs): the floor under loadtest.
rps_reqwest() { $PIN0 "$BIN/examples/bare_reqwest" "$1" "${SECS}s" 64 | awk '{print int($(NF-1))}'; }
rps_wrk() { $PIN0 wrk -t1 -c64 -d"${SECS}s" "$1" | parse_wrk_rps; }
# The issue's literal pair: loadtest as a user runs it (one thread per CPU) against wrk -t1, no pinning.
rps_loadtest_free() { "$BIN/loadtest" "$1" -c 64 -d "${SECS}s" --json | parse_loadtest_rps; }
rps_wrk_free() { wrk -t1 -c64 -d"${SECS}s" "$1" | parse_wrk_rps; }
rps_oha() { $PIN0 "$OHA" -z "${SECS}s" -c 64 --no-tui --output-format json "$1" | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["summary"]["requestsPerSec"]))'; }
rps_hey() { $PIN0 hey -z "${SECS}s" -c 64 "$1" | awk '/Requests\/sec/ {print int($2)}'; }
rps_ab() { $PIN0 ab -k -q -c 64 -t "$SECS" -n 100000000 "$1" 2>/dev/null | awk '/Requests per second/ {print int($4)}'; }
# Wall seconds and peak RSS (KB) of a command, "S KB".
# GNU time's %e has 10 ms steps, too coarse for a 0.1 s run: the wall time is taken around it.
wall_rss() {
  local t0 t1
  t0=$(date +%s%N)
  $TIME -f '%M' -o "$WORK/time" "$@" >/dev/null 2>&1
  t1=$(date +%s%N)
  echo "$(awk -v ns=$((t1 - t0)) 'BEGIN {printf "%.4f", ns / 1e9}') $(cat "$WORK/time")"
}
burst_loadtest() { wall_rss "$BIN/loadtest" "$URL" -n "$BURST" -c "$BURST"; }
burst_loadtest_10k() { wall_rss "$BIN/loadtest" "$URL" -n 10000 -c 10000; }
# Through the lab, as a user measures it: every client unpinned, sharing both cores with nginx and
# the backends; wrk and oha with a thread per core, as loadtest has by default.
lab_loadtest() { "$BIN/loadtest" "$LAB_URL" -c 64 -d "${SECS}s" --json | parse_loadtest_rps; }
lab_wrk() { wrk -t2 -c64 -d"${SECS}s" "$LAB_URL" | parse_wrk_rps; }
lab_oha() { "$OHA" -z "${SECS}s" -c 64 --no-tui --output-format json "$LAB_URL" | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["summary"]["requestsPerSec"]))'; }
burst_ab() { wall_rss ab -q -n "$BURST" -c "$BURST" "$URL"; }
lab_run() { wall_rss "$BIN/lblab" run -n "$BURST" -c "$BURST"; }

median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) {print "-"} else if (NR%2) {print a[(NR+1)/2]} else {print (a[NR/2]+a[NR/2+1])/2}}'; }
ratio() { python3 -c "import sys; a,b=sys.argv[1:]; print('-' if '-' in (a,b) or float(b)==0 else f'{float(a)/float(b):.2f}')" "$1" "$2"; }

declare -A R
record() { R[$1]="${R[$1]:-} $2"; }
med() { tr ' ' '\n' <<<"${R[$1]:-}" | grep -v '^$' | median; }

echo "bench: $ROUNDS rounds of ${SECS}s, target nginx $("$NGINX" -v 2>&1 | sed 's/.*\///') return 200 (1 worker) on $URL"
tools=(loadtest loadtest_reqwest)
have wrk && tools+=(wrk)
have_oha && tools+=(oha)
have hey && tools+=(hey)
have ab && tools+=(ab)

# The backend alone on core 1 (one runtime thread) against nginx alone on core 1, wrk on core 0.
BACKEND_PORT=$(free_port)
$PIN1 "$BIN/lblab-backend" --id 1 --threads 1 --listen "127.0.0.1:$BACKEND_PORT" >/dev/null &
BACKEND_PID=$!
PIDS+=("$BACKEND_PID")
wait_port "$BACKEND_PORT"
sleep 0.3
BACKEND_IDLE_KB=$(awk '/VmRSS/ {print $2}' "/proc/$BACKEND_PID/status")

# A lab that stays up for the lab rows: 3 backends behind nginx, round-robin.
LAB_PORT=$(free_port)
"$BIN/lblab" up --listen "127.0.0.1:$LAB_PORT" --state-dir "$WORK/state" >"$WORK/up.log" 2>&1 &
PIDS+=($!)
wait_port "$LAB_PORT"
LAB_URL=http://127.0.0.1:$LAB_PORT/
lab_tools=(loadtest)
have wrk && lab_tools+=(wrk)
[ -x "$OHA" ] && lab_tools+=(oha)

for round in $(seq "$ROUNDS"); do
  for t in "${tools[@]}"; do record "rps_$t" "$(rps_"$t" "$URL")"; done
  record rps_reqwest "$(rps_reqwest "$URL")"
  if have wrk; then
    record rps_loadtest_free "$(rps_loadtest_free "$URL")"
    record rps_wrk_free "$(rps_wrk_free "$URL")"
  fi
  if [ -n "$TIME" ]; then
    # A burst lasts about 0.1 s: three alternating pairs per round.
    for _ in 1 2 3; do
      read -r s kb < <(burst_loadtest); record burst_loadtest "$s"; record rss_loadtest "$kb"
      if have ab; then read -r s kb < <(burst_ab); record burst_ab "$s"; record rss_ab "$kb"; fi
    done
    read -r s kb < <(burst_loadtest_10k); record burst_10k "$s"; record rss_10k "$kb"
    read -r s _ < <(lab_run); record lab_run "$s"
  fi
  for t in "${lab_tools[@]}"; do record "lab_$t" "$(lab_"$t")"; done
  if have wrk; then
    record backend_nginx "$(rps_wrk "$URL")"
    record backend_lblab "$(rps_wrk "http://127.0.0.1:$BACKEND_PORT/")"
  fi
  echo "bench: round $round of $ROUNDS done"
done

wrk_rps=$(med rps_wrk)
printf '\n%-52s %12s %8s\n' "measure (median of $ROUNDS; bursts: of $((ROUNDS * 3)))" "value" "ratio"
for t in "${tools[@]}"; do
  printf '%-52s %12s %8s\n' "${t/_reqwest/ --engine reqwest}, 64 connections, ${SECS}s, core 0, req/s" "$(med "rps_$t")" "$(ratio "$(med "rps_$t")" "$wrk_rps") × wrk"
done
[ -x "$OHA" ] && printf '%-52s %12s\n' "loadtest / oha, core 0" "$(ratio "$(med rps_loadtest)" "$(med rps_oha)")"
printf '%-52s %12s %8s\n' "reqwest alone (bare_reqwest), 64 tasks, core 0, req/s" "$(med rps_reqwest)" "$(ratio "$(med rps_reqwest)" "$wrk_rps") × wrk"
printf '%-52s %12s\n' "loadtest --engine reqwest / reqwest alone, core 0" "$(ratio "$(med rps_loadtest_reqwest)" "$(med rps_reqwest)")"
for t in "${lab_tools[@]}"; do
  printf '%-52s %12s %8s\n' "lab: $t -c 64 via lblab up (3 backends), req/s" "$(med "lab_$t")" "$(ratio "$(med "lab_$t")" "$(med lab_wrk)") × wrk"
done
if have wrk; then
  printf '%-52s %12s %8s\n' "loadtest -c 64 (one thread per CPU), unpinned, req/s" "$(med rps_loadtest_free)" "$(ratio "$(med rps_loadtest_free)" "$(med rps_wrk_free)") × wrk"
  printf '%-52s %12s\n' "wrk -t1 -c64, unpinned, req/s" "$(med rps_wrk_free)"
fi
if [ -n "$TIME" ]; then
  printf '%-52s %12s %8s\n' "loadtest -n $BURST -c $BURST, wall s" "$(med burst_loadtest)" "$(ratio "$(med burst_loadtest)" "$(med burst_ab)") × ab"
  printf '%-52s %12s\n' "ab -n $BURST -c $BURST, wall s" "$(med burst_ab)"
  printf '%-52s %12s %8s\n' "loadtest -c $BURST peak RSS, KB" "$(med rss_loadtest)" "$(ratio "$(med rss_loadtest)" "$(med rss_ab)") × ab"
  printf '%-52s %12s\n' "ab -c $BURST peak RSS, KB" "$(med rss_ab)"
  printf '%-52s %12s\n' "loadtest -n 10000 -c 10000, wall s" "$(med burst_10k)"
  printf '%-52s %12s\n' "loadtest -c 10000 peak RSS, KB" "$(med rss_10k)"
  printf '%-52s %12s\n' "lblab run (3 backends + nginx, $BURST at c=$BURST), wall s" "$(med lab_run)"
fi
if have wrk; then
  printf '%-52s %12s %8s\n' "lblab-backend, 1 core, under wrk -c64, req/s" "$(med backend_lblab)" "$(ratio "$(med backend_lblab)" "$(med backend_nginx)") × nginx"
  printf '%-52s %12s\n' "nginx return 200, 1 core, under wrk -c64, req/s" "$(med backend_nginx)"
fi
printf '%-52s %12s\n' "lblab-backend idle RSS, KB" "$BACKEND_IDLE_KB"
if [ "${#missing[@]}" -gt 0 ]; then
  echo "missing (their rows are left out): $(printf '%s\n' "${missing[@]}" | sort -u | paste -sd, -)"
fi
