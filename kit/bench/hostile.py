"""Hostile clients, for measuring what a server's bounds hold against (`bench/serve_attacks.py`) and for the
tests of `kit.serve.connections`: connections that send a first part and stall, byte-tricklers that come
straight back when dropped, and a steady upload in bursts. Raw sockets: an HTTP client would read answers.

    with stalled(url, 120, PIPELINED_INFO * 3000):     # pipeline, never read the answers
        ...
    with Tricklers(url, 110):                           # a byte each every 50 ms
        status = steady_upload(url, kb_per_s=50)        # "HTTP/1.1 200 OK", or what happened instead
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator

TRICKLE_HEAD = b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{"
PIPELINED_INFO = b"GET /info HTTP/1.1\r\nHost: x\r\n\r\n"
UPLOAD_TEXTS = ["좋은 영화 " * 150] * 200  # 420 KB of JSON: long reviews, a big but legitimate request


def connect(url: str, timeout: float) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=timeout)


@contextlib.contextmanager
def stalled(url: str, count: int, first_bytes: bytes, timeout: float = 5) -> Iterator[list[socket.socket]]:
    """`count` connections that send `first_bytes` (as much as the server takes within `timeout`) and then
    nothing, closed when the block ends."""
    clients = []
    try:
        for _ in range(count):
            clients.append(connect(url, timeout))
            with contextlib.suppress(OSError):  # a server that stops reading takes less
                clients[-1].sendall(first_bytes)
        yield clients
    finally:
        for client in clients:
            client.close()


class Tricklers:
    """`count` connections sending a request body a byte each every `every_s`; one dropped by the server
    comes straight back. The thread stops before the sockets close, so none reconnects after the block."""

    def __init__(self, url: str, count: int, every_s: float = 0.05, timeout: float = 5):
        self.url, self.count, self.every_s, self.timeout = url, count, every_s, timeout
        self.done = threading.Event()

    def __enter__(self) -> Tricklers:
        self.stack = contextlib.ExitStack()
        self.flood = self.stack.enter_context(stalled(self.url, self.count, TRICKLE_HEAD, self.timeout))
        self.thread = threading.Thread(target=self._trickle, daemon=True)
        self.thread.start()
        return self

    def _trickle(self) -> None:
        while not self.done.wait(self.every_s):
            for i, client in enumerate(self.flood):
                try:
                    client.send(b" ")
                except OSError:
                    with contextlib.suppress(OSError):
                        client.close()
                        self.flood[i] = connect(self.url, self.timeout)
                        self.flood[i].sendall(TRICKLE_HEAD)

    def __exit__(self, *exc) -> None:
        self.done.set()
        self.thread.join()
        self.stack.close()


def steady_upload(url: str, kb_per_s: float = 50, burst: int = 5000, timeout: float = 120) -> str:
    """POST /predict with `UPLOAD_TEXTS`, sent in `burst`-byte pieces at `kb_per_s`: the answer's status line,
    else what happened instead ("closed", or the socket error's name)."""
    body = json.dumps({"texts": UPLOAD_TEXTS}, ensure_ascii=False).encode()
    head = f"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    try:
        with connect(url, timeout) as upload:
            upload.sendall(head.encode())
            for at in range(0, len(body), burst):
                upload.sendall(body[at : at + burst])
                time.sleep(burst / 1000 / kb_per_s)
            return upload.recv(64).split(b"\r\n")[0].decode() or "closed"
    except OSError as e:
        return type(e).__name__
