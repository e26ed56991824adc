#!/usr/bin/env bash
# The VM tests of checks/vm.nix under a real systemd, on this machine: each test's machines are
# systemd-nspawn containers (a tmpfs root with this host's /usr) joined by a network of their own,
# the lab machines run the units nixos/module.nix evaluates to, and each test's own Python script
# runs against checks/systemd/machine.py, a stand-in for the NixOS test driver's Machine.
#
#   sudo bash checks/systemd.sh [VM-TEST …]        e.g. bash checks/systemd.sh vm-switch
#
# Needs root, systemd-nspawn (Debian: systemd-container, installed when missing), python3,
# nix-instantiate (nix-bin), and nixpkgs' lib to evaluate the module (NIXPKGS_LIB, or
# ~/.cache/lblab/nixpkgs.lib; see checks/nixpkgs-lib.sh); without the lib, it says so and renders
# the same units from nixos/backend-unit.json (checks/systemd/fallback.py). LBLAB_BIN_DIR names a directory with the lblab binaries; by default they
# are built (cargo build). Prints a line per test and `systemd: N scenarios passed, M failed`.
set -euo pipefail
cd "$(dirname "$0")/.."

die() {
  echo "systemd: $*" >&2
  exit 2
}

[ "$(id -u)" = 0 ] || die "needs root (containers and network namespaces); run it as root"
if ! command -v systemd-nspawn >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  echo "systemd: installing systemd-container"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd-container >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd-container >/dev/null 2>&1; } || true
fi
command -v systemd-nspawn >/dev/null 2>&1 || die "no systemd-nspawn (Debian: apt-get install systemd-container)"
command -v ip >/dev/null 2>&1 || die "no ip (Debian: apt-get install iproute2)"
command -v python3 >/dev/null 2>&1 || die "no python3"
command -v nix-instantiate >/dev/null 2>&1 || die "no nix-instantiate to evaluate the module (Debian: apt-get install nix-bin)"
# shellcheck source=checks/nixpkgs-lib.sh
. checks/nixpkgs-lib.sh

tmp=$(mktemp -d /tmp/lblab-systemd-run.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

if [ -n "${LBLAB_BIN_DIR:-}" ]; then
  bin=$LBLAB_BIN_DIR
else
  cargo build -q --bins
  bin=target/debug
fi
mkdir "$tmp/bin"
for b in lblab lblab-backend loadtest; do
  [ -x "$bin/$b" ] || die "$bin/$b does not exist (cargo build, or set LBLAB_BIN_DIR)"
  cp "$bin/$b" "$tmp/bin/"
done

if find_nixpkgs_lib; then
  nix-instantiate --eval --strict --json checks/eval -A scenarios \
    --arg lib "import $NIXPKGS_LIB/lib" >"$tmp/scenarios.json" 2>"$tmp/err" ||
    die "the module's evaluation failed: $(head -c 600 "$tmp/err")"
else
  # checks/nix-eval.sh proves, where the lib exists, that this renders the module's own units.
  echo "systemd: $nixpkgs_lib_missing; the units are rendered from nixos/backend-unit.json (checks/systemd/fallback.py) instead of the module's evaluation"
  nix-instantiate --eval --strict --json checks/systemd/fallback.nix >"$tmp/fallback.json" 2>"$tmp/err" ||
    die "checks/systemd/fallback.nix did not evaluate: $(head -c 600 "$tmp/err")"
  (cd checks/systemd && python3 fallback.py "$tmp/fallback.json" "$tmp/bin/lblab") >"$tmp/scenarios.json"
fi

cd checks/systemd
python3 run.py "$tmp/scenarios.json" "$tmp/bin" "$@"
