"""Tiny random-weight models of each encoder family the kit supports, saved with a real tokenizer: the
shapes of klue/bert-base, klue/roberta-base, KcELECTRA, DistilBERT and XLM-R at hidden size 64."""

from __future__ import annotations

from pathlib import Path

FAMILIES = ("bert", "roberta", "electra", "distilbert", "xlm-roberta")
POSITIONS = 128  # usable positions of every tiny model (RoBERTa-style ones get the pad offset on top)


def tiny_config(family: str, tokenizer, num_labels: int = 2, id2label: dict | None = None):
    from transformers import BertConfig, DistilBertConfig, ElectraConfig, RobertaConfig, XLMRobertaConfig

    labels = {"num_labels": num_labels} | ({"id2label": id2label} if id2label else {})
    pad = tokenizer.pad_token_id
    common = dict(
        vocab_size=len(tokenizer),
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=128,
        pad_token_id=pad,
        **labels,
    )
    if family == "bert":
        return BertConfig(max_position_embeddings=POSITIONS, **common)
    if family in ("roberta", "xlm-roberta"):
        config_class = RobertaConfig if family == "roberta" else XLMRobertaConfig
        # positions start after the pad id, as in klue/roberta-base (514 = 512 + pad id 1 + 1)
        return config_class(max_position_embeddings=POSITIONS + pad + 1, type_vocab_size=1, **common)
    if family == "electra":
        return ElectraConfig(embedding_size=32, max_position_embeddings=POSITIONS, **common)
    if family == "distilbert":
        return DistilBertConfig(
            vocab_size=len(tokenizer),
            dim=64,
            n_layers=2,
            n_heads=2,
            hidden_dim=128,
            max_position_embeddings=POSITIONS,
            pad_token_id=pad,
            **labels,
        )
    raise ValueError(family)


def save_tiny_family(
    folder: Path, family: str, tokenizer, id2label: dict | None = None, base_model: bool = False, seed: int = 0
) -> Path:
    """A checkpoint of `family` with random weights and its tokenizer: a sequence classifier (its labels
    `id2label`, else two unnamed ones), or with `base_model` the encoder alone, as hub checkpoints are."""
    import torch
    from transformers import AutoModel, AutoModelForSequenceClassification

    torch.manual_seed(seed)
    config = tiny_config(family, tokenizer, len(id2label or {0: 0, 1: 1}), id2label)
    model_class = AutoModel if base_model else AutoModelForSequenceClassification
    model_class.from_config(config, attn_implementation="eager").save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
