"""Serving over HTTP: the app, its request batcher, connection bounds and settings (the load test that
measures a server is a client, in `kit.bench.loadtest`). Nothing here imports torch."""
