"""One machine: a systemd booted by systemd-nspawn on a tmpfs root with this host's /usr, in a
network namespace of the test network, with an /etc prepared for it.

Pitfalls this works around (each seen on the machines this runs on):
- without a host systemd nspawn needs --keep-unit, and then puts its payload/ and supervisor/
  cgroups beside itself: each container is started in a cgroup of its own under CGROUP_TAG, so
  two never share one and all of them can be removed at the end;
- an empty /etc makes systemd wait in first-boot, so machine-id, passwd and the rest are there;
- IPAddressAllow=/IPAddressDeny= need the bpf() system call, which nspawn filters unless told
  (--system-call-filter=bpf);
- a SIGKILLed nspawn leaves its container running: stopping goes to the container's PID 1."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path

CGROUP_TAG = "lblab-systemd-check"
# The package path the module's units name (checks/eval's stand-in package): the built binaries
# are mounted there, so the evaluated units run unchanged.
PACKAGE_BIN = "/nix/store/00000000000000000000000000000000-lblab-0.1.0/bin"
# checks/browser.py, where vm-dashboard's client has it as `lblab-browser` (a package of its own).
BROWSER_BIN = "/nix/store/00000000000000000000000000000000-lblab-browser/bin"
BROWSER = Path(__file__).resolve().parent.parent / "browser.py"
PATH = f"{PACKAGE_BIN}:{BROWSER_BIN}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
HOST_ETC_FILES = ("passwd", "group", "nsswitch.conf", "ld.so.cache", "os-release")


def cgroup_roots() -> list[Path]:
    root = Path("/sys/fs/cgroup")
    if (root / "cgroup.controllers").exists():  # cgroup v2 only
        return [root]
    return [p for p in (root / "systemd", root / "unified") if p.is_dir()]


def kill_cgroups() -> None:
    """SIGKILL to whatever still runs in the containers' cgroups: the last resort when a
    container did not power off (a PID 1 outlives a killed nspawn)."""
    for _ in range(50):
        pids: set[int] = set()
        for root in cgroup_roots():
            for procs in (root / CGROUP_TAG).glob("**/cgroup.procs"):
                try:
                    pids.update(int(p) for p in procs.read_text().split())
                except OSError:
                    pass
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.1)


def remove_cgroups() -> None:
    kill_cgroups()
    for root in cgroup_roots():
        top = root / CGROUP_TAG
        if top.is_dir():
            for dirpath, _, _ in sorted(os.walk(top), key=lambda w: -w[0].count("/")):
                try:
                    os.rmdir(dirpath)
                except OSError:
                    pass


def cgroup_leftovers() -> list[str]:
    found = []
    for root in cgroup_roots():
        for name in (CGROUP_TAG, "payload", "supervisor"):
            if (root / name).exists():
                found.append(str(root / name))
    return found


def systemd_child_of(parent: int) -> int | None:
    """The container's PID 1: the child of nspawn that runs systemd. (nspawn's first child is
    a helper that forks it, so the name is checked; and not every kernel has
    /proc/PID/task/TID/children.)"""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name = text[text.find("(") + 1 : text.rfind(")")]
        fields = text.rsplit(")", 1)[1].split()
        if int(fields[1]) == parent and name == "systemd":
            return int(stat.parent.name)
    return None


class Container:
    def __init__(self, name: str, workdir: Path, netns: str, hosts: str) -> None:
        self.name = name
        self.dir = workdir / name
        self.etc = self.dir / "etc"
        self.log_path = self.dir / "console.log"
        self.netns = netns
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.pid1: int | None = None
        self._prepare_etc(hosts)

    def _prepare_etc(self, hosts: str) -> None:
        etc = self.etc
        (etc / "systemd" / "system" / "multi-user.target.wants").mkdir(parents=True)
        (etc / "machine-id").write_text(uuid.uuid4().hex + "\n")
        (etc / "hostname").write_text(self.name + "\n")
        (etc / "hosts").write_text(hosts)
        for f in HOST_ETC_FILES:
            src = Path("/etc") / f
            if src.exists():
                shutil.copy(src, etc / f, follow_symlinks=True)
        shutil.copytree("/etc/alternatives", etc / "alternatives", symlinks=True)
        # The host's chromium (vm-dashboard's browser) is a script that reads its settings here.
        for d in ("chromium", "chromium.d"):
            if (Path("/etc") / d).is_dir():
                shutil.copytree(Path("/etc") / d, etc / d, symlinks=True)
        # No login prompt on a console nobody reads.
        (etc / "systemd" / "system" / "console-getty.service").symlink_to("/dev/null")

    def add_unit(self, name: str, text: str, wanted: bool) -> None:
        path = self.etc / "systemd" / "system" / f"{name}.service"
        path.write_text(text)
        if wanted:
            link = self.etc / "systemd" / "system" / "multi-user.target.wants" / path.name
            link.symlink_to(f"../{path.name}")

    def add_file(self, relative: str, text: str, mode: int = 0o644) -> None:
        path = self.etc / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(mode)

    def _enter_cgroup(self) -> None:
        for root in cgroup_roots():
            own = root / CGROUP_TAG / self.name
            own.mkdir(parents=True, exist_ok=True)
            (own / "cgroup.procs").write_text(str(os.getpid()))

    def start(self, bin_dir: Path) -> None:
        argv = [
            "systemd-nspawn",
            "--quiet",
            "--directory=/",
            "--volatile=yes",
            f"--machine={self.name}",
            f"--network-namespace-path=/run/netns/{self.netns}",
            "--register=no",
            "--keep-unit",
            "--console=passive",
            "--system-call-filter=bpf",
            f"--bind={self.etc}:/etc",
            f"--bind-ro={bin_dir}:{PACKAGE_BIN}",
            f"--bind-ro={BROWSER}:{BROWSER_BIN}/lblab-browser",
            "--boot",
        ]
        self.started_at = time.monotonic()
        log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, preexec_fn=self._enter_cgroup
        )
        log.close()

    def wait_booted(self, timeout: float) -> float:
        """Waits until systemd in the container says running (or degraded); returns the seconds
        since it was started."""
        assert self.process is not None
        start = self.started_at
        while time.monotonic() - start < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name}: systemd-nspawn exited {self.process.returncode}: {self.console_tail()}")
            if self.pid1 is None:
                self.pid1 = systemd_child_of(self.process.pid)
            if self.pid1 is not None:
                state = self.run("systemctl is-system-running", timeout=5).stdout.strip()
                if state in ("running", "degraded"):
                    return time.monotonic() - start
            time.sleep(0.05)
        raise RuntimeError(f"{self.name}: not booted after {timeout:.0f} s: {self.console_tail()}")

    def run(self, command: str, timeout: float | None) -> subprocess.CompletedProcess[str]:
        """`command` by bash in all of the container's namespaces, as the driver's shell runs it."""
        assert self.pid1 is not None
        argv = [
            "nsenter", f"--target={self.pid1}", "--all", "--",
            "env", "-i", f"PATH={PATH}", "HOME=/root", "LANG=C.UTF-8", "TERM=dumb",
            "bash", "-c", f"set -euo pipefail; {command}",
        ]
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as e:
            out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
            return subprocess.CompletedProcess(argv, 124, out, f"timed out after {timeout} s")

    def console_tail(self) -> str:
        try:
            return " | ".join(self.log_path.read_text(errors="replace").strip().splitlines()[-5:])
        except OSError:
            return ""

    def stop(self) -> None:
        """Powers the container off (SIGRTMIN+4 to its systemd); kills it if that does not end it."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.pid1 = systemd_child_of(self.process.pid) or self.pid1
        if self.process.poll() is None and self.pid1 is not None:
            try:
                os.kill(self.pid1, signal.SIGRTMIN + 4)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        if self.process.poll() is None:
            for pid in (self.pid1, self.process.pid):
                if pid is not None:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            self.process.wait(timeout=10)
        self.process = None
