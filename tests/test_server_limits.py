"""A server that a few requests cannot stall or bloat, tried as a hostile client would, against a real
`nsmckit serve`: chunked bodies over the limit, clients that stop mid-request, more stalled connections
than file descriptors, text UTF-8 cannot hold, a request that fails in the model, invented paths."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import socket
import threading

import httpx
import numpy as np
import pytest

from kit.bench.hostile import PIPELINED_INFO, TRICKLE_HEAD, Tricklers, stalled, steady_upload
from kit.runtime.classifiers import load_classifier
from tests.serving import HANG_S, start_server


def stop(proc) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def guarded(tiny_export):
    proc, url = start_server(tiny_export.path, "--header-timeout", "1", "--body-timeout", "1", "--max-wait-ms", "5")
    yield url
    stop(proc)


def metric(url: str, endpoint: str, status: str) -> float:
    line = f'nsmc_requests_total{{endpoint="{endpoint}",status="{status}"}} '
    found = [row for row in httpx.get(f"{url}/metrics").text.splitlines() if row.startswith(line)]
    return float(found[0].rsplit(" ", 1)[1]) if found else 0.0


def test_a_chunked_body_over_the_limit_is_413_and_health_keeps_answering(guarded):
    """10 MB sent with chunked transfer encoding (no Content-Length): refused once 1 MiB has arrived. The body
    stays in flight until /health has answered beside it: a loop stalled by the body would never answer."""
    chunk = b"a" * 65536
    results = {}
    in_flight, answered = threading.Event(), threading.Event()

    def big():
        def body():
            yield b'{"text": "'
            yield chunk
            in_flight.set()  # httpx asks for the next chunk once the first is written
            answered.wait(HANG_S)
            for _ in range(159):
                yield chunk
            yield b'"}'

        headers = {"content-type": "application/json"}
        results["big"] = httpx.post(f"{guarded}/predict", content=body(), headers=headers, timeout=HANG_S)

    sender = threading.Thread(target=big)
    sender.start()
    assert in_flight.wait(HANG_S)
    health = httpx.get(f"{guarded}/health", timeout=HANG_S).status_code
    answered.set()
    sender.join()
    assert health == 200
    assert results["big"].status_code == 413 and "exceeds --max-body-bytes" in results["big"].json()["error"]


def raw_connection(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=HANG_S)


@pytest.mark.parametrize(
    "partial",
    [
        b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: appl",  # stops mid-headers
        b'POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"text": ',  # stops mid-body
    ],
)
@pytest.mark.slow
def test_a_client_that_stops_mid_request_is_dropped(guarded, partial):
    with raw_connection(guarded) as client:  # its read timeout fails the test if the server keeps it open
        client.sendall(partial)
        assert client.recv(1024) == b""  # closed at the 1 s deadline, with no answer owed


def test_stalled_connections_beyond_the_file_limit_leave_health_answering(tiny_export, tmp_path):
    """300 clients that never finish their headers, against a process allowed 256 open files."""
    log = tmp_path / "serve.log"
    proc, url = start_server(tiny_export.path, "--header-timeout", "60", log=log, open_files=256)
    try:
        with stalled(url, 300, b"GET /health HTTP/1.1\r\nHost: x\r\n", timeout=HANG_S):
            for _ in range(5):
                assert httpx.get(f"{url}/health", timeout=HANG_S).status_code == 200
            info = httpx.get(f"{url}/info", timeout=HANG_S).json()
        assert info["connections"]["max_connections"] == 256 - 192  # the accept backlog and 64 files kept free
    finally:
        stop(proc)
    text = log.read_text()
    assert "Too many open files" not in text and "out of system resource" not in text
    assert text.count("connections: ") <= 2 and len(text) < 20_000  # counted, not one line per connection


@pytest.mark.slow
def test_clients_trickling_their_bodies_cannot_lock_out_health(tiny_export):
    """100 clients that send their headers and a first byte of body, then stall (a slow-body flood), against a
    cap of 64 connections: a new connection displaces the stalest of them, so /health keeps answering."""
    proc, url = start_server(tiny_export.path, "--body-timeout", "60", open_files=256)
    try:
        with stalled(url, 100, TRICKLE_HEAD, timeout=HANG_S):
            assert [httpx.get(f"{url}/health", timeout=HANG_S).status_code for _ in range(10)] == [200] * 10
    finally:
        stop(proc)


def test_a_lone_surrogate_is_422(guarded):
    body = b'{"text": "\\ud800"}'  # valid JSON, but no UTF-8 encoding exists for it
    reply = httpx.post(f"{guarded}/predict", content=body, headers={"content-type": "application/json"})
    assert reply.status_code == 422 and "lone surrogate" in reply.json()["error"]


@pytest.fixture(scope="module")
def overlong_export(tiny_export, tmp_path_factory):
    """The tiny export claiming max_length 4096 without its config.json to contradict it: a review longer than
    the model's 128 positions then fails inside ONNX Runtime, as an export with a wrong max_length did."""
    folder = tmp_path_factory.mktemp("overlong") / "export"
    shutil.copytree(tiny_export.path, folder)
    manifest = json.loads((folder / "export.json").read_text())
    manifest["task"]["max_length"] = 4096
    del manifest["files"]["config.json"]
    (folder / "config.json").unlink()
    (folder / "export.json").write_text(json.dumps(manifest))
    return folder


