"""Two attacks on `nsmckit serve`, measured (issue 37): `/health` while clients pipeline cheap requests and
never read the answers, and a steady upload among clients trickling a byte at a time.

It serves EXPORT with the `kit` on the path, so one script measures two checkouts on one machine:

    python bench/serve_attacks.py EXPORT --out bench/results/serve-attacks-cpu/after.json
    git worktree add /tmp/before 4cb0da7
    PYTHONPATH=/tmp/before python bench/serve_attacks.py EXPORT --out bench/results/serve-attacks-cpu/before.json

Each scenario gets a fresh server at `--max-connections CAP`; every other setting is the checkout's default.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

INFO = b"GET /info HTTP/1.1\r\nHost: x\r\n\r\n"
TRICKLE = b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def server(export: str, cap: int):
    """`nsmckit serve` from the `kit` on the path, once /health answers."""
    port = free_port()
    log = tempfile.TemporaryFile()
    args = [sys.executable, "-m", "kit.cli", "serve", export, "--port", str(port), "--max-connections", str(cap)]
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=os.environ)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise SystemExit(f"the server did not start:\n{log.read().decode()[-2000:]}")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=5)


def send_some(client: socket.socket, data: bytes) -> None:
    """Send what the server takes within the socket's timeout (a server that stops reading takes less)."""
    with contextlib.suppress(OSError):
        client.sendall(data)


def slow_readers(url: str, readers: int, pipelined: int, probe_s: float) -> dict:
    """`readers` clients each pipeline `pipelined` GET /info and never read; /health probed once a second."""
    clients = []
    try:
        for _ in range(readers):
            with contextlib.suppress(OSError):
                clients.append(connect(url))
                clients[-1].settimeout(1)
                send_some(clients[-1], INFO * pipelined)
        time.sleep(2)  # the answers fill the clients' socket buffers
        answered, waits = 0, []
        probes = int(probe_s)
        for _ in range(probes):
            start = time.perf_counter()
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                    answered += 1
                    waits.append(time.perf_counter() - start)
            time.sleep(max(0.0, 1 - (time.perf_counter() - start)))
    finally:
        for client in clients:
            client.close()
    waits.sort()
    return {
        "readers": readers,
        "pipelined_each": pipelined,
        "probes": probes,
        "answered": answered,
        "p50_answer_ms": round(1000 * waits[len(waits) // 2], 1) if waits else None,
    }


def upload_among_tricklers(url: str, tricklers: int, trials: int, kb_per_s: float) -> dict:
    """`tricklers` clients send a byte each every 50 ms (reconnecting when dropped) while one client uploads
    200 long reviews (420 KB) at `kb_per_s` in 5 KB bursts, `trials` times; each upload's status and seconds."""
    texts = ["좋은 영화 " * 150] * 200
    body = json.dumps({"texts": texts}, ensure_ascii=False).encode()
    head = f"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    flood = [connect(url) for _ in range(tricklers)]
    for client in flood:
        send_some(client, TRICKLE)
    done = threading.Event()

    def trickle():
        while not done.wait(0.05):
            for i, client in enumerate(flood):
                try:
                    client.send(b" ")
                except OSError:
                    with contextlib.suppress(OSError):
                        client.close()
                        flood[i] = connect(url)
                        flood[i].sendall(TRICKLE)

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    uploads = []
    try:
        for _ in range(trials):
            start = time.perf_counter()
            try:
                upload = connect(url)
                upload.sendall(head.encode())
                for at in range(0, len(body), 5000):
                    upload.sendall(body[at : at + 5000])
                    time.sleep(5 / kb_per_s)
                upload.settimeout(120)
                status = upload.recv(64).split(b"\r\n")[0].decode() or "closed"
                upload.close()
            except OSError as e:
                status = type(e).__name__
            uploads.append({"status": status, "seconds": round(time.perf_counter() - start, 1)})
    finally:
        done.set()
        thread.join()
        for client in flood:
            client.close()
    ok = sum(u["status"].endswith("200 OK") for u in uploads)
    return {"tricklers": tricklers, "upload_kb": len(body) // 1000, "kb_per_s": kb_per_s, "ok": ok, "uploads": uploads}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("export")
    parser.add_argument("--out", required=True)
    parser.add_argument("--cap", type=int, default=50, help="--max-connections of each server")
    parser.add_argument("--readers", type=int, default=120)
    parser.add_argument("--pipelined", type=int, default=3000)
    parser.add_argument("--probe-seconds", type=float, default=30)
    parser.add_argument("--tricklers", type=int, default=110)
    parser.add_argument("--trials", type=int, default=3)
    args = parser.parse_args()

    import kit

    commit = subprocess.run(
        ["git", "-C", str(Path(kit.__file__).parent), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    result = {"kit": str(Path(kit.__file__).parent), "commit": commit, "cap": args.cap}
    with server(args.export, args.cap) as url:
        result["slow_readers"] = slow_readers(url, args.readers, args.pipelined, args.probe_seconds)
        print("slow readers:", result["slow_readers"], flush=True)
    with server(args.export, args.cap) as url:
        result["upload"] = upload_among_tricklers(url, args.tricklers, args.trials, kb_per_s=50)
        print("upload among tricklers:", result["upload"], flush=True)
    with open("/proc/cpuinfo") as f:
        flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    result["cpu_flags"] = [f for f in flags if f.startswith(("avx", "amx"))]
    result["cpus"] = os.cpu_count()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
