"""Each layer of the bot imports only its own layer and the ones below it.

The order is written once, here, lowest first; ``docs/architecture.md`` explains it. A
name covers its submodules (``bot.store`` covers ``bot.store.chats``) and the longest
name wins, so ``bot.sources.model`` can sit below the rest of ``bot.sources``; the root
package ``bot`` covers only itself, so a new top-level module must be given a layer.
Every import counts, also one inside a function or under ``TYPE_CHECKING``: it is still
a dependency a reader has to follow.
"""

from __future__ import annotations

import ast
from pathlib import Path

LAYERS: tuple[tuple[str, ...], ...] = (
    ("bot", "bot.clock", "bot.sources.model", "bot.rules"),  # pure: no I/O, nothing below
    ("bot.sources", "bot.standin", "bot.logs"),  # parsers, the Bot API stand-in, logging
    ("bot.store",),  # SQLite
    ("bot.delivery", "bot.importer", "bot.ops"),  # the work: send, import, operate
    ("bot.settings", "bot.sync"),  # configuration, and the service it configures
    ("bot.telegram",),  # the bot application
    ("bot.console",),  # the terminal chat
    ("bot.cli", "bot.__main__"),  # the command
)

ROOT = Path(__file__).resolve().parent.parent


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str, layers: tuple[tuple[str, ...], ...], package: str) -> int | None:
    """The index of the layer whose longest name covers ``module``, or None."""
    best: tuple[int, int] | None = None  # (length of the name, layer)
    for index, names in enumerate(layers):
        for name in names:
            covers = module == name or (name != package and module.startswith(name + "."))
            if covers and (best is None or len(name) > best[0]):
                best = (len(name), index)
    return None if best is None else best[1]


def imported(tree: ast.Module, module: str, is_package: bool, known: set[str]) -> set[str]:
    """The modules of ours that ``tree`` imports; ``from a import b`` names ``a.b`` if it is one."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return found


def upward_imports(root: Path, package: str, layers: tuple[tuple[str, ...], ...]) -> list[str]:
    """One line per import that reaches a higher layer, or per module left out of every layer."""
    files = sorted((root / package).rglob("*.py"))
    known = {module_name(path, root) for path in files}
    problems: list[str] = []
    for path in files:
        module = module_name(path, root)
        own = layer_of(module, layers, package)
        if own is None:
            problems.append(f"{module}: in no layer; add it to LAYERS")
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for target in sorted(imported(tree, module, path.name == "__init__.py", known)):
            if target != package and not target.startswith(package + "."):
                continue
            theirs = layer_of(target, layers, package)
            if theirs is not None and theirs > own:
                problems.append(f"{module} (layer {own}) imports {target} (layer {theirs})")
    return problems


def test_no_module_imports_a_layer_above_it() -> None:
    assert upward_imports(ROOT, "bot", LAYERS) == []


def test_the_rules_import_nothing_of_ours_but_the_model_and_the_clock() -> None:
    allowed = {"bot.sources.model", "bot.clock"}
    for path in sorted((ROOT / "bot" / "rules").rglob("*.py")):
        module = module_name(path, ROOT)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        ours = {
            name
            for name in imported(tree, module, path.name == "__init__.py", set())
            if name.startswith("bot.") and not name.startswith("bot.rules")
        }
        assert ours <= allowed, f"{module} imports {sorted(ours - allowed)}"


def _tree(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


SMALL = (("app", "app.base"), ("app.store",), ("app.ui",))


def test_the_checker_sees_an_upward_import(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/base.py": "",
            "app/store/__init__.py": "",
            "app/store/rows.py": "from app.base import x\n",
            "app/ui/__init__.py": "",
            "app/ui/screen.py": "import app.store.rows\nfrom app import base\n",
        },
    )
    assert upward_imports(tmp_path, "app", SMALL) == []

    (tmp_path / "app/store/rows.py").write_text("def f():\n    from app.ui import screen\n")
    assert upward_imports(tmp_path, "app", SMALL) == [
        "app.store.rows (layer 1) imports app.ui.screen (layer 2)"
    ]


def test_the_checker_follows_relative_imports_and_package_faces(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/base.py": "from .store import rows\n",
            "app/store/__init__.py": "from ..ui import screen\n",
            "app/store/rows.py": "",
            "app/ui/__init__.py": "",
            "app/ui/screen.py": "",
        },
    )
    assert upward_imports(tmp_path, "app", SMALL) == [
        "app.base (layer 0) imports app.store.rows (layer 1)",
        "app.store (layer 1) imports app.ui.screen (layer 2)",
    ]


def test_the_checker_names_a_module_left_out_of_every_layer(tmp_path: Path) -> None:
    _tree(tmp_path, {"app/__init__.py": "", "app/base.py": "", "app/extra.py": ""})
    assert upward_imports(tmp_path, "app", SMALL) == ["app.extra: in no layer; add it to LAYERS"]
