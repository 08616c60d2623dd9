"""nsmckit: fine-tune, export, benchmark and serve Korean text classifiers: NSMC or your own data, any encoder.

The heavy pieces (torch, transformers) load on first use, so `import kit` and
`nsmckit --help` stay fast.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "KitError": "kit.errors",
    "plan_batches": "kit.batching",
    "DataConfig": "kit.data.splits",
    "load_splits": "kit.data.splits",
    "Task": "kit.task",
    "encode": "kit.data.encoding",
    "FinetuneConfig": "kit.train.finetune",
    "FinetuneResult": "kit.train.finetune",
    "finetune": "kit.train.finetune",
    "ExportConfig": "kit.export.onnx",
    "export_onnx": "kit.export.onnx",
    "BackendOptions": "kit.runtime.backend",
    "TextClassifier": "kit.runtime.text_classifier",
    "load_backend": "kit.runtime.classifiers",
    "load_classifier": "kit.runtime.classifiers",
    "PredictConfig": "kit.predict.config",
    "score_file": "kit.predict.scoring",
    "score_texts": "kit.predict.scoring",
    "BenchConfig": "kit.bench.config",
    "run_bench": "kit.bench.runner",
    "TuneConfig": "kit.tune.config",
    "tune": "kit.tune.tuner",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'kit' has no attribute {name!r}")
