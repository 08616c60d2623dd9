"""A task's labels: which values a label column may hold, in which order, and what the model calls them.

    labels = LabelSet.from_values(["pos", "neg", "neu", "pos"])    # names neg, neu, pos (sorted)
    labels.id_of("pos", "train.csv:7")                              # 2
    labels.onto(["부정", "긍정"])                                     # the data's labels on a model's outputs

Labels are read as text: a CSV's "1", a JSON 1 and a parquet int64 1 are the same label. The order is
given (`--labels a,b,c`), else sorted (numerically when every label is an integer), and is what the
model's output ids mean. Integer labels 0..K-1 are already ids (NSMC's 0/1): a model or a data source may
name them (NSMC: negative, positive).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from kit.errors import DataError


def label_key(value, where: str) -> str:
    """A label value as text: integers and integral floats alike ("1", 1, 1.0 -> "1"); empty is an error."""
    if isinstance(value, bool) or value is None or (isinstance(value, str) and not value.strip()):
        raise DataError(f"{where}: label {value!r} is missing or not a label")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _is_int(key: str) -> bool:
    return key.lstrip("-").isdigit()


def _ordered(keys: Iterable[str]) -> list[str]:
    keys = set(keys)
    return sorted(keys, key=int) if all(map(_is_int, keys)) else sorted(keys)


@dataclass(frozen=True)
class LabelSet:
    """`keys[i]` is the data's value for output id i, `names[i]` what the model calls it."""

    keys: tuple[str, ...]
    names: tuple[str, ...]

    @classmethod
    def from_values(
        cls, keys: Iterable[str], order: Sequence[str] = (), names: dict[str, str] | None = None
    ) -> LabelSet:
        """The label set of a training split: `order` as given (every label in it), else sorted; `names`
        (key -> name) where the source names its labels."""
        seen = set(keys)
        if order:
            missing = sorted(seen - set(order))
            if missing:
                raise DataError(f"--labels {','.join(order)} lacks label(s) found in the data: {', '.join(missing)}")
            if len(set(order)) != len(order):
                raise DataError(f"--labels {','.join(order)} names a label twice")
            ordered = list(order)
        else:
            ordered = _ordered(seen)  # integers 0..K-1 sort into place: the ids are the labels themselves
        if len(ordered) < 2:
            found = f"{len(ordered)} label(s) ({', '.join(ordered)})"
            raise DataError(f"the training data has {found}; a classifier needs two or more")
        names = names or {}
        return cls(tuple(ordered), tuple(names.get(k, k) for k in ordered))

    def id_of(self, key: str, where: str) -> int:
        try:
            return self.keys.index(key)
        except ValueError:
            raise DataError(
                f"{where}: label {key!r} is not one of the task's labels ({', '.join(self.keys)})"
            ) from None

    def onto(self, model_names: Sequence[str], model_keys: Sequence[str] | None = None) -> LabelSet:
        """These labels on a model whose outputs are `model_names`: by the data values its task recorded
        (`model_keys`), else by name where the data uses the model's names, else by id where the data's
        labels are the ids 0..K-1 of a K-label model; otherwise one line naming both."""
        model_names = tuple(model_names)
        if model_keys is not None and set(self.keys) <= set(model_keys):
            return LabelSet(tuple(model_keys), model_names)
        if set(self.keys) <= set(model_names):
            return LabelSet(model_names, model_names)
        ids = {str(i) for i in range(len(model_names))}
        if model_keys is None and len(self.keys) == len(model_names) and set(self.keys) == ids:
            return LabelSet(tuple(str(i) for i in range(len(model_names))), model_names)
        raise DataError(
            f"the data's labels ({', '.join(self.keys)}) are not the model's ({', '.join(model_names)}); "
            "give data with the model's labels, or fine-tune the model on this data"
        )
