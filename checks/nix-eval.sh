#!/usr/bin/env bash
# The Nix checks that run without a Nix that builds (only nix-instantiate is needed):
#   1. every .nix file of the repository parses (nix-instantiate --parse);
#   2. checks/eval: nixos/module.nix evaluated with nixpkgs' lib.evalModules and stand-in
#      declarations of the NixOS options it sets, for many configurations; the flake's outputs,
#      flake.lock and the VM tests' nodes evaluated with stand-ins;
#   3. the module's upstream block, as nixpkgs' nginx module renders it, against
#      `$LBLAB nginx-config --upstream-only` for the same settings;
#   4. invalid settings fail, with a message naming the option;
#   5. the VM tests' Python passes pyflakes and mypy, as the NixOS test driver requires.
#
#   LBLAB=target/debug/lblab NIXPKGS_LIB=/path/to/nixpkgs.lib bash checks/nix-eval.sh
#
# NIXPKGS_LIB is a directory with nixpkgs' lib/ in it (a nixpkgs or nix-community/nixpkgs.lib
# checkout); without it ~/.cache/lblab/nixpkgs.lib is used (checks/nixpkgs-lib.sh). Where there
# is none, steps 2-5 are skipped, saying so in one line.
set -euo pipefail
cd "$(dirname "$0")/.."

LBLAB=${LBLAB:-target/debug/lblab}
passed=0
failed=0
pass() {
  passed=$((passed + 1))
  echo "PASS $*"
}
fail() {
  failed=$((failed + 1))
  echo "FAIL $*"
}
finish() {
  echo "nix-eval: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit
}

if ! command -v nix-instantiate >/dev/null 2>&1; then
  echo "nix-eval: nix-instantiate not found (Debian: apt-get install nix-bin)" >&2
  exit 2
fi

# 1. Parse every .nix file git knows of (tracked, or new and not ignored).
nix_files=()
while IFS= read -r -d '' file; do
  [ -f "$file" ] && nix_files+=("$file")
done < <(
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files -z --cached --others --exclude-standard -- '*.nix'
  else
    find . -name '*.nix' -not -path './target/*' -print0
  fi
)
for file in "${nix_files[@]}"; do
  if err=$(nix-instantiate --parse "$file" 2>&1 >/dev/null); then
    pass "parse $file"
  else
    fail "parse $file: $err"
  fi
done

# The RFC 166 style, where nixfmt 1.x is installed (the flake's checks.nixfmt runs it where Nix
# builds; nixpkgs and Debian have no nixfmt to install here).
nixfmt=${NIXFMT:-nixfmt}
if "$nixfmt" --version 2>/dev/null | grep -q '^nixfmt 1\.'; then
  if err=$("$nixfmt" --check "${nix_files[@]}" 2>&1); then
    pass "$("$nixfmt" --version) --check on ${#nix_files[@]} files"
  else
    fail "nixfmt --check: $err"
  fi
else
  echo "nix-eval: nixfmt check skipped: no nixfmt 1.x on PATH (set NIXFMT; nix fmt formats)"
fi

# 2. Find nixpkgs' lib.
tmp=$(mktemp -d /tmp/nix-eval.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=checks/nixpkgs-lib.sh
. checks/nixpkgs-lib.sh
if ! find_nixpkgs_lib; then
  echo "nix-eval: eval harness skipped: $nixpkgs_lib_missing"
  finish
fi
lib_dir=$NIXPKGS_LIB

eval_harness() {
  # nix-instantiate --eval on checks/eval with nixpkgs' lib; extra arguments are passed on.
  nix-instantiate --eval --strict --json checks/eval --arg lib "import $lib_dir/lib" "$@"
}
# A JSON string from nix-instantiate --json, as plain text (the harness's strings have no tabs or
# backslashes of their own).
json_string() {
  sed -e 's/^"//' -e 's/"$//' -e 's/\\n/\n/g' -e 's/\\"/"/g' -e 's/\\\$/$/g' -e 's/\\\\/\\/g'
}
report_lines() {
  local line
  while IFS= read -r line; do
    case $line in
      PASS\ *) pass "${line#PASS }" ;;
      FAIL\ *) fail "${line#FAIL }" ;;
      '') ;;
      *) echo "  $line" ;;
    esac
  done
}

