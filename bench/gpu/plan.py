"""The GPU run's calls and their worst-case device time, read from the call scripts themselves.

A lease is 15 minutes of device time in all (the machine's start, every call, every transfer, every idle
wait). The plan must fit 12 in the worst case, so that one call can be run again. Each call script bounds
its steps (`step NAME SECONDS ...`), so a call's `timeout_s` is the sum of its steps plus the stage's own
overhead, and the worst case is: the machine's slowest start + every call's transfer + every `timeout_s`.

    python3 bench/gpu/plan.py table     # the README's table of calls, with the worst case
    python3 bench/gpu/plan.py calls     # one line per call: timeout_s, carry, command (what to give `run`)
    python3 bench/gpu/plan.py cut FILE DIR   # cut bundle B into the planned parts (fetch.sh)
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent

BUDGET_S = 12 * 60  # of the lease's 15 minutes: 3 left to run one call again
START_S = 180  # the machine's start, worst case (the device README: 1-3 minutes)
# Transfers are not measured yet (no GPU has been lent so far): an assumption, stated as one. After a run,
# replace it with the lease's held_s minus the calls' wall_s.
TRANSFER_S_PER_CALL = 5
TRANSFER_MIB_PER_S = 10
STAGE_OVERHEAD_S = 5  # bash, the archive into $OUT, the log: beyond the steps' own bounds
CARRY_LIMIT_MIB = 64  # per call, the working tree included

BUNDLE = ".gpu-bundle"
A_MAX_MIB = 24  # bundle A: transformers/tokenizers/hub wheels + NSMC + the klue config and tokenizer
B_PART_MIB = (36, 58, 58, 58)  # bundle B (onnxruntime-gpu + Optimum + the server's stack), cut to ride along
SUMS = f"{BUNDLE}/SHA256SUMS"


@dataclass(frozen=True)
class Call:
    name: str
    script: str
    carry: tuple[str, ...]
    carry_mib: float  # the carried bundle files at their planned maximum (SHA256SUMS is a few hundred bytes)
    measures: str

    @property
    def command(self) -> str:
        return f"bash bench/gpu/{self.script}"


def _part(i: int) -> str:
    return f"{BUNDLE}/b-a{'abcd'[i]}"


CALLS = (
    Call(
        "c1",
        "c1_torch.sh",
        (f"{BUNDLE}/a.tar.xz", _part(0), SUMS),
        A_MAX_MIB + B_PART_MIB[0],
        "device and driver; PyTorch on the GPU, no export needed: training samples/s (bf16, bucketed vs "
        "fixed-128, batch 128), inference fp32 and bf16 (bucketed vs fixed-128, batch 128, 10,000 test rows), "
        "batch-1 latency (500 rows)",
    ),
    Call(
        "c2",
        "c2_torch.sh",
        (_part(1), SUMS),
        B_PART_MIB[1],
        "the notebook recipe against dynamic padding in training: fixed-512 vs dynamic, fp32 and bf16, batch 32",
    ),
    Call(
        "c3",
        "c3_torch.sh",
        (_part(2), SUMS),
        B_PART_MIB[2],
        "inference bf16: bucketed, dynamic and fixed-512 (the notebook's padding) at batch 512 and 32",
    ),
    Call(
        "c4",
        "c4_onnxruntime.sh",
        (_part(3), SUMS),
        B_PART_MIB[3],
        "install B (the image's CPU onnxruntime removed), CUDA probe, export O4 validated on CUDA, ONNX Runtime "
        "CUDA O4 and fp32 (IO binding) vs PyTorch bf16, bucketed vs fixed-128, batch 128; batch-1 latency, O4 first",
    ),
    Call(
        "c5",
        "c5_serve.sh",
        (),
        0,
        "only if the lease has time left: `nsmckit serve` on CUDA, dynamic vs `--max-batch-size 1` at "
        "concurrency 1 and 64, then open loop at the closed-loop rate",
    ),
)

STEP = re.compile(r"^\s*step\s+(\S+)\s+(\d+)\s", re.MULTILINE)


def steps(script: str) -> list[tuple[str, int]]:
    """(name, bound in seconds) of every step a call script runs, in order."""
    return [(name, int(seconds)) for name, seconds in STEP.findall((HERE / script).read_text())]


def timeout_s(call: Call) -> int:
    return sum(seconds for _, seconds in steps(call.script)) + STAGE_OVERHEAD_S


def tree_mib() -> float:
    """The working tree that travels with every call: tracked files and untracked ones git does not ignore."""
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    return sum((ROOT / f.decode()).stat().st_size for f in files if f and (ROOT / f.decode()).is_file()) / 2**20


def carry_mib(call: Call, tree: float) -> float:
    return tree + call.carry_mib


def transfer_s(call: Call, tree: float) -> float:
    return TRANSFER_S_PER_CALL + carry_mib(call, tree) / TRANSFER_MIB_PER_S


def worst_case_s(tree: float | None = None) -> float:
    tree = tree_mib() if tree is None else tree
    return START_S + sum(transfer_s(c, tree) + timeout_s(c) for c in CALLS)


def table() -> str:
    tree = tree_mib()
    lines = [
        "| call | command | carry | carry, MiB at most | timeout_s | what it measures |",
        "| --- | --- | --- | ---: | ---: | --- |",
    ]
    for c in CALLS:
        carry = ", ".join(f"`{p}`" for p in c.carry) or "none"
        lines.append(
            f"| {c.name} | `{c.command}` | {carry} | {math.ceil(carry_mib(c, tree))} | {timeout_s(c)} | {c.measures} |"
        )
    total = worst_case_s(tree)
    lines.append("")
    lines.append(
        f"Worst case: start {START_S} s + transfers {sum(transfer_s(c, tree) for c in CALLS):.0f} s "
        f"({TRANSFER_S_PER_CALL} s a call + {TRANSFER_MIB_PER_S} MiB/s, assumed) + timeouts "
        f"{sum(timeout_s(c) for c in CALLS)} s = **{total / 60:.1f} minutes** (budget {BUDGET_S // 60})."
    )
    return "\n".join(lines)


def cut(bundle: Path, folder: Path) -> list[Path]:
    """Bundle B in len(B_PART_MIB) parts, each in proportion to its planned size (so a small rehearsal
    bundle has as many parts as the real one); refuses a bundle larger than the parts."""
    size, capacity = bundle.stat().st_size, sum(B_PART_MIB) * 2**20
    if size > capacity:
        raise SystemExit(
            f"{bundle}: {size / 2**20:.1f} MiB does not fit the planned parts ({sum(B_PART_MIB)} MiB): "
            "raise B_PART_MIB in bench/gpu/plan.py, and check the worst case"
        )
    bounds = [0]
    for mib in B_PART_MIB[:-1]:
        bounds.append(bounds[-1] + size * mib // sum(B_PART_MIB))
    bounds.append(size)
    paths = []
    with bundle.open("rb") as source:
        for i, (start, end) in enumerate(zip(bounds, bounds[1:])):
            path = folder / Path(_part(i)).name
            source.seek(start)
            path.write_bytes(source.read(end - start))
            paths.append(path)
    return paths


def main(argv: list[str]) -> None:
    if argv[:1] == ["table"]:
        print(table())
    elif argv[:1] == ["calls"]:
        for c in CALLS:
            print(f"{c.name}\ttimeout_s={timeout_s(c)}\tcarry={','.join(c.carry) or '-'}\t{c.command}")
    elif argv[:1] == ["cut"] and len(argv) == 3:
        for path in cut(Path(argv[1]), Path(argv[2])):
            print(f"  {path.name}: {path.stat().st_size / 2**20:.1f} MiB")
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
