"""`nsmckit serve EXPORT_DIR`: a classifier's predictions (its task's label names) over HTTP with dynamic
batching.

FastAPI on uvicorn; ONNX Runtime (CUDA when available, else CPU) or OpenVINO (its `ov-*` variants) and
`tokenizers` only: importing this module pulls in neither torch nor transformers.

    POST /predict  {"text": "..."} or {"texts": [...]}  -> labels, probabilities, model
    GET  /health   200 once the model is loaded and warmed up, else 503
    GET  /info     model, export manifest, provider, batching settings
    GET  /metrics  Prometheus text format
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import signal
import sys
import time
import uuid
from collections.abc import Callable
from contextlib import asynccontextmanager
from dataclasses import asdict
from pathlib import Path

import numpy as np
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, model_validator
from starlette.exceptions import HTTPException as StarletteHTTPException

from kit.errors import KitError, ModelError, first_line
from kit.manifest import Export
from kit.serve.body_limit import BodyLimit
from kit.serve.config import ACCEPT_BACKLOG, ServeConfig, max_connections
from kit.serve.connections import InModel, ThrottledLog, guarded_protocol, quiet_accept_errors
from kit.serve.framing import AmbiguousLength
from kit.serve.metrics import CountResponses, Metrics
from kit.serve.request_batcher import DynamicBatcher, QueueFull
from kit.settings import check_settings


def default_model_id(export: Export | None, export_dir: str) -> str:
    """What the export was made from (its model folder's name, or its hub id), not where it is mounted:
    in the image every export sits at /model."""
    if export is None:
        return Path(export_dir).resolve().name  # the model's own error comes when it loads
    source = export.manifest["source"]
    return Path(source["model"]).name if source.get("model_dir") else source["model"]


LOCAL_PATH = re.compile(r"(?:[A-Za-z]:)?[\\/]\S*[\\/]([^\\/\s;,)]+)")  # a file's path: only its name is kept


def public_manifest(manifest: dict) -> dict:
    """export.json as /info shows it, to anyone: without where it was made (source folders, the command and
    its virtual environment) and with file names, not paths, wherever a value names one (the validation's
    description, ov-int8's calibration, the task's data sources)."""
    return _without_paths({k: v for k, v in manifest.items() if k not in ("source", "command")})


def _without_paths(value):
    if isinstance(value, str):
        return LOCAL_PATH.sub(r"\1", value)
    if isinstance(value, dict):
        return {k: _without_paths(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_paths(v) for v in value]
    return value


def _encodable(texts: list[str]) -> list[str]:
    """Text the tokenizer can take: JSON lets a client send a lone surrogate (`"\\ud800"`), UTF-8 cannot hold it."""
    for text in texts:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as e:
            raise ValueError(f"not valid Unicode text (a lone surrogate at character {e.start})") from e
    return texts


class PredictRequest(BaseModel):
    text: str | None = None
    texts: list[str] | None = None

    @model_validator(mode="after")
    def one_of(self):
        if (self.text is None) == (self.texts is None):
            raise ValueError('give exactly one of "text" or "texts"')
        _encodable([self.text] if self.text is not None else self.texts)
        return self


class HttpError(Exception):
    """An error with its HTTP status; the one place that maps failures to codes is `_error_handlers`."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.headers = headers


def _error_handlers(app: FastAPI) -> None:
    """Every failure becomes {"error": message} with its status (counted by `CountResponses`)."""

    def reply(status: int, message: str, headers=None) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status, headers=headers)

    @app.exception_handler(HttpError)
    async def http_error(request: Request, exc: HttpError):
        return reply(exc.status, str(exc), exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def framework_error(request: Request, exc: StarletteHTTPException):  # 404, 405, the body limit's 413
        return reply(exc.status_code, str(exc.detail), exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
        return reply(422, f"{where}: {first.get('msg', 'invalid')}")

    @app.exception_handler(QueueFull)
    async def queue_full(request: Request, exc: QueueFull):
        return reply(429, f"overloaded: {exc}", {"Retry-After": "1"})

    @app.exception_handler(Exception)
    async def failed(request: Request, exc: Exception):
        # Starlette re-raises after this answer and the server then drops the connection: say so first, so a
        # client with requests pipelined behind this one sends them again instead of losing them.
        logging.getLogger("uvicorn.error").exception("request failed")
        return reply(500, f"internal error ({type(exc).__name__})", {"Connection": "close"})


# `--variant auto` times variants at the size of a loaded server's model calls: 12.6-13 sequences per call at
# concurrency 64 on CPU A (bench/results/openvino-avx512_vnni/serve/summary.md).
AUTO_PROBE_BATCH = 12


def create_app(
    config: ServeConfig,
    on_load_failure: Callable[[str], None] | None = None,
    in_model: InModel | None = None,
    export: Export | None = None,
) -> FastAPI:
    """The app; the model loads and warms up in the lifespan, so /health is 503 until then. A model that
    cannot load (a provider that cannot run, a corrupt file) is reported to `on_load_failure`; without one,
    /health stays 503 with the reason. `in_model`: the clients whose request is in the model, for the
    connection bound (`kit.serve.connections`); `export`: `config.export_dir` as the caller opened it."""
    from kit.runtime.classifiers import load_classifier
    from kit.runtime.text_classifier import TextClassifier, check_finite, softmax

    if export is None:
        with contextlib.suppress(KitError):  # the model's own error comes when it loads, on /health
            export = Export.open(config.export_dir)
    in_model = in_model if in_model is not None else InModel()
    metrics = Metrics()
    state: dict[str, object] = {"ready": False}

    async def load() -> None:
        loop = asyncio.get_running_loop()
        classifier = await loop.run_in_executor(
            None,
            lambda: load_classifier(
                export or config.export_dir,
                config.variant,
                config.provider,
                config.threads,
                spinning=config.spinning,
                streams=config.batching.parallel_calls,
                batch_size=AUTO_PROBE_BATCH,
            ),
        )
        if classifier.backend.choice:
            logging.getLogger("uvicorn.error").info(classifier.backend.choice)
        if classifier.backend.note:
            logging.getLogger("uvicorn.error").warning("Note: %s", classifier.backend.note)
        batcher = DynamicBatcher(
            classifier.run, classifier.pad_id, config.batching, metrics.on_batch, classifier.inputs
        )
        batcher.start()
        state.update(classifier=classifier, batcher=batcher)
        warm = ["워밍업 문장입니다", ""]  # the first call allocates: keep it off users, and check what it answers
        check_finite(await batcher.submit(classifier.encode(warm)), warm, classifier.description)
        state["ready"] = True

    def record_failure(task: asyncio.Task) -> None:
        if not task.cancelled() and task.exception() is not None:
            state["error"] = f"model failed to load: {task.exception()}"
            logging.getLogger("uvicorn.error").error(state["error"])
            if on_load_failure:
                on_load_failure(state["error"])

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        quiet_accept_errors(asyncio.get_running_loop(), ThrottledLog(logging.getLogger("uvicorn.error")))
        # Load in the background: the port answers at once, /health says 503 until the model is warm.
        loading = asyncio.create_task(load())
        loading.add_done_callback(record_failure)
        yield
        state["ready"] = False
        loading.cancel()
        await asyncio.gather(loading, return_exceptions=True)
        if "batcher" in state:
            await state["batcher"].stop()

    app = FastAPI(title="nsmckit", lifespan=lifespan)
    app.add_middleware(BodyLimit, max_bytes=config.max_body_bytes)
    app.add_middleware(AmbiguousLength)
    # outermost: it sees every answer, 400s and 413s included
    app.add_middleware(CountResponses, metrics=metrics, paths=lambda: {route.path for route in app.routes})
    _error_handlers(app)
    model_id = config.model_id or default_model_id(export, config.export_dir)

    @app.post("/predict")
    async def predict(body: PredictRequest, request: Request):
        if not state["ready"]:
            raise HttpError(503, state.get("error", "model is loading"))
        texts = [body.text] if body.text is not None else body.texts
        if len(texts) > config.max_texts:
            raise HttpError(413, f"{len(texts)} texts exceed --max-texts {config.max_texts}")
        start = time.perf_counter()
        classifier: TextClassifier = state["classifier"]
        metrics.queue_depth.set(state["batcher"].queued_sequences)
        try:
            # Tokenizing runs beside the event loop (tokenizers releases the GIL), so /health never waits on it.
            seqs = await asyncio.get_running_loop().run_in_executor(None, classifier.encode, texts)
            with in_model.holding(request.client and tuple(request.client)):  # never displaced while computing
                logits = (
                    await state["batcher"].submit(seqs) if texts else np.zeros((0, len(classifier.labels)), np.float32)
                )
        except QueueFull:
            raise
        except Exception as e:  # answered here, as an HTTP error: the connection stays up for what follows on it
            request_id = request.headers.get("x-request-id") or uuid.uuid4().hex[:12]
            reason = f"{type(e).__name__}: {first_line(e)}"[:300]
            logging.getLogger("uvicorn.error").warning("request %s failed in the model: %s", request_id, reason)
            raise HttpError(
                500, f"the model failed on this request ({type(e).__name__}); request id {request_id}"
            ) from e
        probs = softmax(logits)
        metrics.latency.observe(time.perf_counter() - start)
        predictions = [
            {
                "label": int(p.argmax()),
                "label_name": classifier.labels[int(p.argmax())],
                "probabilities": [round(float(x), 6) for x in p],
            }
            for p in probs
        ]
        if body.text is not None:
            return {"model": model_id, **predictions[0]}
        return {"model": model_id, "predictions": predictions}

    @app.get("/health")
    async def health():
        if not state["ready"]:
            raise HttpError(503, state.get("error", "model is loading"))
        return {"status": "ok"}

    @app.get("/info")
    async def info():
        if not state["ready"]:
            raise HttpError(503, state.get("error", "model is loading"))
        classifier: TextClassifier = state["classifier"]
        backend = classifier.backend
        return {
            "model": model_id,
            "variant": backend.variant["name"],
            "backend": backend.spec.name,
            "variant_choice": backend.choice,  # why, where --variant auto chose it
            "provider": backend.runs_on,  # where the model really runs, not what was asked
            "providers": backend.providers,
            "max_length": classifier.max_length,
            "truncation": f"texts longer than {classifier.max_length} tokens are truncated, their "
            f"{'beginning' if classifier.tokenizer.truncation['direction'] == 'left' else 'end'} cut",
            "labels": classifier.labels,
            "batching": asdict(config.batching),
            "runtime": {"threads": config.threads, "spinning": config.spinning},
            "max_texts": config.max_texts,
            "max_body_bytes": config.max_body_bytes,
            "connections": {**asdict(config.connections), "max_connections": max_connections(config.connections)},
            "manifest": public_manifest(backend.manifest),
        }

    @app.get("/metrics")
    async def prometheus():
        if "batcher" in state:
            metrics.queue_depth.set(state["batcher"].queued_sequences)
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app


def serve(config: ServeConfig, host: str = "0.0.0.0", port: int = 8000, access_log: bool = True) -> None:
    """Run uvicorn; SIGTERM/SIGINT stop accepting, finish in-flight requests, exit 0."""
    import uvicorn

    from kit.runtime.classifiers import check_model_files

    for settings in (config, config.batching, config.connections):
        check_settings(settings)
    contradictions = config.contradictions()
    if contradictions:
        raise KitError("; ".join(contradictions))
    if not Path(config.export_dir).is_dir():
        raise KitError(f"{config.export_dir}: no such export folder")
    # a corrupt or missing model fails here, in one line (for auto, each candidate as it is timed); the files
    # checked here are not hashed again when the model loads
    export = Export.open(config.export_dir)  # an export folder, or one line saying how to make one
    check_model_files(export, config.variant)

    # uvicorn stops gracefully on SIGTERM/SIGINT, then re-raises the signal; exit 0 when it does.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: sys.exit(0))
    failure: list[str] = []

    def stop(message: str) -> None:  # a server that cannot load its model exits, so its supervisor sees it
        failure.append(message)
        server.should_exit = True

    in_model = InModel()
    server_config = uvicorn.Config(
        create_app(config, on_load_failure=stop, in_model=in_model, export=export),
        host=host,
        port=port,
        log_level=os.environ.get("NSMC_LOG_LEVEL", "info"),
        timeout_graceful_shutdown=30,
        access_log=access_log,
        http=guarded_protocol(config.connections, in_model),
        timeout_keep_alive=config.connections.keep_alive_s,
        backlog=ACCEPT_BACKLOG,
    )
    server = uvicorn.Server(server_config)
    server.run()
    if failure:
        raise ModelError(failure[0])
