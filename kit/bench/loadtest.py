"""`nsmckit loadtest URL`: what a running server sustains, closed-loop or open-loop. A measurement client
(aiohttp, the `loadtest` extra), so it lives with the other measurements, not in the serving image.

Closed loop (`concurrency`): N clients send real reviews back to back. When the server slows down the
clients slow down with it, so queueing never shows in their latency (coordinated omission): good for
"how fast can it go", misleading for "how slow does it get".

Open loop (`rates`): requests leave on a schedule fixed in advance (Poisson or evenly spaced arrivals at R
requests/s), whatever the server does, and each latency is measured from the request's *scheduled* time
(as wrk2 does), so a server that falls behind shows its whole queue. A run reports the offered and the
achieved rate, p50-p99.9, errors and 429s, and the p99 of each quarter of the run: growing quarters mean
the offered rate is above what the server sustains.

Both report in the benchmark's result format. Loops are bounded in time and count; only loopback
addresses are targeted unless explicitly allowed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from urllib.parse import urlparse

import numpy as np

from kit.bench.results import BenchResult, LoadCell
from kit.bench.stats import summarize
from kit.data.nsmc import request_texts, texts_file_setting
from kit.data.splits import data_dir_setting
from kit.environment import environment
from kit.errors import KitError
from kit.settings import check_settings, setting

ARRIVALS = ("poisson", "constant")
MAX_SCHEDULED = 1_000_000  # requests in one open-loop level: far beyond what one client machine sends


@dataclass
class LoadtestConfig:
    url: str  # server root, e.g. http://127.0.0.1:8000
    concurrency: tuple[int, ...] = setting((1, 8, 32, 128), "Closed loop: comma-separated client counts.", min=1)
    rates: tuple[float, ...] = ()  # open loop: offered requests/s, one level each (the CLI's --rate/--rate-range)
    arrivals: str = setting(
        "poisson", "Open loop: Poisson arrivals (bursty, like real traffic) or evenly spaced ones.", choices=ARRIVALS
    )
    duration_s: float = setting(10.0, "Seconds per level.", flag="--duration", min=0.1)
    requests: int | None = setting(None, "Stop a level after this many requests.", min=1)
    texts_per_request: int = setting(1, "Texts per request.", min=1)
    max_in_flight: int = setting(
        512,
        "Open loop: requests in flight at most; a request beyond waits for a slot, its latency still counted "
        "from its scheduled time.",
        min=1,
    )
    texts_file: str | None = texts_file_setting()
    data_dir: str | None = data_dir_setting("NSMC folder for the default texts.")
    texts: tuple[str, ...] = ()  # the texts to send, cycled (from Python); else --texts-file's, else NSMC test's
    timeout_s: float = 30.0
    seed: int = 0  # the Poisson schedule
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


MAX_LEVELS = 100  # rates one --rate-range may ask for: each level runs --duration seconds


def parse_rate_range(text: str) -> tuple[float, ...]:
    """'A:B:STEP' -> (A, A+STEP, ..., <= B) requests/s."""
    try:
        low, high, step = (float(part) for part in text.split(":"))
    except ValueError as e:
        raise KitError(f"--rate-range {text!r}: expected LOW:HIGH:STEP in requests/s, e.g. 20:200:20") from e
    if not all(map(np.isfinite, (low, high, step))):
        raise KitError(f"--rate-range {text!r}: LOW, HIGH and STEP must be finite numbers")
    if not (0 < low <= high and step > 0):
        raise KitError(f"--rate-range {text!r}: needs 0 < LOW <= HIGH and STEP > 0")
    levels = int((high - low) / step) + 1
    if levels > MAX_LEVELS:
        raise KitError(f"--rate-range {text!r}: {levels:,} levels; at most {MAX_LEVELS} (raise STEP)")
    return tuple(float(r) for r in np.arange(low, high + step / 2, step))


@dataclass
class _Sent:
    """One request: when it was due (seconds into the level), how long it took from then, its status."""

    due: float
    latency_ms: float
    status: str


class _Client:
    """Builds request bodies from the texts and sends them, recording status and latency."""

    def __init__(self, session, config: LoadtestConfig):
        self.session, self.config = session, config
        self.url = config.url.rstrip("/") + "/predict"
        self.sent = 0

    def body(self) -> dict:
        k, n = self.config.texts_per_request, len(self.config.texts)
        texts = [self.config.texts[(self.sent * k + j) % n] for j in range(k)]
        self.sent += 1
        return {"text": texts[0]} if k == 1 else {"texts": texts}

    async def send(self, body: dict, due: float, level_start: float) -> _Sent:
        try:
            async with self.session.post(self.url, json=body) as response:
                await response.read()
                status = str(response.status)
        except Exception as e:  # connection refused/reset, timeouts: count them, keep going
            status = type(e).__name__
        return _Sent(due, (time.perf_counter() - level_start - due) * 1e3, status)


async def _closed_level(client: _Client, config: LoadtestConfig, concurrency: int) -> tuple[list[_Sent], float]:
    sent: list[_Sent] = []
    start = time.perf_counter()

    def more() -> bool:
        in_time = time.perf_counter() - start < config.duration_s
        return in_time and (config.requests is None or client.sent < config.requests)

    async def worker():
        while more():
            body, due = client.body(), time.perf_counter() - start
            try:
                sent.append(await client.send(body, due, start))
            except asyncio.CancelledError:  # the level is over: an answer still owed counts as unanswered
                sent.append(_Sent(due, (time.perf_counter() - start - due) * 1e3, "unanswered"))
                raise

    # Answers are awaited at most `duration_s` past the level's end, as in the open loop.
    await _settle([asyncio.create_task(worker()) for _ in range(concurrency)], start + 2 * config.duration_s)
    return sent, time.perf_counter() - start


async def _settle(tasks: list[asyncio.Task], deadline: float) -> tuple[set, set]:
    """Wait for `tasks` until `deadline` (perf_counter); cancel those still running. (done, cancelled)"""
    if not tasks:  # a schedule with no arrival in the level (a low rate, a short level)
        return set(), set()
    done, late = await asyncio.wait(tasks, timeout=max(0.0, deadline - time.perf_counter()))
    for task in late:
        task.cancel()
    await asyncio.gather(*late, return_exceptions=True)
    return done, late


def schedule(rate: float, config: LoadtestConfig) -> np.ndarray:
    """Send times (seconds into the level) for `rate` requests/s over the level, fixed before it starts."""
    count = int(np.ceil(rate * config.duration_s * 1.5)) + 8
    if config.arrivals == "poisson":
        times = np.cumsum(np.random.default_rng(config.seed).exponential(1.0 / rate, size=count))
    else:
        times = np.arange(count) / rate
    times = times[times < config.duration_s]
    return times[: config.requests] if config.requests else times


async def _open_level(client: _Client, config: LoadtestConfig, rate: float) -> tuple[list[_Sent], float]:
    """The schedule, sent on time for `duration_s`; answers are awaited at most `duration_s` longer, and what
    has not come back by then counts as `unanswered`, so a level ends on time whatever the server does. A
    schedule the generator cannot keep (faster than this machine sends) is cut at the end: what was really
    sent is what is reported as offered."""
    slots = asyncio.Semaphore(config.max_in_flight)
    start = time.perf_counter()
    end = start + config.duration_s

    async def one(due: float, body: dict) -> _Sent:
        try:
            return await client.send(body, due, start)
        finally:
            slots.release()

    tasks: dict[asyncio.Task, float] = {}
    for due in schedule(rate, config):
        delay = start + due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        try:  # at the in-flight cap the send waits (its latency still runs from `due`), but not past the end
            await asyncio.wait_for(slots.acquire(), max(0.0, end - time.perf_counter()))
        except asyncio.TimeoutError:
            break
        tasks[asyncio.create_task(one(float(due), client.body()))] = float(due)
    done, late = await _settle(list(tasks), end + config.duration_s)
    elapsed = time.perf_counter() - start
    sent = [task.result() for task in done]
    sent += [_Sent(tasks[task], (elapsed - tasks[task]) * 1e3, "unanswered") for task in late]
    return sorted(sent, key=lambda s: s.due), elapsed


def quarter_p99(sent: list[_Sent], span: float) -> list[float] | None:
    """p99 latency of the answered requests due in each quarter of the level."""
    quarters = [
        [s.latency_ms for s in sent if s.status == "200" and q * span / 4 <= s.due < (q + 1) * span / 4]
        for q in range(4)
    ]
    return [summarize(q).p99 for q in quarters] if all(quarters) else None


def _cell(config: LoadtestConfig, sent: list[_Sent], elapsed: float, info: dict, **load) -> LoadCell:
    ok = [s.latency_ms for s in sent if s.status == "200"]
    errors = dict(Counter(s.status for s in sent if s.status != "200"))
    return LoadCell(
        variant=info.get("variant", "?"),
        max_length=info.get("max_length", 0),
        texts_per_request=config.texts_per_request,
        rows=len(ok),
        latency_ms=summarize(ok).to_dict() if ok else None,
        samples_per_s=len(ok) * config.texts_per_request / elapsed,
        errors=errors,
        quarter_p99_ms=quarter_p99(sent, config.duration_s),
        status="ok" if ok else "failed",
        reason=None if ok else f"no successful request ({errors})",
        **load,
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

    connector = aiohttp.TCPConnector(limit=config.max_in_flight if config.rates else max(config.concurrency))
    timeout = aiohttp.ClientTimeout(total=config.timeout_s)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        info = await _server_info(session, config.url)
        levels = [("rate", r) for r in config.rates] or [("concurrency", c) for c in config.concurrency]
        for kind, value in levels:
            client = _Client(session, config)
            if kind == "rate":
                sent, elapsed = await _open_level(client, config, value)
                cell = _cell(config, sent, elapsed, info, offered_per_s=len(sent) / config.duration_s)
                what = (
                    f"rate {value:g}/s asked, {cell.offered_per_s:,.1f}/s offered ({config.arrivals} arrivals), "
                    f"achieved {cell.samples_per_s:,.1f} texts/s"
                )
            else:
                sent, elapsed = await _closed_level(client, config, value)
                cell = _cell(config, sent, elapsed, info, concurrency=value)
                what = f"concurrency {value}: {cell.samples_per_s:,.1f} texts/s"
            result.cells.append(cell)
            if on_cell:
                on_cell(result)
            p = cell.latency_ms or {}
            progress(f"{what}, p50 {p.get('p50', 0):.1f} ms, p99 {p.get('p99', 0):.1f} ms, errors {cell.errors or 0}")


def run_loadtest(config: LoadtestConfig, progress=print, on_cell: Callable | None = None) -> BenchResult:
    """Every level in turn; `on_cell(result so far)` after each, as `kit.bench.runner.run_bench`."""
    check_settings(config)
    if any(r <= 0 for r in config.rates):
        raise KitError("a rate must be positive (requests/s)")
    if any(r * config.duration_s > MAX_SCHEDULED for r in config.rates):
        raise KitError(
            f"--rate {max(config.rates):g} for {config.duration_s:g} s would schedule more than {MAX_SCHEDULED:,} "
            "requests in one level; lower the rate or the duration"
        )
    if not config.allow_remote:
        check_loopback(config.url)
    if not config.texts:
        config = replace(config, texts=request_texts(config.texts_file, config.data_dir))
    result = BenchResult(asdict(config) | {"texts": f"{len(config.texts)} texts"}, environment(), False, [])
    asyncio.run(_run(config, progress, result, on_cell))
    return result
