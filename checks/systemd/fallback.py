"""The scenarios of checks/eval's `scenarios`, made without nixpkgs' lib: from the settings that
fallback.nix reads out of checks/vm.nix, the backend units are rendered as nixos/module.nix
renders them, from the same nixos/backend-unit.json, and the upstream is `lblab nginx-config`'s.
What the module adds beyond that file (the option defaults below, the ExecStart line, extra
upstreams) is restated here; checks/eval proves the module's own output where the lib exists.

  python3 fallback.py FALLBACK.json LBLAB > SCENARIOS.json"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from container import PACKAGE_BIN
from units import nginx_config_argv

ROOT = Path(__file__).resolve().parents[2]
UNIT = json.loads((ROOT / "nixos/backend-unit.json").read_text())
PROXY = json.loads((ROOT / "nginx/proxy.json").read_text())

# services.lblab's defaults, as nixos/module.nix declares them.
DEFAULTS: dict[str, Any] = {
    "method": "round-robin",
    "backends": 3,
    "address": "127.0.0.1",
    "basePort": 8001,
    "port": 80,
    "hashKey": "$request_uri",
    "consistent": False,
    "weights": None,
    "backendDelay": None,
    "extraUpstreams": [],
    "workerConnections": 4096,
    "proxy": "nginx",
    "maxconn": None,
    "hashBalanceFactor": None,
}

# The first line of haproxy/haproxy.cfg: where the module's text and lblab's agree from.
HAPROXY_MARKER = (ROOT / "haproxy/haproxy.cfg").read_text().splitlines()[0]


def host_port(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def backend_unit(s: dict[str, Any], i: int) -> dict[str, Any]:
    addr = host_port(s["address"], s["basePort"] + i - 1)
    delay = s["backendDelay"]
    if isinstance(delay, dict):
        delay = delay.get(str(i))
    exec_start = f"{PACKAGE_BIN}/lblab-backend --id {i} --listen {addr}" + (f" --delay {delay}" if delay is not None else "")
    loopback = s["address"].startswith("127.") or s["address"] == "::1"
    return {
        "description": f"lblab backend {i} on {addr}",
        "wantedBy": ["multi-user.target"],
        "after": ["network.target"],
        "wants": [],
        "unitConfig": {},
        "serviceConfig": {**UNIT["service"], "ExecStart": exec_start, **UNIT["sandbox"], **(UNIT["loopbackOnly"] if loopback else {})},
    }


def upstream(lblab: str, s: dict[str, Any]) -> str:
    text = subprocess.run(nginx_config_argv(lblab, s) + ["--upstream-only"], check=True, capture_output=True, text=True).stdout
    first = re.search(r"(?m)^\s*server (\S+)(.*);$", text)
    assert first is not None, f"no server line in:\n{text}"
    extra = "".join(f"    server {u}{first.group(2)};\n" for u in s["extraUpstreams"])
    return re.sub(r"(?m)^(\s*server [^\n]*\n)(?!\s*server )", lambda m: m.group(1) + extra, text, count=1)


def haproxy_config(lblab: str, s: dict[str, Any]) -> str:
    """services.haproxy.config as the module writes it: its global lines, then `lblab
    haproxy-config` from haproxy/haproxy.cfg's first line on (checks/eval proves them equal)."""
    argv = [lblab, "haproxy-config", "--method", s["method"], "--backends", str(s["backends"]), "--address", s["address"],
            "--base-port", str(s["basePort"]), "--listen", f"0.0.0.0:{s['port']}"]
    if s.get("weights"):
        argv += ["--weights", ",".join(str(w) for w in s["weights"])]
    if s["consistent"]:
        argv.append("--consistent")
    if s["maxconn"] is not None:
        argv += ["--maxconn", str(s["maxconn"])]
    if s["hashBalanceFactor"] is not None:
        argv += ["--hash-balance-factor", str(s["hashBalanceFactor"])]
    text = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
    tail = text[text.index(HAPROXY_MARKER):]
    # The module binds where nginx listens: IPv6 too on these hosts, as nginx's [::] (its
    # frontAddresses); the runner listens on one address.
    one = f"    bind 0.0.0.0:{s['port']}\n"
    if one not in tail:
        raise SystemExit(f"lblab haproxy-config has no `{one.strip()}` line to widen")
    tail = tail.replace(one, f"    bind 0.0.0.0:{s['port']},[::]:{s['port']} v6only\n")
    sizing = f"global\n    maxconn {s['workerConnections']}\n\n" if s["workerConnections"] is not None else ""
    return sizing + tail


def lab(lblab: str, settings: dict[str, Any], units: dict[str, Any]) -> dict[str, Any]:
    s = {**DEFAULTS, **settings}
    ids = range(1, s["backends"] + 1)
    out = {f"lblab-backend-{i}": backend_unit(s, i) for i in ids}
    names = [f"lblab-backend-{i}.service" for i in ids]
    out[s["proxy"]] = {"description": "", "wantedBy": [], "after": names, "wants": names, "unitConfig": {}, "serviceConfig": {}}
    for name, u in units.items():
        out[name] = {"description": u.get("description", ""), "wantedBy": u.get("wantedBy", []), "after": u.get("after", []),
                     "wants": u.get("wants", []), "unitConfig": u.get("unitConfig", {}), "serviceConfig": u.get("serviceConfig", {})}
    if s["proxy"] == "haproxy":
        return {"units": out, "lblab": s, "nginx": None, "haproxy": haproxy_config(lblab, s)}
    backlog = PROXY["listen_backlog"]
    return {
        "units": out,
        "lblab": s,
        "nginx": {
            "upstream": upstream(lblab, s),
            "eventsConfig": f"worker_connections {s['workerConnections']};",
            "appendConfig": f"worker_rlimit_nofile {2 * s['workerConnections']};",
            "listen": [f"0.0.0.0:{s['port']} backlog={backlog}", f"[::]:{s['port']} backlog={backlog}"],
        },
        "haproxy": None,
    }


def main() -> None:
    tests = json.loads(Path(sys.argv[1]).read_text())
    lblab = sys.argv[2]
    scenarios = {}
    for name, test in tests.items():
        machines = {}
        for mname, m in test["machines"].items():
            runs = bool(m["lblab"].get("enable"))
            machines[mname] = {
                "number": m["number"],
                "vlans": m["vlans"],
                "lab": lab(lblab, m["lblab"], m["units"]) if runs else None,
                "specialisations": {sp: lab(lblab, {**m["lblab"], **over}, m["units"]) for sp, over in m["specialisations"].items()} if runs else {},
            }
        scenarios[name] = {"machines": machines, "script": test["script"]}
    json.dump(scenarios, sys.stdout)


if __name__ == "__main__":
    main()
