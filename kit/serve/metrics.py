"""The server's Prometheus metrics, and the middleware that counts every answer.

Every response is counted by route template and status, 4xx and 5xx included (a 500 that escapes the
app too), so monitoring sees failures. Paths that match no route share one label, `unmatched`: a
client cannot grow the series by inventing paths.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from kit.serve.request_batcher import BatchStats

UNMATCHED = "unmatched"


class Metrics:
    def __init__(self):
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "nsmc_requests_total",
            "HTTP responses by route and status (unknown paths: route=unmatched)",
            ["endpoint", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "nsmc_request_seconds",
            "Latency of answered /predict requests",
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.batch_size = Histogram(
            "nsmc_batch_size",
            "Sequences per batch (split into model calls by length)",
            registry=self.registry,
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
        )
        self.batch_tokens = Histogram(
            "nsmc_batch_tokens",
            "Padded positions per batch, summed over its calls",
            registry=self.registry,
            buckets=(16, 64, 256, 1024, 4096, 16384, 65536),
        )
        self.batch_seconds = Histogram(
            "nsmc_batch_seconds",
            "Time a batch spends in the model (all its calls)",
            registry=self.registry,
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1),
        )
        self.calls = Counter(
            "nsmc_model_calls_total", "Model calls (a batch is split by length)", registry=self.registry
        )
        self.queue_depth = Gauge("nsmc_queue_depth", "Sequences waiting for the model", registry=self.registry)

    def on_batch(self, stats: BatchStats) -> None:
        self.batch_size.observe(stats.sequences)
        self.batch_tokens.observe(stats.padded_tokens)
        self.batch_seconds.observe(stats.seconds)
        self.calls.inc(stats.calls)


class CountResponses:
    """ASGI middleware: one `nsmc_requests_total` increment per HTTP response, labelled by the route template
    the router matched (set in the scope as it routes), or for an answer given before routing (a declared
    body over the limit, an ambiguous length) by the path when it is one of the app's own (`paths()`)."""

    def __init__(self, app, metrics: Metrics, paths=lambda: set()):
        self.app, self.metrics, self.paths = app, metrics, paths

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        status = None

        async def counted(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, counted)
        except Exception:
            status = status or 500  # the server's error middleware answers 500 after us
            raise
        finally:
            if status is not None:
                route = scope.get("route")
                label = route.path if route else scope["path"] if scope["path"] in self.paths() else UNMATCHED
                self.metrics.requests.labels(label, str(status)).inc()
