"""Two attacks on `nsmckit serve`, measured (issue 37): `/health` while clients pipeline cheap requests and
never read the answers, and a steady upload among clients trickling a byte at a time.

The clients are this checkout's (`kit.bench.hostile`); the server is `nsmckit serve` from `--server-checkout`
(default: this one), so one script measures two versions of the server on one machine:

    python bench/serve_attacks.py EXPORT --out bench/results/serve-attacks-cpu/now.json
    git worktree add /tmp/before 4cb0da7
    python bench/serve_attacks.py EXPORT --server-checkout /tmp/before --out bench/results/serve-attacks-cpu/before.json

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
import time
from pathlib import Path

import httpx

from kit.bench.hostile import PIPELINED_INFO, Tricklers, stalled, steady_upload

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def server(checkout: Path, export: str, cap: int):
    """`nsmckit serve` from `checkout`'s `kit`, once /health answers."""
    port = free_port()
    log = tempfile.TemporaryFile()
    args = [sys.executable, "-m", "kit.cli", "serve", export, "--port", str(port), "--max-connections", str(cap)]
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=checkout)
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


def slow_readers(url: str, readers: int, pipelined: int, probe_s: float) -> dict:
    """`readers` clients each pipeline `pipelined` GET /info and never read; /health probed once a second."""
    with stalled(url, readers, PIPELINED_INFO * pipelined, timeout=1):
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
    uploads = []
    with Tricklers(url, tricklers):
        for _ in range(trials):
            start = time.perf_counter()
            status = steady_upload(url, kb_per_s)
            uploads.append({"status": status, "seconds": round(time.perf_counter() - start, 1)})
    ok = sum(u["status"].endswith("200 OK") for u in uploads)
    return {"tricklers": tricklers, "kb_per_s": kb_per_s, "ok": ok, "uploads": uploads}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("export")
    parser.add_argument("--out", required=True)
    parser.add_argument("--server-checkout", type=Path, default=ROOT, help="the checkout whose server is measured")
    parser.add_argument("--cap", type=int, default=50, help="--max-connections of each server")
    parser.add_argument("--readers", type=int, default=120)
    parser.add_argument("--pipelined", type=int, default=3000)
    parser.add_argument("--probe-seconds", type=float, default=30)
    parser.add_argument("--tricklers", type=int, default=110)
    parser.add_argument("--trials", type=int, default=3)
    args = parser.parse_args()

    checkout = args.server_checkout.resolve()
    commit = subprocess.run(
        ["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    result = {"server_commit": commit, "cap": args.cap}
    export = str(Path(args.export).resolve())
    with server(checkout, export, args.cap) as url:
        result["slow_readers"] = slow_readers(url, args.readers, args.pipelined, args.probe_seconds)
        print("slow readers:", result["slow_readers"], flush=True)
    with server(checkout, export, args.cap) as url:
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
