"""The task contract: what a model and its data are, decided once where they meet (`nsmckit finetune`, or
`nsmckit export` of a model folder), written into run.json and export.json, and read back by every later
step (export validation, bench, predict, serve, tune) instead of assumed.

    task = Task.of_record(json.loads(Path("exports/nsmc/export.json").read_text()))
    task.labels, task.inputs, task.max_length, task.truncation_side
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")  # what the kit can feed a text encoder
SIDES = ("right", "left")
# Families whose position ids start after the pad id (RoBERTa's embeddings): pad_token_id + 1 positions unused.
POSITION_OFFSET_FAMILIES = (
    "roberta",
    "xlm-roberta",
    "xlm-roberta-xl",
    "camembert",
    "roberta-prelayernorm",
    "data2vec-text",
    "longformer",
)


def usable_positions(config: dict) -> int:
    """Token positions a model can take, from its config.json: its position embeddings, less RoBERTa-style
    families' offset (their position ids start after the pad id: klue/roberta-base has 514, 512 usable)."""
    positions = config["max_position_embeddings"]
    if config.get("model_type") in POSITION_OFFSET_FAMILIES:
        positions -= (config.get("pad_token_id") or 0) + 1
    return positions


@dataclass
class Task:
    labels: list[str]  # output id -> name
    inputs: list[str]  # what the model's forward takes, of MODEL_INPUTS (DistilBERT: no token_type_ids)
    max_length: int  # tokens, within the model's usable positions
    pad_token_id: int
    truncation_side: str = "right"  # which end of a long text is cut: the same in training and at inference
    family: str | None = None  # the model's model_type (bert, roberta, electra, ...)
    attention: str | None = None  # the attention implementation it trained with: sdpa, else eager
    data: dict = field(default_factory=dict)  # columns, label values by id, sources (paths and sha256)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def of_record(cls, record: dict) -> Task:
        """The task a run.json or export.json records; an export written before tasks were recorded held
        its contract at the top level (two labels, BERT's inputs, right truncation)."""
        task = record.get("task")
        if isinstance(task, dict):
            return cls(**{k: v for k, v in task.items() if k in cls.__dataclass_fields__})
        return cls(
            labels=record["labels"],
            inputs=record.get("inputs", list(MODEL_INPUTS)),
            max_length=record["max_length"],
            pad_token_id=record["pad_token_id"],
        )
