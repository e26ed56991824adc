#!/usr/bin/env python3
"""Headless Chromium driven over the DevTools protocol, for the vm-dashboard VM test.

    lblab-browser URL STEP...    (this file, as the VM test installs it)

It opens URL in a new headless Chromium and runs each STEP in order:
    text:SELECTOR         the element's text content (null where there is none)
    wait:SELECTOR=TEXT    wait up to 30 s until the element's text is TEXT
    click:SELECTOR        click the element with the mouse, in its middle, as a person would
and prints one JSON list, a result per step. A step that fails prints why on stderr and exits 1.

The protocol goes over a pair of pipes (--remote-debugging-pipe: commands on fd 3, answers on
fd 4, each message ending in a NUL byte), so nothing but the standard library is needed, and no
port is opened. Chromium is `chromium` on PATH, or $LBLAB_CHROMIUM.
"""

import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

TIMEOUT_S = 30.0


class Browser:
    def __init__(self) -> None:
        exe = os.environ.get("LBLAB_CHROMIUM") or shutil.which("chromium")
        if exe is None:
            sys.exit("browser.py: chromium is not on PATH (or set LBLAB_CHROMIUM)")
        self.profile = tempfile.mkdtemp(prefix="lblab-chromium-")
        to_chromium_r, self.to_chromium = os.pipe()
        self.from_chromium, from_chromium_w = os.pipe()

        def give_pipes() -> None:
            # Chromium reads commands on fd 3 and writes answers on fd 4. Both ends are first moved
            # above 10, so that putting one on 3 cannot close the other where it happens to be 3.
            r = fcntl.fcntl(to_chromium_r, fcntl.F_DUPFD, 10)
            w = fcntl.fcntl(from_chromium_w, fcntl.F_DUPFD, 10)
            os.dup2(r, 3)
            os.dup2(w, 4)

        self.proc = subprocess.Popen(
            [
                exe,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-pipe",
                f"--user-data-dir={self.profile}",
                "--window-size=1200,900",
                "about:blank",
            ],
            # Kept open across exec: the pipes' ends, where give_pipes puts them.
            pass_fds=(3, 4),
            preexec_fn=give_pipes,
            stdout=subprocess.DEVNULL,
            # Kept, to say why where Chromium ends early.
            stderr=open(os.path.join(self.profile, "stderr"), "wb"),
        )
        os.close(to_chromium_r)
        os.close(from_chromium_w)
        self.buffer = b""
        self.next_id = 0
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]

    def stderr_tail(self) -> str:
        try:
            with open(os.path.join(self.profile, "stderr"), "rb") as f:
                return " | ".join(f.read().decode(errors="replace").strip().splitlines()[-5:])
        except OSError:
            return ""

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)

    def call(self, method: str, params: dict, session: bool = False) -> dict:
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        os.write(self.to_chromium, json.dumps(message).encode() + b"\0")
        while True:
            while b"\0" not in self.buffer:
                chunk = os.read(self.from_chromium, 65536)
                if not chunk:
                    sys.exit(f"browser.py: chromium closed the pipe during {method}: {self.stderr_tail()}")
                self.buffer += chunk
            raw, self.buffer = self.buffer.split(b"\0", 1)
            answer = json.loads(raw)
            # Events and answers to other commands are not waited for.
            if answer.get("id") != self.next_id:
                continue
            if "error" in answer:
                sys.exit(f"browser.py: {method}: {answer['error']}")
            return answer["result"]

    def evaluate(self, expression: str):
        result = self.call(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=True
        )
        if "exceptionDetails" in result:
            sys.exit(f"browser.py: {expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def text(self, selector: str):
        return self.evaluate(
            f"(e => e === null ? null : e.textContent.trim())(document.querySelector({json.dumps(selector)}))"
        )

    def wait(self, what: str, done) -> None:
        deadline = time.monotonic() + TIMEOUT_S
        while not done():
            if time.monotonic() > deadline:
                sys.exit(f"browser.py: {TIMEOUT_S:.0f} s passed without {what}")
            time.sleep(0.1)

    def navigate(self, url: str) -> None:
        self.call("Page.enable", {}, session=True)
        self.call("Page.navigate", {"url": url}, session=True)
        # Loaded wherever it ends: a page may redirect (the dashboard trades a token in its URL
        # for a cookie, then shows its clean address).
        self.wait(
            f"{url} loaded",
            lambda: self.evaluate(
                "location.href !== 'about:blank' && document.readyState === 'complete'"
            ),
        )

    def click(self, selector: str) -> None:
        box = self.evaluate(
            f"""(e => {{
                if (e === null) return null;
                e.scrollIntoView();
                const r = e.getBoundingClientRect();
                return [r.x + r.width / 2, r.y + r.height / 2];
            }})(document.querySelector({json.dumps(selector)}))"""
        )
        if box is None:
            sys.exit(f"browser.py: nothing on the page matches {selector}")
        x, y = box
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.call(
                "Input.dispatchMouseEvent",
                {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1},
                session=True,
            )


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    url, steps = sys.argv[1], sys.argv[2:]
    browser = Browser()
    results = []
    try:
        browser.navigate(url)
        for step in steps:
            kind, _, arg = step.partition(":")
            if kind == "text":
                results.append(browser.text(arg))
            elif kind == "wait":
                selector, _, want = arg.partition("=")
                browser.wait(f"{selector} showing {want!r}", lambda: browser.text(selector) == want)
                results.append(want)
            elif kind == "click":
                browser.click(arg)
                results.append(None)
            else:
                sys.exit(f"browser.py: unknown step {step!r} (text:, wait:, click:)")
    finally:
        browser.close()
    print(json.dumps(results))


if __name__ == "__main__":
    main()
