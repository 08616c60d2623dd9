"""The server's memory under what a client can send: resident memory (VmRSS, sampled every 20 ms) of a fresh
`nsmckit serve` before, during and after (1) a burst of concurrent requests (16 by default) of 240 texts of
4,000 characters each (961 KB a request, under the default 1 MiB body limit), and (2) a closed-loop load
test of NSMC reviews at 64 clients. Writes JSON to stdout.

    python3 bench/serve_memory.py EXPORT --variant int8 [--requests 16] [--load-seconds 10] > memory.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

TEXT = ("this movie was a great deal of fun and the actors were good " * 80)[:4000]  # 4,000 one-byte characters


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} for {pid}")


class Sampler:
    """The highest resident memory seen while it runs."""

    def __init__(self, pid: int):
        self.pid, self.peak, self.stop = pid, 0.0, threading.Event()
        self.thread = threading.Thread(target=self.run)

    def run(self):
        while not self.stop.is_set():
            self.peak = max(self.peak, rss_mb(self.pid))
            self.stop.wait(0.02)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


def post(url: str, body: bytes) -> int:
    request = urllib.request.Request(url, body, {"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=600) as reply:
            reply.read()
            return reply.status
    except urllib.error.HTTPError as e:
        return e.code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export")
    parser.add_argument("--variant", default=None)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--requests", type=int, default=16)
    parser.add_argument("--load-seconds", type=float, default=10.0)
    args = parser.parse_args()
    url = f"http://127.0.0.1:{args.port}"
    command = [sys.executable, "-m", "kit.cli", "serve", args.export, "--port", str(args.port), "--no-access-log"]
    server = subprocess.Popen(command + (["--variant", args.variant] if args.variant else []))
    try:
        while True:
            try:
                urllib.request.urlopen(f"{url}/health", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        report = {"export": args.export, "variant": args.variant, "ready_mb": rss_mb(server.pid)}
        body = json.dumps({"texts": [TEXT] * 240}).encode()
        report["burst_request_bytes"] = len(body)
        with Sampler(server.pid) as sampler, ThreadPoolExecutor(args.requests) as pool:
            start = time.perf_counter()
            statuses = list(pool.map(lambda _: post(f"{url}/predict", body), range(args.requests)))
            report["burst_seconds"] = time.perf_counter() - start
        report |= {"burst_statuses": statuses, "burst_peak_mb": sampler.peak, "after_burst_mb": rss_mb(server.pid)}
        with Sampler(server.pid) as sampler:
            load = [sys.executable, "-m", "kit.cli", "loadtest", url, "--concurrency", "64"]
            subprocess.run([*load, "--duration", str(args.load_seconds)], check=True, stdout=subprocess.DEVNULL)
        report |= {"load_peak_mb": sampler.peak, "process_peak_mb": rss_mb(server.pid, "VmHWM")}
    finally:
        server.terminate()
        server.wait(timeout=60)
    report["cpu"] = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        "?",
    )
    report["cores"] = os.cpu_count()
    json.dump(report, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
