"""A real `nsmckit serve` for the tests: the Docker image's entrypoint on a free loopback port."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

# The limits the bad-request catalogue is written against, and the catalogue: (httpx.post kwargs, status, message).
HANG_S = 60  # how long a probe waits before the test calls it a hang: far beyond any answer, never a speed claim
LIMIT_FLAGS = ("--max-texts", "8", "--max-body-bytes", "4000")
BAD_REQUESTS = [
    ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 422, "JSON"),
    ({"json": {"text": 5}}, 422, "text:"),
    ({"json": {"texts": "not a list"}}, 422, "texts:"),
    ({"json": {"text": "a", "texts": ["b"]}}, 422, 'exactly one of "text" or "texts"'),
    ({"json": {}}, 422, 'exactly one of "text" or "texts"'),
    ({"json": {"texts": ["좋다"] * 9}}, 413, "--max-texts 8"),
    ({"json": {"text": "가" * 3000}}, 413, "exceeds --max-body-bytes 4000"),
    ({"content": b'{"text": "\\ud800"}', "headers": {"content-type": "application/json"}}, 422, "lone surrogate"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def entrypoint(export_dir, port: int, *flags: str) -> list[str]:
    """The Docker image's entrypoint (`nsmckit serve /model`), with a loopback host and port."""
    exe = shutil.which("nsmckit")
    base = [exe] if exe else [sys.executable, "-m", "kit.cli"]
    return [*base, "serve", str(export_dir), "--host", "127.0.0.1", "--port", str(port), *flags]


def start_server(
    export_dir, *flags: str, timeout: float = 60, log: Path | None = None, open_files: int | None = None, env=None
):
    """The server, once /health says 200. Its output goes to `log` (a file: a pipe nobody reads would fill
    and stall it); `open_files` caps its file descriptors, as a container's ulimit does; `env` replaces the
    environment it inherits."""
    port = free_port()
    log = log or Path(tempfile.mkstemp(prefix="nsmckit-serve-", suffix=".log")[1])

    def limit_files():
        import resource

        resource.setrlimit(resource.RLIMIT_NOFILE, (open_files, open_files))

    with log.open("wb") as out:
        proc = subprocess.Popen(
            entrypoint(export_dir, port, *flags),
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=limit_files if open_files else None,
            env=env,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(log.read_text())
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"server did not become healthy: {log.read_text()[-2000:]}")
