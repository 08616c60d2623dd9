"""The folder tree is the architecture: every subpackage imports only itself, lower layers and the core."""

from __future__ import annotations

import ast
from pathlib import Path

KIT = Path(__file__).resolve().parent.parent / "kit"
# Lowest first. The core (modules directly in kit/) may be imported by everyone and imports no subpackage.
LAYERS = ["core", "data", "runtime", "train", "export", "bench", "serve", "predict", "tune", "cli"]


def layer(module: str) -> str:
    parts = module.split(".")
    if parts[1] == "cli":
        return "cli"
    return parts[1] if (KIT / parts[1]).is_dir() else "core"


def kit_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("kit."):
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names if a.name.startswith("kit."))
    return names


def modules() -> list[tuple[str, Path]]:
    return [
        ("kit." + ".".join(p.relative_to(KIT).with_suffix("").parts), p)
        for p in sorted(KIT.rglob("*.py"))
        if p.name != "__init__.py" or p.parent != KIT
    ]


def test_subpackages_import_only_themselves_lower_layers_and_the_core():
    upward = [
        f"{name} ({layer(name)}) imports {imported} ({layer(imported)})"
        for name, path in modules()
        for imported in kit_imports(path)
        if LAYERS.index(layer(imported)) > LAYERS.index(layer(name))
    ]
    assert not upward, "\n".join(upward)


def test_every_module_says_its_job():
    missing = [name for name, path in modules() if not ast.get_docstring(ast.parse(path.read_text()))]
    assert not missing, f"modules without an opening docstring: {missing}"
