"""Loading tokenizers and sequence classifiers from a hub id or a local folder.

Any `AutoModelForSequenceClassification` encoder (BERT, RoBERTa, ELECTRA, DistilBERT, XLM-R, ...): its
label count and names come from the task, its attention from what its class supports (SDPA, else eager),
its inputs from its forward signature, its usable length from its positions (RoBERTa's start after the
pad id). `no_weights=True` builds the architecture from its config with random weights:
speed does not depend on weight values, so this is how speed work runs where the
pretrained weights cannot be downloaded. `config_overrides` resizes it
(e.g. ``num_hidden_layers=4,hidden_size=256``) for small from-scratch models.

A hub id is first checked with one short request: without internet the hub client
would retry for about a minute before failing, so an unreachable hub means "use the
local cache only", and a model missing there fails at once with what to do instead.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from kit.errors import ModelError, first_line
from kit.settings import setting

HUB_PROBE_TIMEOUT_S = 3.0
# what from_pretrained loads weights from (sharded checkpoints have an index)
WEIGHT_FILES = (
    "model.safetensors",
    "pytorch_model.bin",
    "model.safetensors.index.json",
    "pytorch_model.bin.index.json",
)


DEFAULT_MODEL = "klue/bert-base"
GENERIC_LABEL = "LABEL_"  # transformers' placeholder names: LABEL_0, LABEL_1, ...


def model_setting(
    default: str | None = DEFAULT_MODEL, help: str = "Hub id or local folder of the model (and its tokenizer)."
):
    """The model a command starts from, NSMC_MODEL its environment default (every command that takes one)."""
    return setting(default, help, envvar="NSMC_MODEL")


def no_weights_setting():
    return setting(
        False,
        "Build the architecture from its config with random weights: speed work without the weights "
        "(accuracy is then not meaningful).",
        envvar="NSMC_NO_WEIGHTS",
    )


def overrides_setting():
    return setting(None, "With --no-weights: resize the architecture, e.g. num_hidden_layers=4,hidden_size=256.")


@functools.cache
def hub_unreachable() -> str | None:
    """Why the Hugging Face hub cannot be reached (the hub client's offline switch, or one short request
    through the same proxies it would use), else None."""
    import requests
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return "HF_HUB_OFFLINE is set"
    try:
        requests.head(constants.ENDPOINT, timeout=HUB_PROBE_TIMEOUT_S, allow_redirects=False)
    except requests.RequestException as e:
        return f"{constants.ENDPOINT}: {type(e).__name__}"
    return None


def hub_options(model: str) -> dict[str, bool]:
    """`local_files_only` for a hub id while the hub is unreachable: the cache answers at once, retries don't."""
    return {"local_files_only": True} if not Path(model).exists() and hub_unreachable() else {}


def load_config(model: str, **kwargs):
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(model, **hub_options(model), **kwargs)
    except (OSError, ValueError) as e:
        raise ModelError(
            f"{model}: no model config could be loaded ({first_line(e) or type(e).__name__}); {_hint(model)}"
        ) from e


def load_tokenizer(model: str, truncation_side: str | None = None):
    """The model's fast tokenizer; `truncation_side` (right or left) replaces its own where given."""
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(model, **hub_options(model))
    except (OSError, ValueError, TypeError) as e:  # TypeError: a folder with no vocab file
        raise ModelError(
            f"{model}: no tokenizer could be loaded ({first_line(e) or type(e).__name__}); {_hint(model)}"
        ) from e
    except AttributeError as e:  # a sentencepiece-only tokenizer without sentencepiece converts from None
        from importlib.util import find_spec

        if find_spec("sentencepiece") is None:
            raise ModelError(f"{model}: its tokenizer needs sentencepiece: pip install 'nsmckit[cpu]'") from e
        raise
    if truncation_side:
        tokenizer.truncation_side = truncation_side
    if not tokenizer.is_fast:
        raise ModelError(f"{model}: the kit needs a fast (tokenizers) tokenizer, got {type(tokenizer).__name__}")
    return tokenizer


