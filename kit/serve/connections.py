"""Connections that a few slow or stalled clients cannot use up: uvicorn's HTTP/1.1 protocol (h11) with a
deadline for each request's headers and body, and a bound on open connections.

uvicorn closes idle keep-alive connections, but a client that sends half its headers, or half its body,
keeps its connection (and a file descriptor) forever; with enough of them the process runs out of file
descriptors, `/health` stops answering and every refused accept is logged. Here:

- a connection waiting for request headers gets `header_timeout_s`, then for the body `body_timeout_s`,
  and one whose client leaves its answers unread (the send buffer full: pipelined requests whose answers
  nobody reads) `write_timeout_s`; a request being computed has no deadline (that is the batcher's
  business), and pipelined requests wait unread in the socket while one is answered (uvicorn pauses
  reading), so each connection holds one request in flight;
- at `max_connections` (below the open-file limit), a new connection displaces the client that has made
  the least progress: of every connection whose request is not in the model right now (`InModel`, kept
  by the app), the one with the fewest bytes per second since it connected. Clients trickling a byte at
  a time, or pipelining cheap requests and never reading the answers, go before a slow but steady upload
  (bench/serve_attacks.py measures both) and cannot lock out a liveness probe; a request in
  the model is never cut off; a new connection that has sent nothing yet is judged at a starting credit,
  not at 0 bytes/s (its first bytes may be on their way); if no connection may be displaced, the new one
  is closed at once;
- dropped and refused connections (and accepts that fail anyway) are logged as counts, at most once per
  `LOG_EVERY_S`.

    in_model = InModel()
    uvicorn.run(create_app(config, in_model=in_model), http=guarded_protocol(ConnectionConfig(), in_model))
"""

from __future__ import annotations

import functools
import logging
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from kit.serve.config import ConnectionConfig, max_connections

LOG_EVERY_S = 10.0
START_CREDIT = (1024, 1.0)  # bytes and seconds every connection's progress rate starts from
FIRST_BYTES_S = 0.25  # how long a new connection that has sent nothing yet counts at twice the credit rate
WAITING_ON = {  # why a connection's deadline runs, as the log says it
    "headers": "waiting for their request headers",
    "body": "waiting for their request body",
    "reader": "waiting for them to read their answers",
}


class ThrottledLog:
    """Counts events by kind and logs them together, at most once per `every_s` seconds."""

    def __init__(self, logger: logging.Logger, every_s: float = LOG_EVERY_S):
        self.logger, self.every_s = logger, every_s
        self.counts: Counter[str] = Counter()
        self.last = float("-inf")

    def note(self, kind: str) -> None:
        self.counts[kind] += 1
        now = time.monotonic()
        if now - self.last >= self.every_s:
            summary = ", ".join(f"{n} {what}" for what, n in self.counts.items())
            self.logger.warning("connections: %s (logged at most every %g s)", summary, self.every_s)
            self.counts.clear()
            self.last = now


class InModel:
    """The clients (peer addresses) whose request is in the model now: the app holds them while it computes,
    and the connection bound never displaces them."""

    def __init__(self):
        self.peers: Counter = Counter()

    @contextmanager
    def holding(self, peer) -> Iterator[None]:
        self.peers[peer] += 1
        try:
            yield
        finally:
            self.peers[peer] -= 1
            if not self.peers[peer]:
                del self.peers[peer]

    def __contains__(self, peer) -> bool:
        return peer in self.peers