@pytest.mark.slow
def test_a_request_that_fails_in_the_model_fails_alone(tiny_export, overlong_export):
    proc, url = start_server(overlong_export, "--max-wait-ms", "300")
    short = ["정말 재미있어요", "시간 아깝다", "배우 연기 좋았다"]
    try:

        async def together():
            async with httpx.AsyncClient(base_url=url, timeout=30) as client:
                bad = client.post("/predict", json={"text": "감동 " * 400})
                good = [client.post("/predict", json={"text": t}) for t in short]
                return await asyncio.gather(bad, *good)

        bad, *good = asyncio.run(together())
        assert bad.status_code == 500 and "the model failed" in bad.json()["error"]
        assert [g.status_code for g in good] == [200, 200, 200]
        expected = load_classifier(tiny_export.path).predict_proba(short)
        assert np.allclose([g.json()["probabilities"] for g in good], expected, atol=1e-5)
        assert metric(url, "/predict", "500") == 1 and metric(url, "/predict", "200") == 3
    finally:
        stop(proc)


def responses(client: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (its 10 s read timeout fails the test)."""
    chunks = []
    while chunk := client.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_an_ambiguous_length_is_400_and_nothing_after_it_is_read(guarded):
    """Content-Length and Transfer-Encoding together (RFC 9112 6.1): the bytes after the request must not be
    answered as a second, smuggled request."""
    smuggled = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
    request = b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    with raw_connection(guarded) as client:
        client.sendall(request + smuggled)
        reply = responses(client)
    assert reply.startswith(b"HTTP/1.1 400") and reply.count(b"HTTP/1.1") == 1
    assert b"ambiguous" in reply and b"connection: close" in reply.lower()


@pytest.mark.slow
def test_a_request_pipelined_behind_a_model_failure_is_answered(overlong_export):
    """A failure in the model is a 500 for its request alone: the connection stays up, and the request behind
    it on the same keep-alive connection is answered. One log line per failure, with its request id."""
    proc, url = start_server(overlong_export, "--max-wait-ms", "0")
    bad = json.dumps({"text": "감동 " * 400}).encode()
    good = json.dumps({"text": "정말 재미있어요"}).encode()

    def post(body: bytes, close: bool = False) -> bytes:
        connection = b"Connection: close\r\n" if close else b""
        head = f"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        return head.encode() + connection + b"\r\n" + body

    try:
        with raw_connection(url) as client:
            client.sendall(post(bad) + post(good, close=True))
            reply = responses(client)
    finally:
        stop(proc)
    assert reply.count(b"HTTP/1.1 500") == 1 and reply.count(b"HTTP/1.1 200") == 1, reply[:600]
    assert b"request id" in reply


def test_a_declared_body_over_the_limit_is_counted_under_its_route(guarded):
    before = metric(guarded, "/predict", "413")
    with raw_connection(guarded) as client:
        client.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n{")
        assert client.recv(1024).startswith(b"HTTP/1.1 413")
    assert metric(guarded, "/predict", "413") == before + 1


@pytest.mark.slow
def test_unknown_paths_share_one_label_and_every_status_is_counted(guarded):
    before = httpx.get(f"{guarded}/metrics").text
    counted = lambda: (metric(guarded, "unmatched", "404"), metric(guarded, "/predict", "422"))  # noqa: E731
    not_found, invalid = counted()
    for i in range(50):
        httpx.post(f"{guarded}/x{i:06d}", content=b"", headers={"content-length": "0"})
    httpx.post(f"{guarded}/predict", json={"text": 5})
    after = httpx.get(f"{guarded}/metrics").text
    assert "/x0000" not in after
    assert counted() == (not_found + 50, invalid + 1)  # this test's own requests, whatever others sent before
    series = [line for line in after.splitlines() if line.startswith("nsmc_requests_total{")]
    assert len(series) - len([line for line in before.splitlines() if line.startswith("nsmc_requests_total{")]) <= 3


@pytest.mark.slow
def test_clients_that_never_read_their_answers_cannot_lock_out_health(tiny_export):
    """40 clients pipelining 3,000 cheap requests each and never reading the answers, against a cap of 20
    connections: each is blocked writing its answers, which had no deadline and was never displaced (a cap
    of them locked /health out for as long as they were held). Now they count as stalled."""
    proc, url = start_server(tiny_export.path, "--max-connections", "20", "--write-timeout", "600")
    try:
        with stalled(url, 40, PIPELINED_INFO * 3000, timeout=HANG_S):
            threading.Event().wait(2)  # setup: the answers fill the clients' socket buffers
            assert [httpx.get(f"{url}/health", timeout=HANG_S).status_code for _ in range(10)] == [200] * 10
    finally:
        stop(proc)


@pytest.mark.slow
def test_a_steady_upload_survives_a_flood_of_tricklers(tiny_export):
    """110 clients trickling a byte every 50 ms and one uploading 420 KB at 50 KB/s in bursts, against a cap of
    64: displacement went by the oldest last byte, which reset the upload every time; by bytes per second since
    connecting, the tricklers go first."""
    proc, url = start_server(tiny_export.path, "--body-timeout", "60", open_files=256)
    try:
        with Tricklers(url, 110, timeout=HANG_S):
            status = steady_upload(url, kb_per_s=50, timeout=HANG_S)
    finally:
        stop(proc)
    assert status == "HTTP/1.1 200 OK"


def test_a_connection_is_not_displaced_before_its_first_bytes_arrive(tiny_export):
    """At the cap, a client connected a moment ago whose request is still on its way had 0 bytes/s and went
    first, before any trickler: while displaced tricklers reconnected, a steady upload was reset in 1 of 3
    tries. A new connection that has sent nothing yet is judged at a starting credit, so the tricklers go
    first."""
    proc, url = start_server(tiny_export.path, "--max-connections", "8", "--body-timeout", "60")
    try:
        with stalled(url, 8, TRICKLE_HEAD, timeout=HANG_S):
            threading.Event().wait(1)  # setup: the tricklers are older than the new connection
            fresh = raw_connection(url)  # at the cap: displaces a trickler, and sends nothing yet
            late = raw_connection(url)  # displaces the next slowest: a trickler again, not `fresh`
            fresh.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            assert fresh.recv(64).startswith(b"HTTP/1.1 200 OK")
            fresh.close()
            late.close()
    finally:
        stop(proc)
