"""nsmckit: fine-tune, export, benchmark and serve BERT sentiment classifiers on NSMC.

The heavy pieces (torch, transformers) load on first use, so `import kit` and
`nsmckit --help` stay fast.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "DataConfig": "kit.data",
    "load_nsmc": "kit.data",
    "encode": "kit.encoding",
    "plan_batches": "kit.batching",
    "FinetuneConfig": "kit.finetune",
    "FinetuneResult": "kit.finetune",
    "finetune": "kit.finetune",
    "KitError": "kit.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'kit' has no attribute {name!r}")