# 2. The harness's own checks.
if ! out=$(eval_harness -A report 2>"$tmp/err"); then
  fail "checks/eval report did not evaluate:"
  sed 's/^/  /' "$tmp/err"
  finish
fi
report_lines < <(printf '%s' "$out" | json_string)

# 3. The upstream block against lblab's own renderer.
if [ -x "$LBLAB" ]; then
  for case in $(eval_harness -A upstreamCaseNames | json_string); do
    args=$(eval_harness -A "argv.$case" | json_string)
    eval "set -- $args"
    if ! "$LBLAB" nginx-config --upstream-only "$@" >"$tmp/rust" 2>"$tmp/err"; then
      fail "upstream $case: $LBLAB nginx-config --upstream-only $args failed: $(cat "$tmp/err")"
      continue
    fi
    if out=$(eval_harness -A "compare.$case" --argstr rust "$(cat "$tmp/rust")" 2>"$tmp/err"); then
      report_lines < <(printf '%s' "$out" | json_string)
    else
      fail "upstream $case: $(cat "$tmp/err")"
    fi
  done
  # HAProxy's config (services.lblab.proxy = "haproxy") against lblab haproxy-config, from
  # haproxy/haproxy.cfg's first line on (before it each has its own global section).
  marker=$(head -1 haproxy/haproxy.cfg)
  for case in $(eval_harness -A haproxyCaseNames | json_string); do
    args=$(eval_harness -A "haproxyArgv.$case" | json_string)
    eval "set -- $args"
    if ! "$LBLAB" haproxy-config "$@" >"$tmp/rust-ha-full" 2>"$tmp/err"; then
      fail "haproxy $case: $LBLAB haproxy-config $args failed: $(cat "$tmp/err")"
      continue
    fi
    awk -v m="$marker" '$0 == m {on=1} on' "$tmp/rust-ha-full" >"$tmp/rust-ha"
    { eval_harness -A "haproxyText.$case" | json_string; } >"$tmp/nix-ha"
    if [ -s "$tmp/rust-ha" ] && diff -u "$tmp/rust-ha" "$tmp/nix-ha" >"$tmp/diff"; then
      pass "haproxy $case: the module's HAProxy config = lblab haproxy-config ($(grep -c . "$tmp/rust-ha") lines)"
    else
      fail "haproxy $case differs (--- lblab, +++ module):"
      sed 's/^/  /' "$tmp/diff"
    fi
  done
  # The location block: nginx/lblab.conf's directives as lblab renders them, the module's as nixpkgs
  # gets them (both from nginx/proxy.json), in the same order, for each of the harness's cases.
  for case in $(eval_harness -A locationCaseNames | json_string); do
    args=$(eval_harness -A "locationArgv.$case" | json_string)
    eval "set -- $args"
    "$LBLAB" nginx-config "$@" >"$tmp/full"
    awk '/location \/ \{/ {on=1; next} on && /^ *\}/ {exit} on' "$tmp/full" |
      sed -e 's/#.*//' -e 's/^ *//' -e 's/ *$//' | grep -v '^$' >"$tmp/rust-location"
    { eval_harness -A "locationLines.$case" | json_string; echo; } >"$tmp/nix-location"
    if diff -u "$tmp/rust-location" "$tmp/nix-location" >"$tmp/diff"; then
      pass "location block $case: module = lblab nginx-config ($(wc -l <"$tmp/rust-location") directives)"
    else
      fail "location block $case differs (--- lblab, +++ module):"
      sed 's/^/  /' "$tmp/diff"
    fi
  done
  "$LBLAB" nginx-config >"$tmp/full"
  awk '/location = \/favicon.ico \{/ {on=1; next} on && /^ *\}/ {exit} on' "$tmp/full" |
    sed -e 's/#.*//' -e 's/^ *//' -e 's/ *$//' | grep -v '^$' >"$tmp/rust-favicon"
  { eval_harness -A faviconLines | json_string; echo; } >"$tmp/nix-favicon"
  if [ -s "$tmp/rust-favicon" ] && diff -u "$tmp/rust-favicon" "$tmp/nix-favicon" >"$tmp/diff"; then
    pass "favicon location: module = lblab nginx-config ($(cat "$tmp/rust-favicon"))"
  else
    fail "favicon location differs (--- lblab, +++ module):"
    sed 's/^/  /' "$tmp/diff"
  fi
