"""Whether fallback.py renders what the module evaluates to: the same machines, unit for unit, and
the same nginx settings, for every VM test. checks/nix-eval.sh runs it where nixpkgs' lib is at
hand, so the stand-in that checks/systemd.sh uses without the lib cannot drift from the module.

  python3 same_as_module.py MODULE_SCENARIOS.json FALLBACK_SCENARIOS.json"""

from __future__ import annotations

import json
import sys
from typing import Any


def differences(module: dict[str, Any], fallback: dict[str, Any]) -> list[str]:
    found = []
    if sorted(module) != sorted(fallback):
        return [f"VM tests {sorted(module)} against {sorted(fallback)}"]
    for test, spec in module.items():
        other = fallback[test]
        if spec["script"] != other["script"]:
            found.append(f"{test}: the script")
        for name, m in spec["machines"].items():
            o = other["machines"].get(name)
            if o is None or (m["number"], m["vlans"]) != (o["number"], o["vlans"]):
                found.append(f"{test}/{name}: the machine")
                continue
            labs = [(None, m["lab"], o["lab"])] + [(sp, m["specialisations"][sp], o["specialisations"].get(sp)) for sp in m["specialisations"]]
            for sp, a, b in labs:
                where = f"{test}/{name}" + (f" specialisation {sp}" if sp else "")
                if (a is None) != (b is None):
                    found.append(f"{where}: runs services.lblab in one and not the other")
                    continue
                if a is None or b is None:
                    continue
                for unit in sorted(set(a["units"]) | set(b["units"])):
                    if a["units"].get(unit) != b["units"].get(unit):
                        found.append(f"{where}: unit {unit}")
                if (a["nginx"] is None) != (b["nginx"] is None):
                    found.append(f"{where}: runs nginx in one and not the other")
                    continue
                for key in ("eventsConfig", "appendConfig", "listen"):
                    if a["nginx"] is not None and a["nginx"][key] != b["nginx"][key]:
                        found.append(f"{where}: nginx {key}")
                if a.get("haproxy") != b.get("haproxy"):
                    found.append(f"{where}: services.haproxy.config")
    return found


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        module = json.load(f)
    with open(sys.argv[2]) as f:
        fallback = json.load(f)
    diff = differences(module, fallback)
    units = sum(len(m["lab"]["units"]) for t in module.values() for m in t["machines"].values() if m["lab"])
    if diff:
        print("FAIL checks/systemd's fallback differs from the module: " + "; ".join(diff))
    else:
        print(f"PASS checks/systemd's fallback renders the module's {units} units and nginx settings, for all {len(module)} VM tests")
