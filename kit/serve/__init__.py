"""Serving over HTTP: the app, its request batcher, and the load test that measures it.
Nothing here imports torch."""