def parse_overrides(text: str | None) -> dict[str, object]:
    """'a=1,b=0.1,c=gelu,d=false' -> {'a': 1, 'b': 0.1, 'c': 'gelu', 'd': False} (numbers and booleans parsed,
    the rest kept as text: the string "false" would be truthy)."""
    overrides: dict[str, object] = {}
    for item in filter(None, (part.strip() for part in (text or "").split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ModelError(f"config override {item!r} is not KEY=VALUE")
        if value.lower() in ("true", "false"):
            overrides[key] = value.lower() == "true"
            continue
        for cast in (int, float):
            try:
                overrides[key] = cast(value)
                break
            except ValueError:
                continue
        else:
            overrides[key] = value
    return overrides


def weights_file(model: str) -> Path | None:
    """The trained weights a local model folder holds, else None (a hub id is not looked up)."""
    return next((Path(model) / name for name in WEIGHT_FILES if (Path(model) / name).is_file()), None)


def is_classifier(config) -> bool:
    """Whether a checkpoint's config says it is a sequence classifier (it has a classification head)."""
    return any(a.endswith("ForSequenceClassification") for a in config.architectures or [])


def checkpoint_labels(config) -> list[str] | None:
    """The label names of a checkpoint that already is a sequence classifier with named labels (not
    transformers' LABEL_0 placeholders), else None."""
    if not is_classifier(config):
        return None
    names = [config.id2label[i] for i in range(config.num_labels)]
    return None if all(str(n).startswith(GENERIC_LABEL) for n in names) else names


def attention_implementation(config) -> str:
    """SDPA where the model's class supports it, else eager (ELECTRA in transformers 4.57): asked of the class."""
    from transformers.models.auto.modeling_auto import MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING

    model_class = MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING.get(type(config), None)
    return "sdpa" if model_class is not None and model_class._supports_sdpa else "eager"


def model_inputs(model) -> list[str]:
    """The text inputs a model's forward takes (DistilBERT takes no token_type_ids)."""
    import inspect

    from kit.task import MODEL_INPUTS

    parameters = inspect.signature(model.forward).parameters
    return [name for name in MODEL_INPUTS if name in parameters]


def load_model(
    model: str,
    labels: list[str] | None = None,
    no_weights: bool = False,
    config_overrides: str | None = None,
    attn: str | None = None,
    new_head: bool = False,
    note=None,
):
    """A sequence classifier whose outputs are `labels` (default: the checkpoint's own); random weights when
    `no_weights`, which a folder holding trained weights refuses: random weights in place of trained ones
    would look like a model. A checkpoint whose classification head has another label count is refused,
    naming both, unless `new_head` (then a new head is initialised, said through `note`). `attn`: the
    attention implementation, default what the class supports."""
    from transformers import AutoModelForSequenceClassification

    overrides = parse_overrides(config_overrides)
    if overrides and not no_weights:
        raise ModelError("config overrides change the architecture, so they need --no-weights")
    config = load_config(model)
    for key, value in overrides.items():
        if not hasattr(config, key):
            raise ModelError(f"config override {key!r}: {type(config).__name__} has no such field")
        setattr(config, key, value)
    weights = weights_file(model)
    if no_weights and weights:
        raise ModelError(
            f"{model} holds trained weights ({weights.name}); --no-weights would replace them with "
            "random ones: drop --no-weights (or NSMC_NO_WEIGHTS), or give a folder with only config and tokenizer"
        )
    head = is_classifier(config) and not no_weights
    mismatched = labels is not None and head and config.num_labels != len(labels)
    if mismatched and not new_head:
        raise ModelError(
            f"{model}: its classification head has {config.num_labels} labels and the task has {len(labels)} "
            f"({', '.join(labels)}); pass --new-head to train a new head for this task"
        )
    if mismatched and note:
        note(f"--new-head: {model}'s {config.num_labels}-label head replaced by a new {len(labels)}-label one")
    if labels is not None:
        config.num_labels = len(labels)
        config.id2label = dict(enumerate(labels))
        config.label2id = {name: i for i, name in enumerate(labels)}
    attn = attn or attention_implementation(config)
    try:
        if no_weights:
            return AutoModelForSequenceClassification.from_config(config, attn_implementation=attn)
        return AutoModelForSequenceClassification.from_pretrained(
            model, config=config, attn_implementation=attn, ignore_mismatched_sizes=mismatched, **hub_options(model)
        )
    except Exception as e:  # OSError/ValueError from transformers, SafetensorError for a truncated file, ...
        hint = (
            " (use --no-weights for the architecture with random weights)"
            if not weights and ("weight" in str(e).lower() or isinstance(e, OSError))
            else ""
        )
        raise ModelError(f"{model}: the model could not be loaded ({first_line(e) or type(e).__name__}){hint}") from e


def check_length(model_config, length: int, option: str = "--max-length") -> None:
    """Refuse a token length the model has no positions for (its position embeddings end there)."""
    from kit.task import usable_positions

    limit = usable_positions(model_config.to_dict())
    if length > limit:
        offset = model_config.max_position_embeddings - limit
        total = model_config.max_position_embeddings
        why = f" ({total} position embeddings, the first {offset} before the first position id)" if offset else ""
        raise ModelError(f"{option} {length} exceeds the model's {limit} usable positions{why}")


def run_task(model: str | Path):
    """The task a `nsmckit finetune` folder was trained for (its run.json), else None."""
    from kit.task import Task

    run = Path(model) / "run.json"
    if not run.is_file():
        return None
    record = json.loads(run.read_text())
    return Task.of_record(record) if "task" in record else None


def run_max_length(model: str | Path) -> int | None:
    """The max_length a `nsmckit finetune` folder was trained with (its run.json), else None."""
    run = Path(model) / "run.json"
    return json.loads(run.read_text())["config"]["max_length"] if run.is_file() else None


def _hint(model: str) -> str:
    if Path(model).exists():
        return "check that the folder holds a Hugging Face model (config.json, tokenizer files)"
    if hub_unreachable():
        return (
            f"the Hugging Face hub cannot be reached ({hub_unreachable()}) and {model} is not in the local cache; "
            "without internet pass a local model folder (--model / NSMC_MODEL) and the data folder (NSMC_DATA_DIR)"
        )
    return "check the hub id, or without internet pass a local folder (--model / NSMC_MODEL)"
