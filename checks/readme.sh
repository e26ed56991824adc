#!/usr/bin/env bash
# Runs the README's commands as written, block by block, and fails when one fails: every line of
# every ```sh block, with target/release on PATH as the README says, in a scratch directory. What it
# does not run it says: `cargo test --workspace` (.ci/run runs it itself) and `nix …` (no Nix that
# builds here). `lblab up` runs in the background until the end, as in its own terminal, and the
# page it serves is loaded the way the README says a browser sees it.
#
#   bash checks/readme.sh        (after cargo build --release)
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x target/release/lblab ] || { echo "readme: target/release/lblab is missing (cargo build --release)" >&2; exit 2; }
exec python3 - "$PWD" <<'PY'
import os, re, signal, subprocess, sys, tempfile, time, urllib.error, urllib.request

root = sys.argv[1]
readme = open(os.path.join(root, "README.md")).read()
blocks = re.findall(r"^```sh\n(.*?)^```", readme, re.S | re.M)
env = dict(os.environ, PATH=f"{root}/target/release:{os.environ['PATH']}")
scratch = tempfile.mkdtemp(prefix="lblab-readme-")
passed = failed = 0
background = []


def result(ok, what):
    global passed, failed
    if ok:
        passed += 1
        print(f"PASS {what}")
    else:
        failed += 1
        print(f"FAIL {what}")


try:
    for block in blocks:
        for line in block.splitlines():
            command = line.split("  #")[0].strip()
            if not command:
                continue
            if command.startswith("nix "):
                print(f"skip {command}  (needs a Nix that builds)")
                continue
            if command == "cargo test --workspace":
                print(f"skip {command}  (.ci/run runs it)")
                continue
            if command.startswith("apt-get ") and os.geteuid() != 0:
                print(f"skip {command}  (not root)")
                continue
            if command.startswith("cargo "):
                done = subprocess.run(command, shell=True, cwd=root, env=env, capture_output=True, text=True, timeout=1800)
                result(done.returncode == 0, f"{command}" + ("" if done.returncode == 0 else f": {done.stderr.strip()[-300:]}"))
                continue
            if command.startswith("lblab up "):
                up = subprocess.Popen("exec " + command, shell=True, cwd=scratch, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
                background.append(up)
                ready = False
                printed = ""
                deadline = time.monotonic() + 30
                assert up.stdout is not None
                while time.monotonic() < deadline:
                    out = up.stdout.readline()
                    if not out:
                        break
                    printed += out
                    if out.startswith("Switch with"):
                        ready = True
                        break
                result(ready, f"{command}  (up and recorded)")
                # What a browser reloading the lab sees: the servers take turns.
                url = re.search(r"--listen (\S+)", command)
                if ready and url:
                    seen = []
                    for _ in range(6):
                        with urllib.request.urlopen(f"http://{url.group(1)}/", timeout=5) as r:
                            seen.append(r.read().decode().strip())
                    turns = len(set(seen[:3])) == 3 and seen[:3] == seen[3:]
                    result(turns, f"reloading http://{url.group(1)}/ shows the servers in turn: {seen}")
                dash = re.search(r"--dashboard (\S+)", command)
                if ready and dash:
                    # The URL up prints signs the browser in (a cookie); the bare address shows
                    # nothing that drives the lab.
                    signed = re.search(r"dashboard (http://\S+)", printed)
                    result(signed is not None, "up prints the dashboard's URL")
                    if signed:
                        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
                        with browser.open(signed.group(1), timeout=5) as r:
                            page = r.read().decode()
                        result('id="current-method"' in page, f"the printed URL {signed.group(1).split('?')[0]}?… serves the dashboard")
                    try:
                        with urllib.request.urlopen(f"http://{dash.group(1)}/", timeout=5) as r:
                            bare = r.read().decode()
                    except urllib.error.HTTPError as e:
                        bare = e.read().decode()
                    result('id="current-method"' not in bare, f"http://{dash.group(1)}/ without it shows no controls")
                continue
            done = subprocess.run(command, shell=True, cwd=scratch, env=env, capture_output=True, text=True, timeout=300)
            why = "" if done.returncode == 0 else f": exit {done.returncode}: {(done.stderr or done.stdout).strip()[-300:]}"
            result(done.returncode == 0, command + why)
finally:
    for up in background:
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGINT)
            try:
                code = up.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(up.pid, signal.SIGKILL)
                code = up.wait()
            result(code == 0, f"Ctrl-C stops the lab (exit {code})")
    subprocess.run(["rm", "-rf", scratch])
print(f"readme: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
