"""Loading tokenizers and sequence classifiers from a hub id or a local folder.

`no_weights=True` builds the architecture from its config with random weights:
speed does not depend on weight values, so this is how speed work runs where the
pretrained weights cannot be downloaded. `config_overrides` resizes it
(e.g. ``num_hidden_layers=4,hidden_size=256``) for small from-scratch models.
"""

from __future__ import annotations

from pathlib import Path

from kit.errors import ModelError

NUM_LABELS = 2


def load_tokenizer(model: str):
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(model)
    except (OSError, ValueError, TypeError) as e:  # TypeError: a folder with no vocab file
        raise ModelError(f"{model}: no tokenizer could be loaded ({_first_line(e)}); {_hint(model)}") from e
    if not tokenizer.is_fast:
        raise ModelError(f"{model}: the kit needs a fast (tokenizers) tokenizer, got {type(tokenizer).__name__}")
    return tokenizer


def parse_overrides(text: str | None) -> dict[str, object]:
    """'a=1,b=0.1,c=gelu' -> {'a': 1, 'b': 0.1, 'c': 'gelu'} (numbers parsed, the rest kept as text)."""
    overrides: dict[str, object] = {}
    for item in filter(None, (part.strip() for part in (text or "").split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ModelError(f"config override {item!r} is not KEY=VALUE")
        for cast in (int, float):
            try:
                overrides[key] = cast(value)
                break
            except ValueError:
                continue
        else:
            overrides[key] = value
    return overrides


def load_model(model: str, no_weights: bool = False, config_overrides: str | None = None, attn: str = "sdpa"):
    """A sequence classifier with NUM_LABELS outputs; random weights when `no_weights`."""
    from transformers import AutoConfig, AutoModelForSequenceClassification

    overrides = parse_overrides(config_overrides)
    if overrides and not no_weights:
        raise ModelError("config overrides change the architecture, so they need --no-weights")
    try:
        config = AutoConfig.from_pretrained(model, num_labels=NUM_LABELS)
    except (OSError, ValueError) as e:
        raise ModelError(f"{model}: no model config could be loaded ({_first_line(e)}); {_hint(model)}") from e
    for key, value in overrides.items():
        if not hasattr(config, key):
            raise ModelError(f"config override {key!r}: {type(config).__name__} has no such field")
        setattr(config, key, value)
    config.id2label = {0: "negative", 1: "positive"}
    config.label2id = {v: k for k, v in config.id2label.items()}
    try:
        if no_weights:
            return AutoModelForSequenceClassification.from_config(config, attn_implementation=attn)
        return AutoModelForSequenceClassification.from_pretrained(model, config=config, attn_implementation=attn)
    except (OSError, ValueError) as e:
        hint = (
            " (use --no-weights for the architecture with random weights)"
            if "weight" in str(e).lower() or isinstance(e, OSError)
            else ""
        )
        raise ModelError(f"{model}: the model could not be loaded ({_first_line(e)}){hint}") from e


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def _hint(model: str) -> str:
    if Path(model).exists():
        return "check that the folder holds a Hugging Face model (config.json, tokenizer files)"
    return "check the hub id, or without internet pass a local folder (--model / NSMC_MODEL)"
