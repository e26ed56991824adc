"""Unit files and nginx.conf for a lab machine, from what the module evaluated to.

A unit is written as NixOS writes one, after systemd.unit(5) and systemd.service(5): settings in
[Unit] and [Service], a list as one line per element (systemd adds each line to the setting, as
for SystemCallFilter= or RestrictAddressFamilies=), booleans as true/false. NixOS links a unit
wanted by multi-user.target into multi-user.target.wants/; the [Install] section written here
says the same and the caller makes that link."""

from __future__ import annotations

import re
import subprocess
from typing import Any

# The nginx unit is services.nginx's, not the module's (which only orders it after the
# backends): a stand-in with nixpkgs' shape, run on Debian's nginx, reading /etc/nginx/nginx.conf
# as nixpkgs' does with enableReload, so that a reload picks up a new file.
NGINX_CONF = "/etc/nginx/nginx.conf"
NGINX_PREFIX = "/var/lib/lblab-nginx"
NGINX_SERVICE: dict[str, Any] = {
    "Type": "simple",
    "StateDirectory": "lblab-nginx",
    "ExecStartPre": f"/usr/sbin/nginx -t -q -c {NGINX_CONF}",
    "ExecStart": f"/usr/sbin/nginx -c {NGINX_CONF} -g 'daemon off;'",
    "ExecReload": [f"/usr/sbin/nginx -t -q -c {NGINX_CONF}", "/bin/kill -HUP $MAINPID"],
    "Restart": "always",
    "RestartSec": "1s",
}


# HAProxy's unit is services.haproxy's: a stand-in with nixpkgs' shape (Type=notify, master-worker
# with -Ws, a config check before start and reload, SIGUSR2 to reload), run on Debian's haproxy
# as root (nixpkgs runs it as the haproxy user), reading /etc/haproxy.cfg as nixpkgs' does.
HAPROXY_CONF = "/etc/haproxy.cfg"
HAPROXY_SERVICE: dict[str, Any] = {
    "Type": "notify",
    "RuntimeDirectory": "haproxy",
    "ExecStartPre": f"/usr/sbin/haproxy -c -q -f {HAPROXY_CONF}",
    "ExecStart": f"/usr/sbin/haproxy -Ws -f {HAPROXY_CONF} -p /run/haproxy/haproxy.pid",
    "ExecReload": [f"/usr/sbin/haproxy -c -q -f {HAPROXY_CONF}", "/bin/kill -USR2 $MAINPID"],
    "KillMode": "mixed",
    "SuccessExitStatus": "143",
    "Restart": "always",
}
# What nixpkgs' services.haproxy writes before services.haproxy.config.
HAPROXY_GLOBAL = "global\n  stats socket /run/haproxy/haproxy.sock mode 600 expose-fd listeners level user\n\n"


def haproxy_conf(lab: dict[str, Any]) -> str:
    """/etc/haproxy.cfg as nixpkgs writes it from the module's services.haproxy.config."""
    return HAPROXY_GLOBAL + lab["haproxy"]


def value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def section(name: str, settings: dict[str, Any]) -> list[str]:
    lines = [f"[{name}]"]
    for key, v in settings.items():
        if v is None:
            continue
        if isinstance(v, list):
            lines += [f"{key}={value(item)}" for item in v]
        else:
            lines.append(f"{key}={value(v)}")
    return lines


def unit_file(unit: dict[str, Any]) -> str:
    unit_section: dict[str, Any] = {"Description": unit.get("description") or None}
    for key, option in (("After", "after"), ("Wants", "wants")):
        if unit.get(option):
            unit_section[key] = " ".join(unit[option])
    unit_section.update(unit.get("unitConfig") or {})
    lines = section("Unit", unit_section) + [""] + section("Service", unit["serviceConfig"])
    if unit.get("wantedBy"):
        lines += ["", "[Install]", "WantedBy=" + " ".join(unit["wantedBy"])]
    return "\n".join(lines) + "\n"


def with_haproxy_service(units: dict[str, Any]) -> dict[str, Any]:
    """The module's units, HAProxy's filled in with the stand-in's service settings."""
    units = dict(units)
    module_part = units.get("haproxy", {})
    units["haproxy"] = {
        "description": "HAProxy, as services.haproxy runs it (stand-in unit, ordered by services.lblab)",
        "after": ["network.target"] + module_part.get("after", []),
        "wants": module_part.get("wants", []),
        "wantedBy": ["multi-user.target"],
        "unitConfig": module_part.get("unitConfig", {}),
        "serviceConfig": {**HAPROXY_SERVICE, **module_part.get("serviceConfig", {})},
    }
    return units


def with_nginx_service(units: dict[str, Any]) -> dict[str, Any]:
    """The module's units, nginx's filled in with the stand-in's service settings."""
    units = dict(units)
    module_part = units.get("nginx", {})
    units["nginx"] = {
        "description": "nginx, as services.nginx runs it (stand-in unit, ordered by services.lblab)",
        "after": ["network.target"] + module_part.get("after", []),
        "wants": module_part.get("wants", []),
        "wantedBy": ["multi-user.target"],
        "unitConfig": module_part.get("unitConfig", {}),
        "serviceConfig": {**NGINX_SERVICE, **module_part.get("serviceConfig", {})},
    }
    return units


def nginx_config_argv(lblab: str, s: dict[str, Any]) -> list[str]:
    """`lblab nginx-config` for the services.lblab settings `s`."""
    argv = [
        lblab, "nginx-config",
        "--method", s["method"],
        "--backends", str(s["backends"]),
        "--address", s["address"],
        "--base-port", str(s["basePort"]),
        "--listen", f"0.0.0.0:{s['port']}",
        "--prefix", NGINX_PREFIX,
    ]
    if s.get("weights"):
        argv += ["--weights", ",".join(str(w) for w in s["weights"])]
    if s["method"] == "hash":
        argv += ["--hash-key", s["hashKey"]] + (["--consistent"] if s["consistent"] else [])
    return argv


def nginx_conf(lblab: str, lab: dict[str, Any]) -> str:
    """nginx.conf as the module would have nginx run it: `lblab nginx-config` for the same
    settings (whose upstream and location blocks nix-eval.sh proves equal to the module's), with
    the module's own upstream block (extraUpstreams included), events lines and listen
    addresses put in."""
    text = subprocess.run(nginx_config_argv(lblab, lab["lblab"]), check=True, capture_output=True, text=True).stdout
    nginx = lab["nginx"]
    text, n = re.subn(r"(?ms)^\s*upstream lblab \{.*?^\s*\}\n", lambda _: "    " + nginx["upstream"], text)
    assert n == 1, "no upstream block in lblab nginx-config's output"
    text, n = re.subn(r"(?m)^\s*worker_connections [^;]*;", lambda _: "    " + nginx["eventsConfig"], text)
    assert n == 1, "no worker_connections in lblab nginx-config's output"
    text, n = re.subn(r"(?m)^worker_rlimit_nofile [^;]*;", lambda _: nginx["appendConfig"], text)
    assert n == 1, "no worker_rlimit_nofile in lblab nginx-config's output"
    listen = "".join(f"        listen {addr};\n" for addr in nginx["listen"])
    text, n = re.subn(r"(?m)^\s*listen [^;]*;\n", lambda _: listen, text)
    assert n == 1, "no listen line in lblab nginx-config's output"
    return text
