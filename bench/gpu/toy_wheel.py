"""A tiny wheel for the rehearsal's bundles (rehearse.sh), so that the real `pip install --target` path
runs offline: python3 toy_wheel.py NAME FOLDER writes FOLDER/NAME-0.0.1-py3-none-any.whl."""

from __future__ import annotations

import base64
import hashlib
import sys
import zipfile
from pathlib import Path


def record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def write_wheel(name: str, folder: Path, version: str = "0.0.1") -> Path:
    info = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": b'"""Carried by the GPU run\'s rehearsal."""\n',
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: toy_wheel\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "\n".join([*(record_line(p, d) for p, d in files.items()), f"{info}/RECORD,,"]) + "\n"
    path = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        for member, data in {**files, f"{info}/RECORD": record.encode()}.items():
            wheel.writestr(member, data)
    return path


if __name__ == "__main__":
    print(write_wheel(sys.argv[1], Path(sys.argv[2])))
