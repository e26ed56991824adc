"""The test network: one network namespace per machine, one bridge per vlan, as the NixOS test
driver gives its VMs. Machine N on vlan V is 192.168.V.N on the interface eth<k> (its k-th vlan,
from 1), which is what the VM tests assume. Nothing here reaches past these namespaces."""

from __future__ import annotations

import subprocess

PREFIX = "lblabk"


def ip(*args: str, netns: str | None = None) -> None:
    cmd = ["ip"] + (["-n", netns] if netns else []) + list(args)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


class Network:
    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.switch = f"{PREFIX}{tag}-sw"
        self.namespaces: list[str] = []
        self.bridges: set[int] = set()

    def _add_netns(self, name: str) -> None:
        subprocess.run(["ip", "netns", "add", name], check=True, stderr=subprocess.PIPE)
        self.namespaces.append(name)
        ip("link", "set", "lo", "up", netns=name)

    def machine(self, name: str, number: int, vlans: list[int]) -> str:
        """The namespace of one machine, wired to its vlans; returns its name."""
        if not self.namespaces:
            self._add_netns(self.switch)
        ns = f"{PREFIX}{self.tag}-{number}"
        self._add_netns(ns)
        for k, vlan in enumerate(vlans, start=1):
            if vlan not in self.bridges:
                ip("link", "add", f"br{vlan}", "type", "bridge", netns=self.switch)
                ip("link", "set", f"br{vlan}", "up", netns=self.switch)
                self.bridges.add(vlan)
            port = f"m{number}v{vlan}"
            ip("link", "add", port, "netns", self.switch, "type", "veth", "peer", "name", f"eth{k}", "netns", ns)
            ip("link", "set", port, "master", f"br{vlan}", "up", netns=self.switch)
            ip("addr", "add", f"192.168.{vlan}.{number}/24", "dev", f"eth{k}", netns=ns)
            ip("link", "set", f"eth{k}", "up", netns=ns)
        return ns

    def remove(self) -> None:
        for ns in reversed(self.namespaces):
            subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)
        self.namespaces.clear()
        self.bridges.clear()


def leftovers() -> list[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.startswith(PREFIX)]
