"""Drive headless Chromium over the DevTools protocol, standard library only.

`--dump-dom` shows a page after its scripts ran, but nothing can be clicked. The browser tests that
tick a checkbox (the stance filter) or a radio button (stack the timeline by stance) talk to
Chromium over `--remote-debugging-pipe`: JSON messages, NUL-terminated, written to its fd 3 and
read from its fd 4, no websocket and no port.

    with Browser(binary, profile) as b:
        b.open(url)                               # waits for <body data-charts="ready">
        b.evaluate("document.title")              # the value of a JavaScript expression
"""
from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path


# runs in the child: puts our pipe ends at the descriptors Chromium reads (3) and writes (4), then
# becomes Chromium (first moved above 9, so that neither end is overwritten by the other's dup2)
TRAMPOLINE = """
import fcntl, os, sys
given = [int(fd) for fd in sys.argv[1:3]]
r, w = (fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in given)
os.dup2(r, 3)
os.dup2(w, 4)
for fd in {r, w, *given} - {3, 4}:
    os.close(fd)
os.execv(sys.argv[3], sys.argv[3:])
"""


class BrowserError(AssertionError):
    pass


class Browser:
    def __init__(self, binary: str, profile: Path, flags: list[str], *, window: str = "1280,1000",
                 timeout: float = 60):
        self.timeout = timeout
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        args = [binary, *flags, f"--user-data-dir={profile}", f"--window-size={window}", "--remote-debugging-pipe",
                "about:blank"]
        self.proc = subprocess.Popen([sys.executable, "-c", TRAMPOLINE, str(to_browser_r), str(from_browser_w), *args],
                                     pass_fds=(to_browser_r, from_browser_w), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._next_id = 0
        self._replies: queue.Queue = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.session = None

    def _read(self):
        buf = b""
        while True:
            try:
                chunk = os.read(self._from_browser, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                self._replies.put(None)
                return
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                msg = json.loads(raw)
                if "id" in msg:
                    self._replies.put(msg)

    def send(self, method: str, params: dict | None = None, *, session: str | None = None) -> dict:
        self._next_id += 1
        msg = {"id": self._next_id, "method": method, "params": params or {}}
        if session or self.session:
            msg["sessionId"] = session or self.session
        os.write(self._to_browser, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                reply = self._replies.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise BrowserError(f"no answer to {method} within {self.timeout} s") from None
            if reply is None:
                raise BrowserError(f"Chromium closed the pipe (exit {self.proc.poll()}) during {method}")
            if reply["id"] == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def open(self, url: str, *, ready: str = "document.body && document.body.getAttribute('data-charts') === 'ready'"):
        """Open *url* in a new tab and wait until the expression *ready* is true."""
        if self.session is None:
            target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
            self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            self.send("Page.enable")
        self.send("Page.navigate", {"url": url})
        self.wait_for(ready)

    def wait_for(self, expression: str, seconds: float | None = None):
        deadline = time.monotonic() + (seconds or self.timeout)
        while time.monotonic() < deadline:
            try:
                if self.evaluate(expression):
                    return
            except BrowserError:
                pass  # the page is still being replaced
            time.sleep(0.1)
        raise BrowserError(f"{expression!r} did not become true within {seconds or self.timeout} s")

    def evaluate(self, expression: str):
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True})
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression!r}: {result['exceptionDetails'].get('text')} "
                               f"{result['exceptionDetails'].get('exception', {}).get('description', '')}")
        return result["result"].get("value")

    def close(self):
        try:  # a browser-level command (no session); the reply may never come
            if self.proc.poll() is None:
                os.write(self._to_browser, json.dumps({"id": 0, "method": "Browser.close"}).encode() + b"\0")
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_browser, self._from_browser):
            try:
                os.close(fd)
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
