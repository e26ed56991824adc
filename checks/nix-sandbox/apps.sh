# The flake's apps in the sandbox, as `nix run .` and `nix run .#loadtest` give them: PATH holds the
# package's bin/ and nginx only, HOME does not exist, and this script uses nothing but bash's
# builtins and what PATH gives.
set -eu -o pipefail

[ ! -e "$HOME" ] || {
  echo "apps: HOME exists" >&2
  exit 1
}
echo "apps: PATH=$PATH"

echo "+ lblab run --expect round-robin"
lblab run --expect round-robin

echo "+ loadtest --help"
loadtest --help | { read -r first && echo "$first"; }

# A lab kept up, and loadtest against it. The sandbox has a network namespace of its own, so a
# fixed port is free.
echo "+ lblab up --listen 127.0.0.1:8080 &"
coproc UP { exec lblab up --listen 127.0.0.1:8080 2>&1; }
up_pid=$UP_PID
ready=""
while read -r -t 60 -u "${UP[0]}" line; do
  echo "  up: $line"
  case $line in "Switch with"*) ready=1 && break ;; esac
done
[ -n "$ready" ] || {
  echo "apps: lblab up did not come up" >&2
  exit 1
}
echo "+ loadtest http://127.0.0.1:8080/ -n 999 -c 9 --expect round-robin"
rc=0
loadtest http://127.0.0.1:8080/ -n 999 -c 9 --expect round-robin || rc=$?
kill -INT "$up_pid"
wait "$up_pid" || true
[ "$rc" -eq 0 ] || {
  echo "apps: loadtest against the lab failed (exit $rc)" >&2
  exit 1
}
echo "apps: passed"
