"""A server in a process of its own, started from a typed `ServeConfig` rather than command-line strings, for
callers that measure a server (tune): in its own process it shares no GIL with the load generator.

    with server_process(ServeConfig("exports/nsmc", batching=BatcherConfig(max_wait_ms=1))) as url:
        ...                                   # http://127.0.0.1:<free port>, answering /health

The child reads the config back from a JSON file and runs `kit.serve.app.serve`; it is stopped (SIGTERM, then
killed) when the block ends, and on Linux also when its parent dies, even by SIGKILL.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

from kit.errors import KitError
from kit.serve.config import BatcherConfig, ConnectionConfig, ServeConfig

HOST = "127.0.0.1"


def _stop_with_parent() -> None:
    """In the server's process before it starts (Linux): SIGTERM it when its parent dies."""
    import ctypes

    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def config_of(record: dict) -> ServeConfig:
    """A `ServeConfig` from its `asdict` form."""
    nested = {"batching": BatcherConfig(**record["batching"]), "connections": ConnectionConfig(**record["connections"])}
    return ServeConfig(**(record | nested))


@contextmanager
def server_process(config: ServeConfig, start_s: float = 120) -> Iterator[str]:
    """The server's URL once /health answers; a server that exits or is not healthy within `start_s` is a
    KitError with the last line of its log."""
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        spec, log = Path(tmp) / "server.json", Path(tmp) / "serve.log"
        spec.write_text(json.dumps({"config": asdict(config), "port": port}))
        with log.open("wb") as out:
            server = subprocess.Popen(
                [sys.executable, "-m", "kit.serve.process", str(spec)],
                stdout=out,
                stderr=out,
                preexec_fn=_stop_with_parent if sys.platform == "linux" else None,
            )
        url = f"http://{HOST}:{port}"
        try:
            deadline = time.monotonic() + start_s
            while True:
                if server.poll() is not None or time.monotonic() > deadline:
                    tail = log.read_text(errors="replace").strip().splitlines()[-1:]
                    raise KitError(f"the server did not start: {tail}")
                try:
                    urllib.request.urlopen(f"{url}/health", timeout=2)
                    break
                except OSError:
                    time.sleep(0.2)
            yield url
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()


def main(spec: str) -> None:
    from kit.serve.app import serve

    record = json.loads(Path(spec).read_text())
    try:
        serve(config_of(record["config"]), host=HOST, port=record["port"], access_log=False)
    except KitError as e:
        print(f"Error: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main(sys.argv[1])
