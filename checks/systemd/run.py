"""Runs the VM tests of checks/vm.nix under a real systemd: each test's machines as systemd-nspawn
containers on a network of their own, the lab machines with the units the module evaluated to,
and the test's own Python script against machine.Machine. checks/systemd.sh is the entry point.

  python3 run.py SCENARIOS.json BIN_DIR [TEST …]

SCENARIOS.json is checks/eval's `scenarios` (or systemd.sh's stand-in for it); BIN_DIR holds
lblab, lblab-backend and loadtest. Prints a line per test and `systemd: N scenarios passed, M
failed`; exit 0 only when all pass and nothing is left behind."""

from __future__ import annotations

import contextlib
import glob
import io
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from container import Container, cgroup_leftovers, remove_cgroups
from machine import Machine
from network import Network, leftovers as netns_leftovers
from units import haproxy_conf, nginx_conf, unit_file, with_haproxy_service, with_nginx_service

BOOT_TIMEOUT = 30.0

SWITCH_STAND_IN = """#!/bin/sh
# Stand-in for switch-to-configuration of specialisation {name}: it differs from the booted
# configuration in nginx's config only (checks/eval proves the units equal), and for that NixOS,
# with services.nginx.enableReload, puts the new /etc/nginx/nginx.conf in place and reloads nginx.
set -e
case "${{1:-}}" in test | switch) ;; *) echo "usage: switch-to-configuration test|switch" >&2; exit 1 ;; esac
cp /etc/lblab-specialisation/{name}/nginx.conf /etc/nginx/nginx.conf
systemctl reload nginx.service
"""


HAPROXY_SWITCH_STAND_IN = """#!/bin/sh
# Stand-in for switch-to-configuration of specialisation {name}: it differs from the booted
# configuration in HAProxy's config only, and for that NixOS (the module sets reloadIfChanged on
# haproxy.service) puts the new /etc/haproxy.cfg in place and reloads HAProxy.
set -e
case "${{1:-}}" in test | switch) ;; *) echo "usage: switch-to-configuration test|switch" >&2; exit 1 ;; esac
cp /etc/lblab-specialisation/{name}/haproxy.cfg /etc/haproxy.cfg
systemctl reload haproxy.service
"""


class Interrupted(Exception):
    pass


def on_signal(signum: int, _frame: Any) -> None:
    raise Interrupted(signal.Signals(signum).name)


def hosts_file(machines: dict[str, Any]) -> str:
    lines = ["127.0.0.1 localhost", "::1 localhost"]
    for name, m in sorted(machines.items()):
        lines.append(f"192.168.{m['vlans'][0]}.{m['number']} {name}")
    return "\n".join(lines) + "\n"


def install_lab(c: Container, lab: dict[str, Any], specialisations: dict[str, Any], lblab: str) -> None:
    if lab.get("haproxy") is not None:
        install_haproxy_lab(c, lab, specialisations)
        return
    for name, unit in with_nginx_service(lab["units"]).items():
        c.add_unit(name, unit_file(unit), wanted="multi-user.target" in unit.get("wantedBy", []))
    c.add_file("nginx/nginx.conf", nginx_conf(lblab, lab))
    for name, sp in specialisations.items():
        c.add_file(f"lblab-specialisation/{name}/nginx.conf", nginx_conf(lblab, sp))
        c.add_file(f"lblab-specialisation/{name}/switch-to-configuration", SWITCH_STAND_IN.format(name=name), 0o755)


def install_haproxy_lab(c: Container, lab: dict[str, Any], specialisations: dict[str, Any]) -> None:
    for name, unit in with_haproxy_service(lab["units"]).items():
        c.add_unit(name, unit_file(unit), wanted="multi-user.target" in unit.get("wantedBy", []))
    c.add_file("haproxy.cfg", haproxy_conf(lab))
    for name, sp in specialisations.items():
        c.add_file(f"lblab-specialisation/{name}/haproxy.cfg", haproxy_conf(sp))
        c.add_file(f"lblab-specialisation/{name}/switch-to-configuration", HAPROXY_SWITCH_STAND_IN.format(name=name), 0o755)


