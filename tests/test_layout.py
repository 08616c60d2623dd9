"""The folder tree is the architecture: every subpackage imports only itself and the folders the intended
graph allows it (a straight order of layers would let the server import the benchmark)."""

from __future__ import annotations

import ast
from pathlib import Path

KIT = Path(__file__).resolve().parent.parent / "kit"
# What each folder may import besides itself. The core (modules directly in kit/) imports no subpackage; the
# server and the scorers run a model and never train, export or benchmark one; the runtime never reaches a
# command's folder; only the CLI sees every folder.
LOWER = {"core", "data", "runtime"}
ALLOWED = {
    "core": set(),
    "data": {"core"},
    "runtime": {"core", "data"},
    "train": LOWER,
    "export": LOWER,
    "bench": LOWER | {"train", "export"},
    "serve": {"core", "runtime"},
    "predict": LOWER,
    "tune": LOWER | {"bench", "serve"},
    "cli": LOWER | {"train", "export", "bench", "serve", "predict", "tune"},
}


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


def test_every_folder_imports_only_what_the_graph_allows():
    assert {layer(name) for name, _ in modules()} == set(ALLOWED)  # a new folder gets its place in the graph
    stray = [
        f"{name} ({layer(name)}) imports {imported} ({layer(imported)})"
        for name, path in modules()
        for imported in kit_imports(path)
        if layer(imported) != layer(name) and layer(imported) not in ALLOWED[layer(name)]
    ]
    assert not stray, "\n".join(stray)


def test_the_graph_keeps_the_server_and_the_runtime_apart_from_the_commands():
    commands = {"train", "export", "bench", "predict", "tune", "cli"}
    assert not ALLOWED["serve"] & commands and not ALLOWED["runtime"] & (commands | {"serve"})


def test_every_module_says_its_job():
    missing = [name for name, path in modules() if not ast.get_docstring(ast.parse(path.read_text()))]
    assert not missing, f"modules without an opening docstring: {missing}"
