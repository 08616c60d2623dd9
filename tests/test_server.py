"""The HTTP server, for real: uvicorn on 127.0.0.1 serving the tiny export."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time

import httpx
import numpy as np
import pytest

from kit.runtime.classifiers import load_classifier
from tests.helpers import wait_until
from tests.serving import BAD_REQUESTS, LIMIT_FLAGS, free_port, start_server

TEXTS = ["정말 재미있어요 최고", "시간 아깝다 최악", "", "😂 CG는 awesome한데 story가 boring", "감동 " * 300]


def concurrent_probabilities(url: str, n: int) -> list[list[float]]:
    """POST TEXTS[i % 5] for i < n all at once; probabilities in request order."""

    async def burst():
        async with httpx.AsyncClient(base_url=url) as client:
            replies = await asyncio.gather(*(client.post("/predict", json={"text": TEXTS[i % 5]}) for i in range(n)))
        return [r.json()["probabilities"] for r in replies]

    return asyncio.run(burst())


@pytest.fixture(scope="module")
def server(tiny_export):
    proc, url = start_server(tiny_export.path, "--max-wait-ms", "10", *LIMIT_FLAGS)
    yield url
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def offline(tiny_export):
    return load_classifier(tiny_export.path)


def test_http_predictions_equal_offline_single_batched_and_concurrent(server, offline, tiny_model_dir):
    expected = offline.predict_proba(TEXTS)
    for text, probs in zip(TEXTS, expected):
        body = httpx.post(f"{server}/predict", json={"text": text}).json()
        # the model's id is what the export was made from, not the folder it is served from (/model in the image)
        assert body["label"] == int(probs.argmax()) and body["model"] == tiny_model_dir.name
        assert body["label_name"] in ("negative", "positive")
        assert np.allclose(body["probabilities"], probs, atol=1e-5)
    batched = httpx.post(f"{server}/predict", json={"texts": TEXTS}).json()["predictions"]
    assert np.allclose([p["probabilities"] for p in batched], expected, atol=1e-5)
    assert np.allclose(concurrent_probabilities(server, 60), [expected[i % 5] for i in range(60)], atol=1e-5)


@pytest.mark.parametrize(("request_kwargs", "status", "message"), BAD_REQUESTS)
def test_bad_requests_get_their_status_while_good_ones_succeed(server, request_kwargs, status, message):
    async def mixed():
        async with httpx.AsyncClient(base_url=server) as client:
            good = [client.post("/predict", json={"text": t}) for t in TEXTS[:4]]
            return await asyncio.gather(client.post("/predict", **request_kwargs), *good)

    bad, *good = asyncio.run(mixed())
    assert bad.status_code == status and message in bad.json()["error"]
    assert [g.status_code for g in good] == [200] * 4


def test_info_and_metrics(server):
    info = httpx.get(f"{server}/info").json()
    assert info["max_length"] == 64 and "truncated" in info["truncation"]
    assert info["provider"] == "cpu" and info["variant"] == "fp32"
    assert info["batching"]["max_wait_ms"] == 10 and info["manifest"]["variants"]
    assert info["runtime"] == {"threads": None, "spinning": False}

    def count(text: str, name: str) -> float:
        for line in text.splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    before = httpx.get(f"{server}/metrics").text
    for _ in range(3):
        httpx.post(f"{server}/predict", json={"text": "좋아요"})
    httpx.post(f"{server}/predict", json={"text": 1})
    after = httpx.get(f"{server}/metrics").text
    ok = 'nsmc_requests_total{endpoint="/predict",status="200"}'
    bad = 'nsmc_requests_total{endpoint="/predict",status="422"}'
    assert count(after, ok) - count(before, ok) == 3
    assert count(after, bad) - count(before, bad) == 1
    assert count(after, "nsmc_batch_size_count") >= count(before, "nsmc_batch_size_count") + 1
    assert "nsmc_queue_depth" in after and "nsmc_batch_tokens_bucket" in after


@pytest.mark.parametrize("parallel_calls", [1, 2])
def test_batcher_runs_at_most_parallel_calls_batches_at_once(offline, parallel_calls):
    from kit.serve.config import BatcherConfig
    from kit.serve.request_batcher import DynamicBatcher

    lock, in_flight, peak, calls = threading.Lock(), [0], [0], [0]
    # The first `parallel_calls` calls meet at a barrier: they return only once that many run at once, so
    # the overlap is proven by an event, not hoped for by a sleep (a barrier that is never met times out).
    meet = threading.Barrier(parallel_calls, timeout=30)

    def predict(batch):
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
            calls[0] += 1
            first = calls[0] <= parallel_calls
        if first:
            meet.wait()
        try:
            return offline.run(batch)
        finally:
            with lock:
                in_flight[0] -= 1

    texts = [TEXTS[i % 5] for i in range(40)]

    async def burst():
        config = BatcherConfig(max_batch_size=4, max_wait_ms=0, parallel_calls=parallel_calls)
        batcher = DynamicBatcher(predict, offline.pad_id, config)
        batcher.start()
        rows = await asyncio.gather(*(batcher.submit(offline.encode([t])) for t in texts))
        await batcher.stop()
        return np.concatenate(rows)

    assert np.allclose(asyncio.run(burst()), offline.predict_logits(texts), atol=1e-5)
    assert peak[0] == parallel_calls


def test_one_large_request_runs_as_calls_within_the_token_budget(offline):
    """A request far larger than max_batch_tokens is cut into several model calls, each within the budget, and
    its answer is the same as one call's: what a client sends cannot size the model's memory."""
    from kit.serve.config import BatcherConfig
    from kit.serve.request_batcher import DynamicBatcher

    shapes = []

    def predict(batch):
        shapes.append(batch["input_ids"].shape)
        return offline.run(batch)

    texts = [TEXTS[i % 5] * 8 for i in range(120)]
    config = BatcherConfig(max_batch_tokens=512, max_batch_size=64, max_wait_ms=0)

    async def one_request():
        batcher = DynamicBatcher(predict, offline.pad_id, config)
        batcher.start()
        rows = await batcher.submit(offline.encode(texts))
        await batcher.stop()
        return rows

    assert np.allclose(asyncio.run(one_request()), offline.predict_logits(texts), atol=1e-5)
    assert len(shapes) > 1 and all(rows * length <= 512 and rows <= 64 for rows, length in shapes)


def test_a_failing_model_call_fails_its_batch_only(offline):
    from kit.serve.config import BatcherConfig
    from kit.serve.request_batcher import DynamicBatcher

    calls = []

    def predict(batch):
        calls.append(batch["input_ids"].shape)
        if len(calls) == 1:
            raise RuntimeError("model fell over")
        return offline.run(batch)

    async def two_batches():
        batcher = DynamicBatcher(predict, offline.pad_id, BatcherConfig(max_wait_ms=0))
        batcher.start()
        first = await asyncio.gather(batcher.submit(offline.encode(TEXTS[:1])), return_exceptions=True)
        second = await batcher.submit(offline.encode(TEXTS[1:2]))
        queued = batcher.queued_sequences
        await batcher.stop()
        return first[0], second, queued

    failed, rows, queued = asyncio.run(two_batches())
    assert isinstance(failed, RuntimeError) and "fell over" in str(failed)
    assert np.allclose(rows, offline.predict_logits(TEXTS[1:2]), atol=1e-5)
    assert queued == 0


@pytest.mark.slow
def test_cpu_throughput_flags_serve_the_same_predictions(tiny_export, offline):
    proc, url = start_server(tiny_export.path, "--threads", "1", "--parallel-calls", "2", "--spin")
    try:
        info = httpx.get(f"{url}/info").json()
        assert info["batching"]["parallel_calls"] == 2
        assert info["runtime"] == {"threads": 1, "spinning": True}
        expected = offline.predict_proba(TEXTS)
        assert np.allclose(concurrent_probabilities(url, 40), [expected[i % 5] for i in range(40)], atol=1e-5)
    finally:
        proc.kill()


@pytest.mark.slow
def test_full_queue_answers_429_with_retry_after(tiny_export):
    flags = ("--max-queue", "2", "--max-texts", "2", "--max-wait-ms", "300", "--max-batch-size", "64")
    proc, url = start_server(tiny_export.path, *flags)
    try:

        async def flood():
            async with httpx.AsyncClient(base_url=url) as client:
                return await asyncio.gather(*(client.post("/predict", json={"text": "좋다"}) for _ in range(12)))

        replies = asyncio.run(flood())
        codes = [r.status_code for r in replies]
        assert 429 in codes and 200 in codes and set(codes) <= {200, 429}
        refused = next(r for r in replies if r.status_code == 429)
        assert refused.headers["retry-after"] == "1" and "overloaded" in refused.json()["error"]
    finally:
        proc.kill()


@pytest.mark.slow
def test_sigterm_finishes_in_flight_requests(tiny_export):
    proc, url = start_server(tiny_export.path, "--max-wait-ms", "1500")
    results = {}

    def slow_request():
        results["reply"] = httpx.post(f"{url}/predict", json={"text": "좋다"}, timeout=30)

    thread = threading.Thread(target=slow_request)
    thread.start()
    wait_until(lambda: "nsmc_queue_depth 1.0" in httpx.get(f"{url}/metrics").text, 30, "request in the batcher")
    proc.send_signal(signal.SIGTERM)
    thread.join(timeout=30)
    assert proc.wait(timeout=30) == 0
    assert results["reply"].status_code == 200 and "label" in results["reply"].json()


def test_health_is_503_until_the_model_is_warm(tiny_export, monkeypatch):
    """In-process server whose model load waits on an event, so the loading window can be observed."""
    import uvicorn

    import kit.runtime.ort_backend
    from kit.serve.app import ServeConfig, create_app

    release = threading.Event()
    real_init = kit.runtime.ort_backend.OrtBackend.__init__

    def gated_init(self, *args, **kwargs):
        release.wait(30)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(kit.runtime.ort_backend.OrtBackend, "__init__", gated_init)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(ServeConfig(str(tiny_export.path))), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run)
    thread.start()
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                first = httpx.get(f"{url}/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        assert first.status_code == 503
        assert httpx.post(f"{url}/predict", json={"text": "좋다"}).status_code == 503
        release.set()
        wait_until(lambda: httpx.get(f"{url}/health").status_code == 200, 30, "healthy server")
        assert httpx.post(f"{url}/predict", json={"text": "좋다"}).status_code == 200
    finally:
        release.set()
        server.should_exit = True
        thread.join(timeout=30)


@pytest.mark.slow
def test_serving_path_imports_no_torch(tiny_export):
    """As in the serving image, where torch, transformers and Optimum are not installed: the CLI, the app
    and the ONNX classifier load and predict without them."""
    script = (
        "import sys\n"
        "sys.modules.update(torch=None, transformers=None, optimum=None)  # importing them now fails\n"
        "from click.testing import CliRunner\n"
        "from kit.cli import main\n"
        "from kit.runtime.classifiers import load_classifier\n"
        "from kit.serve.app import create_app, ServeConfig\n"
        "assert CliRunner().invoke(main, ['serve', '--help']).exit_code == 0\n"
        f"create_app(ServeConfig({str(tiny_export.path)!r}))\n"
        f"assert load_classifier({str(tiny_export.path)!r}).predict_proba(['좋다']).shape == (1, 2)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=os.environ)
    assert proc.returncode == 0, proc.stderr


def test_loadtest_against_the_server(server, tmp_path):
    from click.testing import CliRunner

    from kit.cli import main

    texts = tmp_path / "texts.txt"
    texts.write_text("\n".join(TEXTS[:4]), encoding="utf-8")
    out = tmp_path / "lt"
    args = [
        "loadtest",
        server,
        "--texts-file",
        str(texts),
        "--output",
        str(out),
        *"--concurrency 1,4 --requests 20 --duration 5".split(),
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    data = json.loads((out / "results.json").read_text())
    assert [c["concurrency"] for c in data["cells"]] == [1, 4]
    for cell in data["cells"]:
        assert cell["rows"] == 20 and cell["errors"] == {}
        assert cell["latency_ms"]["p50"] <= cell["latency_ms"]["p90"] <= cell["latency_ms"]["p99"]
    refused = CliRunner().invoke(
        main, [*args[:4], "--output", str(out), *"--concurrency 2 --requests 6 --texts-per-request 9".split()]
    )
    assert refused.exit_code == 0, refused.output
    cell = json.loads((out / "results.json").read_text())["cells"][0]
    assert cell["errors"] == {"413": 6} and cell["status"] == "failed"  # the server's --max-texts is 8
    remote = CliRunner().invoke(main, ["loadtest", "http://192.0.2.1:8000", "--texts-file", str(texts)])
    assert remote.exit_code == 1 and "not a loopback address" in remote.output
    nobody = CliRunner().invoke(main, ["loadtest", f"http://127.0.0.1:{free_port()}", "--texts-file", str(texts)])
    assert nobody.exit_code == 1 and "no nsmckit server answers /info" in nobody.output