class Scenario:
    def __init__(self, index: int, name: str, spec: dict[str, Any], bin_dir: Path, lblab: str) -> None:
        self.name = name
        self.spec = spec
        self.bin_dir = bin_dir
        self.workdir = Path(tempfile.mkdtemp(prefix="lblab-systemd-"))
        self.network = Network(str(index))
        self.containers: list[Container] = []
        self.machines: dict[str, Machine] = {}
        self.boot_times: dict[str, float] = {}
        hosts = hosts_file(spec["machines"])
        for mname, m in sorted(spec["machines"].items()):
            ns = self.network.machine(mname, m["number"], m["vlans"])
            c = Container(mname, self.workdir, ns, hosts)
            if m["lab"] is not None:
                install_lab(c, m["lab"], m["specialisations"], lblab)
            self.containers.append(c)
            machine = Machine(mname, c)
            machine.on_start = self._boot
            self.machines[mname] = machine

    def _boot(self, machine: Machine) -> None:
        c = machine.container
        assert c is not None
        if c.process is None:
            c.start(self.bin_dir)
        self.boot_times[machine.name] = c.wait_booted(BOOT_TIMEOUT)
        for name in self.spec["machines"][machine.name]["specialisations"]:
            target = f"/run/booted-system/specialisation/{name}/bin"
            c.run(f"mkdir -p {target} && ln -s /etc/lblab-specialisation/{name}/switch-to-configuration {target}/", 10)

    def start_all(self) -> None:
        # All containers boot at once, as the driver starts all VMs before waiting on any.
        for m in self.machines.values():
            if not m.started and m.container is not None and m.container.process is None:
                m.container.start(self.bin_dir)
        for m in self.machines.values():
            m.start()

    def run(self) -> None:
        namespace: dict[str, Any] = {"start_all": self.start_all, "machines": list(self.machines.values())}
        namespace.update(self.machines)
        exec(compile(self.spec["script"], f"<{self.name} testScript>", "exec"), namespace)

    def close(self) -> None:
        for c in self.containers:
            c.stop()
        self.network.remove()
        remove_cgroups()
        shutil.rmtree(self.workdir, ignore_errors=True)


def leftovers(nspawn_dirs_before: set[str]) -> list[str]:
    found = []
    if subprocess.run(["pgrep", "-x", "systemd-nspawn"], capture_output=True).returncode == 0:
        found.append("a systemd-nspawn process")
    found += cgroup_leftovers()
    found += [d for d in glob.glob("/run/systemd/nspawn*") if d not in nspawn_dirs_before]
    found += [f"network namespace {n}" for n in netns_leftovers()]
    return found


def can_boot(bin_dir: Path, nspawn_dirs_before: set[str]) -> bool:
    """One bare container, booted and stopped: where none can boot, one line says why (instead
    of every test failing the same way)."""
    scenario = Scenario(99, "boot", {"machines": {"probe": {"number": 1, "vlans": [1], "lab": None, "specialisations": {}}}, "script": ""}, bin_dir, "")
    try:
        scenario.start_all()
        print(f"systemd: a container boots in {scenario.boot_times['probe']:.2f} s")
        return True
    except Exception as e:
        print(f"systemd: a container cannot boot here: {e}", file=sys.stderr)
        return False
    finally:
        scenario.close()
        for d in glob.glob("/run/systemd/nspawn*"):
            if d not in nspawn_dirs_before:
                shutil.rmtree(d, ignore_errors=True)


def main() -> int:
    scenarios = json.loads(Path(sys.argv[1]).read_text())
    bin_dir = Path(sys.argv[2]).resolve()
    only = sys.argv[3:]
    unknown = [n for n in only if n not in scenarios]
    if unknown:
        print(f"systemd: no VM test named {', '.join(unknown)} (there are {', '.join(sorted(scenarios))})", file=sys.stderr)
        return 2
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    nspawn_dirs_before = set(glob.glob("/run/systemd/nspawn*"))
    if not can_boot(bin_dir, nspawn_dirs_before):
        return 2
    passed = failed = 0
    whole = time.monotonic()
    interrupted = None
    for index, name in enumerate(sorted(scenarios)):
        if only and name not in only:
            continue
        start = time.monotonic()
        scenario = None
        printed = io.StringIO()
        try:
            scenario = Scenario(index, name, scenarios[name], bin_dir, str(bin_dir / "lblab"))
            with contextlib.redirect_stdout(printed):
                scenario.run()
            ok, why = True, ""
        except Interrupted as e:
            interrupted = str(e)
            ok, why = False, f"interrupted by {e}"
        except Exception as e:  # a failed assertion or command: this scenario fails, the rest run
            ok = False
            frames = [f for f in traceback.extract_tb(e.__traceback__) if f.filename.startswith("<")]
            where = f" (line {frames[-1].lineno} of the script)" if frames else ""
            why = f"{type(e).__name__}{where}: {e}"
        finally:
            if scenario is not None:
                with contextlib.suppress(Interrupted):
                    scenario.close()
        took = time.monotonic() - start
        boots = ""
        if scenario is not None and scenario.boot_times:
            boots = ", boot " + " ".join(f"{m} {t:.2f}s" for m, t in sorted(scenario.boot_times.items()))
        if ok:
            passed += 1
            print(f"PASS {name} ({took:.1f} s{boots})")
        else:
            failed += 1
            print(f"FAIL {name} ({took:.1f} s{boots}): {why}")
        for line in printed.getvalue().strip().splitlines():
            print(f"  {line}")
        sys.stdout.flush()
        if interrupted:
            break
    # nspawn leaves its runtime directories behind; those this run made go.
    for d in glob.glob("/run/systemd/nspawn*"):
        if d not in nspawn_dirs_before:
            shutil.rmtree(d, ignore_errors=True)
    left = leftovers(nspawn_dirs_before)
    if left:
        failed += 1
        print(f"FAIL cleanup: left behind: {', '.join(left)}")
    print(f"systemd: whole run {time.monotonic() - whole:.1f} s")
    print(f"systemd: {passed} scenarios passed, {failed} failed")
    if interrupted:
        return 130
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
