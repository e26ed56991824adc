//! The examples and exit statuses under each command's --help.

// The first example is the one people copy: at -c 100 least-conn's advantage over a slow backend
// holds even on a busy machine, where at the default -c 1000 it failed 11 runs of 16.
pub const RUN_HELP: &str = "Examples:
  lblab run --method least-conn --delay 1=50 -c 100 -n 2000 --expect max-share:1=15%
  lblab run -b 5 --weights 1,1,1,1,4 -n 8000 --expect round-robin:1,1,1,1,4
  lblab run -d 5s -c 50 --fault kill:2@1s --json

Exit status: 0 every expectation held and the backends' counts agree with the client's;
1 an expectation or that agreement failed; 2 bad input or the lab could not start;
128+N stopped by signal N (130 Ctrl-C, 129 hang-up, 143 SIGTERM).";

pub const COMPARE_HELP: &str = "Scenarios: even (default), slow-backend (backend 1 delayed 50 ms unless --delay),
many-clients (100 client networks unless --source-ip), keys (-H 'X-Key: k{n%100}', hash on it),
lose-backend (keys and clients; then the last backend marked down, then removed: the keys that moved).

Examples:
  lblab compare
  lblab compare --scenario slow-backend -n 2000 -c 100 --html report.html
  lblab compare --scenario lose-backend --json
  lblab compare --scenario spread -b 10 -n 2000 -c 100
  lblab compare --methods round-robin,hash-consistent --scenario keys --svg shares.svg

Exit status: 0 every run passed its expectations and the backends' counts agree with the client's;
1 one did not; 2 bad input, the lab could not start, or a run failed (the lab is stopped);
128+N stopped by signal N.";

pub const UP_HELP: &str = "Examples:
  lblab up                                   # 3 backends, round-robin, a free port on 127.0.0.1
  lblab up --listen 127.0.0.1:8080 --method hash --hash-key '$http_x_key'
  lblab up -b 5 --state-dir ./lab            # a second lab beside the first
  lblab up --dashboard                       # and a live page; open the URL it prints

Exit status: 0 stopped by Ctrl-C, SIGTERM or hang-up; 1 nginx or a backend died, and the lab was
stopped; 2 bad input, an unsafe or read-only state directory, a lab already up with it, or the lab
could not start.";

pub const SWITCH_HELP: &str = "What is not given keeps its current value.

Examples:
  lblab switch --method ip-hash
  lblab switch --weights 1,2,3               # same method, new weights
  lblab switch --method hash --hash-key '$http_x_key' --consistent --weights none

Exit status: 0 nginx reloaded with the new config, or nothing to change (no reload); 1 nginx did
not confirm the reload within 10 s (the new config is in place and recorded; nginx runs it once it
reloads); 2 no lab is up, bad input, or nginx rejected the config (the lab is left as it was).";

pub const STATUS_HELP: &str = "Examples:
  lblab status
  lblab status --json
  lblab status --state-dir ./lab

Exit status: 0 a lab is up and its nginx runs; 2 no lab is up, or the one recorded is broken or
not believed.";

pub const NGINX_CONFIG_HELP: &str = "Examples:
  lblab nginx-config > nginx.conf
  lblab nginx-config --method least-conn --upstream-only
  lblab nginx-config -b 5 --base-port 9001 --prefix /srv/lblab

Exit status: 0 printed; 2 bad input.";

pub const HAPROXY_CONFIG_HELP: &str = "Examples:
  lblab haproxy-config > haproxy.cfg
  lblab haproxy-config --method leastconn --upstream-only
  lblab haproxy-config --method 'hdr(X-Key)' --consistent --hash-balance-factor 150
  lblab haproxy-config --method first --maxconn 10 -b 5 --base-port 9001

Exit status: 0 printed; 2 bad input.";
