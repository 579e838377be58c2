"""The house keeps its shape: a room never imports a room that comes later in the data flow."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "flair_modernbert"
#: the rooms in data-flow order (docs/architecture.md); the package's __init__ and _registry stand outside
ROOMS = ["encoder", "tags", "segmentation", "redaction", "config", "synthetic", "data", "augmentation", "tagging",
         "evaluation", "training", "distillation", "inference", "export", "integrations", "leaks", "serve", "experiments", "bulk", "cli"]


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "flair_modernbert" else ""


def test_no_room_imports_a_later_room():
    problems = []
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        own = _room(".".join(relative.parts))
        if own not in ROOMS:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 else [])
            for name in names:
                other = _room(name)
                if other in ROOMS and ROOMS.index(other) > ROOMS.index(own):
                    problems.append(f"{relative}: {own} imports {name} ({other} comes later)")
    assert not problems, "\n".join(problems)


def test_every_room_is_documented():
    text = (PACKAGE.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    rooms = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()
             if not p.name.startswith(("_", ".")) and (p.suffix == ".py" or (p / "__init__.py").exists())}
    assert rooms <= {room for room in ROOMS} | {"data"}, rooms - set(ROOMS)
    for room in rooms:
        assert f"`{room}" in text, f"docs/architecture.md does not mention {room}"