class GuardedH11Protocol(H11Protocol):
    """One client connection: uvicorn's h11 protocol plus the deadlines and the connection bound."""

    def __init__(self, *args, limits: ConnectionConfig, log: ThrottledLog, in_model: InModel, **kwargs):
        super().__init__(*args, **kwargs)
        self.limits, self.log, self.in_model = limits, log, in_model
        self.max_connections = max_connections(limits)
        self.waiting_for: str | None = None  # "headers", "body" or "reader" while a deadline runs
        self.connected_at = time.monotonic()
        self.received = 0  # bytes the client sent: its progress
        self.deadline = None

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        if len(self.connections) > self.max_connections and not self._displace_stalled():
            self.log.note("refused at the connection limit")
            transport.close()
            return
        self._watch()

    def data_received(self, data: bytes) -> None:
        self.received += len(data)
        super().data_received(data)
        self._watch()

    def pause_writing(self) -> None:
        """The client leaves its answers unread: it gets `write_timeout_s` to read, and counts as stalled."""
        super().pause_writing()
        self._cancel()
        self.waiting_for = "reader"
        self.deadline = self.loop.call_later(self.limits.write_timeout_s, self._expire)

    def resume_writing(self) -> None:
        super().resume_writing()
        self._cancel()
        self._watch()

    @property
    def progress(self) -> float:
        """Bytes per second the client sent since it connected, counting `START_CREDIT` as sent at connect: a
        plain rate ranks a trickler a millisecond old, its first 70 bytes in, above a steady 50 KB/s upload
        (while displaced tricklers reconnect, every trickler is that young, and the upload lost every time).
        A new connection that has sent nothing yet counts at twice the credit rate for `FIRST_BYTES_S`, above
        a young trickler with its first bytes in: its own first bytes may be on their way."""
        credit_bytes, credit_s = START_CREDIT
        age = time.monotonic() - self.connected_at
        if self.received == 0 and age < FIRST_BYTES_S:
            return 2 * credit_bytes / credit_s
        return (self.received + credit_bytes) / (age + credit_s)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._watch()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel()
        super().connection_lost(exc)

    def _watch(self) -> None:
        """Start the deadline for what the client owes us now, if it changed; none while we owe the answer."""
        state = self.conn.their_state
        waiting_for = "headers" if state is h11.IDLE else "body" if state is h11.SEND_BODY else None
        if waiting_for == self.waiting_for or self.transport.is_closing() or self.waiting_for == "reader":
            return
        self._cancel()
        self.waiting_for = waiting_for
        if waiting_for is not None:
            seconds = self.limits.header_timeout_s if waiting_for == "headers" else self.limits.body_timeout_s
            self.deadline = self.loop.call_later(seconds, self._expire)

    def _cancel(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
        self.deadline, self.waiting_for = None, None

    def _expire(self) -> None:
        if not self.transport.is_closing():
            self.log.note(f"dropped after {WAITING_ON[self.waiting_for]}")
            self.transport.close()

    def _displace_stalled(self) -> bool:
        """Close the connection with the least progress whose request is not in the model; False if there is
        none."""
        displaceable = [
            c
            for c in self.connections
            if c is not self
            and isinstance(c, GuardedH11Protocol)
            and not c.transport.is_closing()
            and c.client not in self.in_model
        ]
        if not displaceable:
            return False
        # of equal progress (new connections that have sent nothing yet) the newest goes: a client whose first
        # bytes were on their way when displaced tricklers reconnected was reset (1 upload in 13)
        slowest = min(displaceable, key=lambda c: (c.progress, -c.connected_at))
        what = WAITING_ON.get(slowest.waiting_for, "while it was being answered")
        self.log.note(f"displaced at the connection limit {what}")
        slowest.transport.close()
        return True


def quiet_accept_errors(loop, log: ThrottledLog) -> None:
    """asyncio logs a traceback for every accept() that fails for want of file descriptors; count them instead
    (the connection limit keeps them from happening; this is for a process whose limit is lower still)."""
    previous = loop.get_exception_handler()

    def handler(loop, context):
        if context.get("message") == "socket.accept() out of system resource":
            log.note("accepts failed: out of file descriptors")
        elif previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)


def guarded_protocol(limits: ConnectionConfig, in_model: InModel):
    """The protocol factory for `uvicorn.Config(http=...)`; `in_model` is the app's (`create_app`)."""
    log = ThrottledLog(logging.getLogger("uvicorn.error"))
    return functools.partial(GuardedH11Protocol, limits=limits, log=log, in_model=in_model)
