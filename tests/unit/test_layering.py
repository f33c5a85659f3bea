"""The layering rule of docs/architecture.md, read from the source: packages import downward
only, `lib` <- `ledger` <- `domain` <- `server` <- `cli`. Every layer may use the Rust core
(`reservoir._core`). Imports inside functions count too."""

from __future__ import annotations

import ast
from pathlib import Path

import reservoir

PACKAGE = Path(reservoir.__file__).parent
LAYERS = ("lib", "ledger", "domain", "server", "cli")
ANYONE = {"_core"}


def layer_of(module: str) -> str | None:
    """The layer of `reservoir.<first>...` (None: not a layered part, e.g. `_core`)."""
    parts = module.split(".")
    if parts[0] != "reservoir" or len(parts) < 2 or parts[1] in ANYONE:
        return None
    return parts[1]


def module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every import of a `reservoir` module in the file."""
    tree = ast.parse(path.read_text(), str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "reservoir":  # `from reservoir import _core`
                found += [(node.lineno, f"reservoir.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, node.module))
    return [(line, name) for line, name in found if name.split(".")[0] == "reservoir"]


def sources() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_module_belongs_to_a_layer() -> None:
    for path in sources():
        name = module_name(path)
        if name == "reservoir":
            continue
        assert layer_of(name) in LAYERS, f"{name} is in no layer of {LAYERS}"


def test_packages_import_downward_only() -> None:
    upward = []
    for path in sources():
        own = layer_of(module_name(path))
        if own is None:
            continue
        for line, imported in imported_modules(path):
            target = layer_of(imported)
            if target is not None and LAYERS.index(target) > LAYERS.index(own):
                upward.append(
                    f"{path.relative_to(PACKAGE.parent)}:{line} ({own}) imports {imported}"
                )
    assert upward == [], "imports that run upward:\n" + "\n".join(upward)


def test_the_rule_sees_an_upward_import(tmp_path: Path) -> None:
    """The checker itself: an upward import in a file is found, a downward one is not."""
    upward = tmp_path / "bad.py"
    upward.write_text("def f():\n    from reservoir.server.readiness import mark_ready\n")
    downward = tmp_path / "good.py"
    downward.write_text("from reservoir import _core\nfrom reservoir.lib import clock\n")
    assert [layer_of(m) for _, m in imported_modules(upward)] == ["server"]
    assert [layer_of(m) for _, m in imported_modules(downward)] == [None, "lib"]
