"""Progress bars for long work (tokenizing, validating, benchmark cells, scoring), one style everywhere:
on stderr (stdout stays for results), with counts, rate and ETA, drawn only after the first second so
quick work and early failures print nothing extra."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def progress_bar(total: int | None, desc: str, unit: str = "rows", enabled: bool = True, leave: bool = True):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, unit_scale=True, disable=not enabled, delay=1.0, leave=leave)


def counting_rows(run: Callable[[dict[str, np.ndarray]], np.ndarray], bar) -> Callable[[dict], np.ndarray]:
    """`run(batch) -> logits` that also advances `bar` by the batch's rows."""

    def counted(batch: dict[str, np.ndarray]) -> np.ndarray:
        logits = run(batch)
        bar.update(len(logits))
        return logits

    return counted
