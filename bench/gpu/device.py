"""The device a call ran on, as JSON (call c1): nvidia-smi's reading and what PyTorch sees.

python3 bench/gpu/device.py OUT.json [--require-cuda]   (exit 1 when CUDA is required and absent)
"""

from __future__ import annotations

import json
import subprocess
import sys

FIELDS = "name,driver_version,memory.total,clocks.max.sm,clocks.sm,power.limit,temperature.gpu"


def nvidia_smi() -> dict | str:
    try:
        reading = subprocess.run(
            ["nvidia-smi", f"--query-gpu={FIELDS}", "--format=csv,noheader"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"unavailable: {e}"
    if reading.returncode != 0:
        return f"unavailable: {reading.stderr.strip()}"
    return dict(zip(FIELDS.split(","), (v.strip() for v in reading.stdout.splitlines()[0].split(","))))


def torch_view() -> dict:
    import torch

    view = {"torch": torch.__version__, "cuda_build": torch.version.cuda, "cuda": torch.cuda.is_available()}
    if view["cuda"]:
        props = torch.cuda.get_device_properties(0)
        view |= {"device": props.name, "capability": f"{props.major}.{props.minor}", "sms": props.multi_processor_count}
        view["cudnn"] = torch.backends.cudnn.version()
    return view


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1].startswith("-"):
        sys.exit(f"usage: {__doc__.splitlines()[2]}")
    report = {"nvidia_smi": nvidia_smi(), **torch_view()}
    with open(sys.argv[1], "w") as f:
        json.dump(report, f, indent=2)
    print(json.dumps(report))
    sys.exit(1 if "--require-cuda" in sys.argv and not report["cuda"] else 0)
