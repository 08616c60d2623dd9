"""A backend is one class and one registry entry: a runtime of its own (a bag-of-words model in numpy, an
artifact no built-in backend runs) goes through bench, predict and serve without touching them."""

from __future__ import annotations

import json
import shutil
import threading
import time

import httpx
import numpy as np
import pytest

from kit.manifest import sha256_file
from kit.runtime.backend import BackendOptions, BackendSpec
from kit.runtime.export_folder import ExportBackend
from kit.runtime.registry import BACKENDS, Entry
from tests.helpers import wait_until
from tests.serving import HANG_S, free_port

TEXTS = ["정말 재밌어요", "시간 아깝다", "배우들 연기가 좋았다", ""]


class BagOfWords(ExportBackend):
    """Mean of per-token label weights: a model a numpy array holds."""

    runs = "numpy-bow"

    def __init__(self, spec: BackendSpec, model, options: BackendOptions = BackendOptions()):
        export = self._open(model, spec, options)
        arrays = np.load(export.model_path)
        self.weight, self.bias = arrays["weight"], arrays["bias"]
        self.spec, self.runs_on, self.providers = spec, "cpu", ["numpy"]
        self.description = f"numpy bag of words, {export.folder} {export.name}"

    @staticmethod
    def unavailable_reason(spec: BackendSpec, provider: str) -> str | None:
        return "numpy runs on the CPU" if provider == "cuda" else None

    def timed(self, batch: dict[str, np.ndarray]) -> tuple[np.ndarray, float]:
        start = time.perf_counter()
        mask = batch["attention_mask"][..., None]
        logits = (self.weight[batch["input_ids"]] * mask).sum(1) / np.maximum(mask.sum(1), 1) + self.bias
        return logits.astype(np.float32), (time.perf_counter() - start) * 1e3


@pytest.fixture
def bow_export(tiny_export, tmp_path, monkeypatch):
    """The tiny export with one more variant, `bow`, whose runtime only the new backend runs."""
    export = tmp_path / "export"
    shutil.copytree(tiny_export.path, export)
    rng = np.random.default_rng(0)
    manifest = json.loads((export / "export.json").read_text())
    vocab = json.loads((export / "tokenizer.json").read_text())["model"]["vocab"]
    weight = rng.normal(size=(len(vocab), len(manifest["task"]["labels"]))).astype(np.float32)
    np.savez(export / "model_bow.npz", weight=weight, bias=np.zeros(weight.shape[1], np.float32))
    manifest["variants"].append(
        {"name": "bow", "file": "model_bow.npz", "runtime": "numpy-bow", "precision": "fp32", "provider": "cpu"}
        | {"valid": True, "verdict": "valid", "why": "a test's own model"}
    )
    manifest["files"]["model_bow.npz"] = sha256_file(export / "model_bow.npz")
    (export / "export.json").write_text(json.dumps(manifest))
    monkeypatch.setitem(BACKENDS, "numpy-bow", Entry(BagOfWords))
    return export


def test_a_new_artifact_kind_runs_through_bench_predict_and_serve(bow_export, nsmc_dir, tmp_path):
    import uvicorn

    from kit.bench.config import BenchConfig
    from kit.bench.runner import run_bench
    from kit.data.splits import DataConfig
    from kit.predict.config import PredictConfig
    from kit.predict.scoring import score_file
    from kit.runtime.classifiers import load_classifier
    from kit.serve.app import ServeConfig, create_app

    # bench: its default (every valid variant that runs here) finds the new backend through the registry
    data = DataConfig(data_dir=str(nsmc_dir), val_ratio=0.0)
    config = BenchConfig(export=str(bow_export), strategies=("bucketed",), batch_sizes=(8,), limit=24, data=data)
    cells = run_bench(config, progress=lambda line: None).cells
    assert [(c.backend, c.precision, c.status) for c in cells if c.precision == "bow"] == [("numpy-bow", "bow", "ok")]

    # predict: the variant named, scored by the new backend, in input order
    classifier = load_classifier(bow_export, "bow")
    assert classifier.backend.spec.name == "numpy-bow"
    expected = classifier.predict_logits(TEXTS, 2).argmax(-1).tolist()
    source = tmp_path / "in.txt"
    source.write_text("\n".join(TEXTS[:3]) + "\n")
    output = tmp_path / "out.jsonl"
    score_file(PredictConfig(model=str(bow_export), input=str(source), output=str(output), variant="bow"))
    rows = [json.loads(line) for line in output.read_text().splitlines()]
    assert [row["pred_label"] for row in rows] == expected[:3]

    # serve: the same answers over HTTP, and /info names the backend
    port = free_port()
    app = create_app(ServeConfig(str(bow_export), variant="bow"))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run)
    thread.start()
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: _status(f"{url}/health") == 200, HANG_S, "a healthy server")
        reply = httpx.post(f"{url}/predict", json={"texts": TEXTS}, timeout=HANG_S).json()
        assert [p["label"] for p in reply["predictions"]] == expected
        assert httpx.get(f"{url}/info", timeout=HANG_S).json()["backend"] == "numpy-bow"
    finally:
        server.should_exit = True
        thread.join(timeout=HANG_S)


def _status(url: str) -> int | None:
    try:
        return httpx.get(url, timeout=HANG_S).status_code
    except httpx.HTTPError:
        return None
