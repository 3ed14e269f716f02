"""The house's layers, seen from the imports (docs/architecture.md).

`lint-imports` (in `make test`) checks the layer and independence contracts of pyproject.toml; these
tests check what its contracts do not say: no import cycle among the project's modules, no module
reaching into another's private names, and no module of `innomon/` left outside a declared layer."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("innomon", "flows", "tasks", "schemas")


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    modules = sorted(graph.modules)
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in modules:
        if start in index:
            continue
        work = [(start, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            if i < len(edges[node]):
                work.append((node, i + 1))
                nxt = edges[node][i]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return found


def test_no_import_cycle_among_the_projects_modules() -> None:
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    assert len(graph.modules) > 80  # the whole project was read
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for name in ("a", "a.x", "a.y", "a.z"):
        graph.add_module(name)
    graph.add_import(importer="a.x", imported="a.y")
    graph.add_import(importer="a.y", imported="a.x")
    graph.add_import(importer="a.z", imported="a.x")
    assert _cycles(graph) == [["a.x", "a.y"]]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _private_reaches(path: Path, here: str | None = None) -> list[str]:
    """`from M import _name` and `alias._name` of another project module, in one file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = here or _module_name(path)
    found: list[str] = []
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in PACKAGES:
            for name in node.names:
                if node.module != here and name.name.startswith("_") and not name.name.startswith("__"):
                    found.append(f"{here}:{node.lineno} imports {node.module}.{name.name}")
                aliases[name.asname or name.name] = f"{node.module}.{name.name}"
        elif isinstance(node, ast.Import):
            for name in node.names:
                if name.name.split(".")[0] in PACKAGES:
                    aliases[name.asname or name.name] = name.name
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            found.append(f"{here}:{node.lineno} reaches {aliases[node.value.id]}.{node.attr}")
    return found


def test_no_module_imports_another_modules_private_name() -> None:
    files = [p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))]
    assert len(files) > 80
    reaches = [r for p in files for r in _private_reaches(p)]
    assert reaches == []


def test_the_private_name_check_sees_both_forms(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("from tasks.derive.stage import _yes\nfrom innomon import config\nconfig._load_cached\n")
    got = _private_reaches(probe, "tasks.probe")
    assert len(got) == 2 and "tasks.derive.stage._yes" in got[0] and "innomon.config._load_cached" in got[1]


def test_every_module_of_innomon_is_in_a_declared_layer() -> None:
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    layers = next(c for c in contracts if c["id"] == "layers")["layers"]
    named = {m.strip() for layer in layers for m in layer.replace("|", ":").split(":")}
    modules = {_module_name(p) for p in (ROOT / "innomon").rglob("*.py") if "__pycache__" not in p.parts}
    unplaced = sorted(m for m in modules if m != "innomon" and not any(m == n or m.startswith(n + ".") for n in named))
    assert unplaced == []
    assert {"flows", "tasks", "schemas"} <= named


# The names the stages give the configuration and its parts (a table's `spec`, the engine's `ctx`,
# where the work runs `execution` / `dask`, the weights' `settings`, the thresholds `th`).
CONFIG_NAMES = frozenset({"cfg", "config", "spec", "ctx", "execution", "dask", "settings", "th", "cs", "layout"})


def _config_dict_reads(path: Path, name: str | None = None) -> list[str]:
    """`cfg["..."]` and `cfg.get(...)` (and the same of the other `CONFIG_NAMES`) in one file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        target = None
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, str)
        ):
            target = node.value
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get":
            target = node.func.value
        if isinstance(target, ast.Name) and target.id in CONFIG_NAMES:
            found.append(f"{name or path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_every_stage_reads_the_typed_configuration() -> None:
    files = [p for pkg in ("tasks", "flows") for p in sorted((ROOT / pkg).rglob("*.py"))]
    assert len(files) > 40
    assert [r for p in files for r in _config_dict_reads(p)] == []


def test_the_config_read_check_sees_a_dict_read(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text('cfg["year"]\nspec.get("by")\ncfg.year\nrow["year"]\nctx["confidence"]\n')
    assert [r.rsplit(":", 1)[1] for r in _config_dict_reads(probe, "probe.py")] == ["1", "2", "5"]
