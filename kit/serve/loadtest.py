"""`nsmckit loadtest URL`: what a running server sustains, per concurrency level.

Each level runs `concurrency` clients that send real reviews back to back for a fixed
duration (or until a request count is reached), then reports throughput, latency
percentiles and errors in the benchmark's result format. Loops are bounded in time
and count; only loopback addresses are targeted unless explicitly allowed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlparse

from kit.bench.results import BenchResult, Cell
from kit.bench.stats import summarize
from kit.environment import environment
from kit.errors import KitError
from kit.settings import check_settings, setting


@dataclass
class LoadtestConfig:
    url: str  # server root, e.g. http://127.0.0.1:8000
    concurrency: tuple[int, ...] = setting((1, 8, 32, 128), "Comma-separated concurrency levels.", min=1)
    duration_s: float = setting(10.0, "Seconds per level.", flag="--duration", min=0.1)
    requests: int | None = setting(None, "Stop a level after this many requests.", min=1)
    texts_per_request: int = setting(1, "Texts per request.", min=1)
    texts: tuple[str, ...] = ()  # the texts to send, cycled
    timeout_s: float = 30.0
    allow_remote: bool = setting(False, "Allow a non-loopback URL.")


def check_loopback(url: str) -> None:
    host = urlparse(url).hostname
    if not host:
        raise KitError(f"{url}: not an http(s) URL")
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except socket.gaierror as e:
        raise KitError(f"{url}: cannot resolve {host} ({e.strerror})") from e
    if not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses):
        raise KitError(f"{url} is not a loopback address; pass --allow-remote to load-test another machine")


async def _level(session, config: LoadtestConfig, concurrency: int) -> Cell:
    latencies: list[float] = []
    errors: dict[str, int] = {}
    sent = 0
    deadline = time.perf_counter() + config.duration_s
    n = len(config.texts)
    url = config.url.rstrip("/") + "/predict"

    async def worker():
        nonlocal sent
        while time.perf_counter() < deadline and (config.requests is None or sent < config.requests):
            i = sent
            sent += 1
            texts = [config.texts[(i * config.texts_per_request + k) % n] for k in range(config.texts_per_request)]
            body = {"text": texts[0]} if config.texts_per_request == 1 else {"texts": texts}
            start = time.perf_counter()
            try:
                async with session.post(url, json=body) as response:
                    await response.read()
                    status = str(response.status)
            except Exception as e:  # connection refused/reset, timeouts: count them, keep going
                status = type(e).__name__
            if status == "200":
                latencies.append((time.perf_counter() - start) * 1e3)
            else:
                errors[status] = errors.get(status, 0) + 1

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    ok = len(latencies)
    return Cell(
        "loadtest",
        "http",
        "server",
        "dynamic-server",
        0,
        config.texts_per_request,
        rows=ok,
        latency_ms=summarize(latencies).to_dict() if latencies else None,
        samples_per_s=ok * config.texts_per_request / elapsed,
        concurrency=concurrency,
        errors=errors,
        status="ok" if ok else "failed",
        reason=None if ok else f"no successful request ({errors})",
    )


async def _server_info(session, url: str) -> dict:
    import aiohttp

    try:
        async with session.get(url.rstrip("/") + "/info") as response:
            return await response.json()
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as e:
        raise KitError(f"{url}: no nsmckit server answers /info ({type(e).__name__})") from e


async def _run(config: LoadtestConfig, progress, result: BenchResult, on_cell) -> None:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=max(config.concurrency))
    timeout = aiohttp.ClientTimeout(total=config.timeout_s)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        info = await _server_info(session, config.url)
        for concurrency in config.concurrency:
            cell = await _level(session, config, concurrency)
            cell.precision, cell.max_length = info.get("variant", "?"), info.get("max_length", 0)
            result.cells.append(cell)
            if on_cell:
                on_cell(result)
            p = cell.latency_ms or {}
            progress(
                f"concurrency {concurrency}: {cell.samples_per_s:,.1f} texts/s, p50 {p.get('p50', 0):.1f} ms, "
                f"p99 {p.get('p99', 0):.1f} ms, errors {cell.errors or 0}"
            )


def run_loadtest(config: LoadtestConfig, progress=print, on_cell=None) -> BenchResult:
    """Every concurrency level in turn; `on_cell(result so far)` after each, as `kit.bench.runner.run_bench`."""
    check_settings(config)
    if not config.allow_remote:
        check_loopback(config.url)
    if not config.texts:
        raise KitError("no texts to send")
    result = BenchResult(asdict(config) | {"texts": f"{len(config.texts)} texts"}, environment(), False, [])
    asyncio.run(_run(config, progress, result, on_cell))
    return result


def read_texts(path: str) -> tuple[str, ...]:
    lines = [line for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    if not lines:
        raise KitError(f"{path}: no texts")
    return tuple(lines)
