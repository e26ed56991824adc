"""A stand-in for the NixOS test driver's Machine, for the VM tests' own scripts: the same
methods and signatures the scripts use, each doing what the driver documents, but in a
systemd-nspawn container instead of a QEMU VM. checks/nix-eval.sh type-checks the scripts
against this class, as the driver's build type-checks them against the real one.

Every wait is bounded by MAX_WAIT seconds, whatever timeout a script asks for (the driver's
default is 900 s, too long for a check that should fail fast here)."""

from __future__ import annotations

import os
import sys
import time
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from container import Container

MAX_WAIT = int(os.environ.get("LBLAB_SYSTEMD_MAX_WAIT", "120"))


class Machine:
    name: str

    def __init__(self, name: str, container: "Container | None" = None) -> None:
        self.name = name
        self.container = container
        self.on_start: Callable[["Machine"], None] | None = None
        self.started = False

    def __repr__(self) -> str:
        return f"<Machine '{self.name}'>"

    def log(self, msg: str) -> None:
        print(f"    {self.name}: {msg}", file=sys.stderr)

    def start(self) -> None:
        if not self.started and self.on_start is not None:
            self.on_start(self)
        self.started = True

    def execute(
        self,
        command: str,
        check_return: bool = True,
        check_output: bool = True,
        timeout: int | None = 900,
    ) -> tuple[int, str]:
        """(status, stdout) of `command` run by bash under `set -euo pipefail`."""
        self.start()
        assert self.container is not None
        bound = MAX_WAIT if timeout is None else min(timeout, MAX_WAIT)
        done = self.container.run(command, timeout=bound)
        if done.stderr.strip():
            for line in done.stderr.strip().splitlines()[-20:]:
                self.log(line)
        return done.returncode, done.stdout

    def succeed(self, *commands: str, timeout: int | None = None) -> str:
        output = ""
        for command in commands:
            status, out = self.execute(command, timeout=timeout)
            if status != 0:
                raise Exception(f"{self.name}: command `{command}` failed (exit code {status}):\n{out}")
            output += out
        return output

    def fail(self, *commands: str, timeout: int | None = None) -> str:
        output = ""
        for command in commands:
            status, out = self.execute(command, timeout=timeout)
            if status == 0:
                raise Exception(f"{self.name}: command `{command}` unexpectedly succeeded")
            output += out
        return output

    def _retry(self, what: str, attempt: Callable[[], bool], timeout: int) -> None:
        deadline = time.monotonic() + min(timeout, MAX_WAIT)
        while True:
            if attempt():
                return
            if time.monotonic() > deadline:
                raise Exception(f"{self.name}: timed out waiting for {what}")
            time.sleep(0.25)

    def wait_until_succeeds(self, command: str, timeout: int = 900) -> str:
        output = ""

        def attempt() -> bool:
            nonlocal output
            status, output = self.execute(command, timeout=timeout)
            return status == 0

        self._retry(f"`{command}` to succeed", attempt, timeout)
        return output

    def wait_until_fails(self, command: str, timeout: int = 900) -> str:
        output = ""

        def attempt() -> bool:
            nonlocal output
            status, output = self.execute(command, timeout=timeout)
            return status != 0

        self._retry(f"`{command}` to fail", attempt, timeout)
        return output

    def systemctl(self, q: str, user: str | None = None) -> tuple[int, str]:
        if user is not None:
            raise NotImplementedError("systemctl --user: no user sessions in these containers")
        return self.execute(f"systemctl {q}")

    def get_unit_property(self, unit: str, property: str, user: str | None = None) -> str:
        status, out = self.systemctl(f"show --property={property} --value {unit}", user)
        if status != 0:
            raise Exception(f"{self.name}: cannot read {property} of {unit}")
        return out.strip()

    def wait_for_unit(self, unit: str, user: str | None = None, timeout: int = 900) -> None:
        """Until the unit is active; fails at once when it failed, or is inactive with no job
        that could start it, as the driver does."""

        def attempt() -> bool:
            state = self.get_unit_property(unit, "ActiveState", user)
            if state == "failed":
                raise Exception(f"{self.name}: unit {unit} reached state failed")
            if state == "inactive":
                _, jobs = self.systemctl("list-jobs --full --no-legend", user)
                if unit not in jobs:
                    raise Exception(f"{self.name}: unit {unit} is inactive and there are no pending jobs")
            return state == "active"

        self._retry(f"unit {unit}", attempt, timeout)

    def wait_for_open_port(self, port: int, addr: str = "localhost", timeout: int = 900) -> None:
        def attempt() -> bool:
            status, _ = self.execute(f"exec 3<>/dev/tcp/{addr}/{port}", timeout=5)
            return status == 0

        self._retry(f"TCP port {port} on {addr}", attempt, timeout)

    def wait_for_closed_port(self, port: int, addr: str = "localhost", timeout: int = 900) -> None:
        def attempt() -> bool:
            status, _ = self.execute(f"exec 3<>/dev/tcp/{addr}/{port}", timeout=5)
            return status != 0

        self._retry(f"TCP port {port} on {addr} to close", attempt, timeout)