else
  echo "nix-eval: upstream comparison skipped: $LBLAB does not exist yet (cargo build --bin lblab)"
fi

# The units checks/systemd.sh renders where no nixpkgs lib is at hand, against the module's own.
if [ -x "$LBLAB" ]; then
  eval_harness -A scenarios >"$tmp/module-scenarios.json"
  nix-instantiate --eval --strict --json checks/systemd/fallback.nix >"$tmp/fallback.json"
  (cd checks/systemd && python3 fallback.py "$tmp/fallback.json" "$OLDPWD/$LBLAB") >"$tmp/fallback-scenarios.json"
  report_lines < <(python3 checks/systemd/same_as_module.py "$tmp/module-scenarios.json" "$tmp/fallback-scenarios.json")
fi

# 4. Invalid settings must fail, naming the option.
while IFS='|' read -r name expects; do
  [ -n "$name" ] || continue
  if eval_harness -A "force.$name" >/dev/null 2>"$tmp/err"; then
    fail "invalid $name: evaluated without an error"
    continue
  fi
  missing=
  IFS='|' read -r -a wanted <<<"$expects"
  for want in "${wanted[@]}"; do
    grep -qF -- "$want" "$tmp/err" || missing="$missing '$want'"
  done
  if [ -z "$missing" ]; then
    pass "invalid $name fails: $(grep -m1 -F -- "${wanted[0]}" "$tmp/err" | sed 's/^[ -]*//' | cut -c1-110)"
  else
    fail "invalid $name: the error does not say$missing:"
    sed 's/^/  /' "$tmp/err" | tail -5
  fi
done < <(eval_harness -A invalidCases | json_string)

# 5. The VM tests' Python as the test driver's build checks it (nixos/lib/testing/driver.nix): pyflakes
# with the machine names and the driver's globals as builtins, and mypy --no-implicit-optional on
# the script after type declarations of those globals. Here they are declared with
# checks/systemd/machine.py's Machine, the stand-in that checks/systemd.sh runs the scripts with.
eval_harness -A testScripts >"$tmp/scripts.json"
eval_harness -A testMachines >"$tmp/machines.json"
if python3 -m pyflakes --version >/dev/null 2>&1 && python3 -m mypy --version >/dev/null 2>&1; then
  report_lines < <(python3 - "$tmp" <<'PY'

import json, os, subprocess, sys

tmp = sys.argv[1]
scripts = json.load(open(f"{tmp}/scripts.json"))
machines = json.load(open(f"{tmp}/machines.json"))
driver_globals = ["start_all", "machines", "subtest", "retry", "driver", "log", "join_all"]
for name in sorted(scripts):
    path = f"{tmp}/{name}.py"
    with open(path, "w") as f:
        f.write(scripts[name])
    env = dict(os.environ, PYFLAKES_BUILTINS=",".join(machines[name] + driver_globals))
    flakes = subprocess.run([sys.executable, "-m", "pyflakes", path], capture_output=True, text=True, env=env)
    if flakes.returncode == 0:
        print(f"PASS {name}: pyflakes clean")
    else:
        print(f"FAIL {name}: pyflakes: " + (flakes.stdout + flakes.stderr).replace(path, "script").strip())
    typed = f"{tmp}/{name}_typed.py"
    with open(typed, "w") as f:
        f.write("from typing import Callable, List\nfrom machine import Machine\n")
        f.write("start_all: Callable[[], None]\nmachines: List[Machine]\n")
        f.write("".join(f"{m}: Machine\n" for m in machines[name]))
        f.write(scripts[name])
    env = dict(os.environ, MYPYPATH="checks/systemd")
    mypy = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-implicit-optional", "--no-error-summary",
         "--cache-dir", f"{tmp}/mypy-cache", typed],
        capture_output=True, text=True, env=env,
    )
    if mypy.returncode == 0:
        print(f"PASS {name}: mypy --no-implicit-optional clean")
    else:
        print(f"FAIL {name}: mypy: " + (mypy.stdout + mypy.stderr).replace(typed, "script").strip())
PY
  )
else
  echo "nix-eval: VM test script lint skipped: no pyflakes and mypy (python3 -m pip install pyflakes mypy)"
fi

finish
