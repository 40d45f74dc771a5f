"""Run the app under a real uvicorn process on a free local port (for black-box tests)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx


class LiveServer(str):
    """The server's base URL, carrying the server process id (for memory readings)."""

    pid: int

    def __new__(cls, base: str, pid: int) -> LiveServer:
        server = super().__new__(cls, base)
        server.pid = pid
        return server


def peak_rss_mib(pid: int) -> float:
    """The process's peak resident memory so far (Linux ``VmHWM``), in MiB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def live_server(database_url: str, **env: str) -> Iterator[LiveServer]:
    """Serve the app (already migrated database) and yield its base URL."""
    port = free_port()
    environment = {
        **os.environ,
        "REVMENTOR_DATABASE_URL": database_url,
        "REVMENTOR_ENV": "test",
        "REVMENTOR_LOG_LEVEL": "WARNING",
        **env,
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "app.main:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
        ],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                stderr = process.stderr.read().decode() if process.stderr else ""
                raise RuntimeError(f"server did not start:\n{stderr[-4000:]}")
            time.sleep(0.1)
        yield LiveServer(base, process.pid)
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Ask a server process to end; kill it if it has not within ten seconds."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
