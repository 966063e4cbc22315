"""A real HTTP server on loopback for the over-the-wire rows: Django's runserver on the bench settings.

Started as a child process of the benchmark (and stopped by its own pid when the run ends), so the
request goes through the socket, WSGI, middleware, authentication and JSON rendering like a field
client's. runserver runs --nothreading: one worker holding one DB connection, like a WSGI server's
sync worker (threaded, it opens a new DB connection for every client connection: ~40 ms each). A
production WSGI server is at least as fast, so the figures are an upper bound.
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# No autoreloader; no system checks at start; --insecure serves static files (Leaflet) with DEBUG off.
RUNSERVER_OPTIONS = ("--noreload", "--skip-checks", "--insecure", "--nothreading")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_listening(command: list[str], env: dict, port: int, log_path: Path, name: str, timeout: float):
    """Start `command` as a child process logging to `log_path`; return it once it listens on `port`.

    Raises (with the log's tail) when it exits first or does not listen within `timeout` seconds."""
    with log_path.open("wb") as log:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited: {log_path.read_text(errors='replace')[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            time.sleep(0.2)
    stop_process(proc, timeout=10)
    raise RuntimeError(f"{name} did not start within {timeout:.0f} s (log: {log_path})")


def stop_process(proc: subprocess.Popen | None, timeout: float) -> None:
    """Terminate a child server, killing it if it has not gone within `timeout` seconds."""
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Server:
    def __init__(self, settings_module: str = "bench.settings"):
        self.settings_module = settings_module
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self.conn: http.client.HTTPConnection | None = None
        self.log_path = Path(tempfile.gettempdir()) / f"gd-bench-server-{os.getpid()}.log"

    def describe(self) -> str:
        return "Django runserver --nothreading (one worker, one persistent DB connection)"

    def start(self, timeout: float = 60.0) -> None:
        self.port = free_port()
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": self.settings_module, "PYTHONPATH": str(ROOT)}
        command = [sys.executable, "manage.py", "runserver", f"127.0.0.1:{self.port}", *RUNSERVER_OPTIONS]
        self.proc = start_listening(command, env, self.port, self.log_path, "the bench server", timeout)

    def get(self, path: str, token: str = "") -> tuple[int, bytes, float]:
        """(status, body, seconds) of one GET over a kept-alive connection (reopened if the server closed it)."""
        headers = {"Authorization": f"Token {token}"} if token else {}
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            started = time.perf_counter()
            try:
                self.conn.request("GET", path, headers=headers)
                response = self.conn.getresponse()
                body = response.read()
            except (ConnectionError, http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
                continue
            elapsed = time.perf_counter() - started
            if response.getheader("Connection", "").lower() == "close":
                self.conn.close()
                self.conn = None
            return response.status, body, elapsed
        raise RuntimeError("unreachable")

    def stop(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        stop_process(self.proc, timeout=10)
        self.proc = None
