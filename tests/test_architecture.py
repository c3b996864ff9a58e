"""The layout's rules, checked on the source: module size, function size, the walls between parts,
and no import circle. Read with ``ast``; nothing is imported."""

from __future__ import annotations

import ast
import statistics
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "octsearch"
MAX_MODULE_LINES = 400
ONE_FILE_SOURCES = {"fast/_native_src.py"}  # the C kernel source, one file by design
MAX_MEDIAN_FUNCTION_LINES = 15

# part -> packages it must never import (module level or lazily)
WALLS = {
    "core": ("ray", "optuna", "sqlalchemy", "octsearch.fast", "octsearch.store", "octsearch.search",
             "octsearch.trial", "octsearch.spaces"),
    "store": ("ray", "torch", "optuna", "octsearch.core", "octsearch.fast", "octsearch.trial", "octsearch.search"),
    "trial": ("ray", "sqlalchemy", "octsearch.store", "octsearch.search"),
    "spaces": ("ray", "sqlalchemy", "octsearch.store", "octsearch.search", "octsearch.trial"),
    "fast": ("ray", "optuna", "sqlalchemy", "octsearch.store", "octsearch.search", "octsearch.trial"),
    # the model of a search reads the store's facade; a laptop fits it without torch or Ray
    "analysis": ("ray", "torch", "optuna", "octsearch.core", "octsearch.fast", "octsearch.trial", "octsearch.search"),
}
# The one place that reaches a private module of Ray or Optuna (it says why, in a comment there).
PRIVATE_IMPORTS_ALLOWED = {"octsearch.search.cluster": {"ray._private.accelerators"}}
# Private attributes of Optuna's and Ray's objects that octsearch once reached (public APIs exist).
PRIVATE_ATTRIBUTES = {"_storage", "_study_id", "_trial_id", "_ot_study", "_ot_trials", "_completed_trials",
                      "_global_node", "_engine"}
# torch-free modules of the core that any part may use: the one alpha check and channel split
SHARED = ("octsearch.core.split",)


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _imports(path: Path, module: str) -> set[str]:
    """Every module ``module`` imports, at any level of its code (lazy imports included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")[: -node.level or None]
                found.add(".".join([*base, node.module] if node.module else base))
            elif node.module:
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _functions(tree: ast.AST) -> list[int]:
    return [n.end_lineno - n.lineno + 1 for n in ast.walk(tree)
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def test_no_module_is_over_400_lines():
    sizes = {str(p.relative_to(PACKAGE)): p.read_text().count("\n") for p in PACKAGE.rglob("*.py")}
    over = {name: n for name, n in sizes.items() if n > MAX_MODULE_LINES and name not in ONE_FILE_SOURCES}
    assert not over, f"modules over {MAX_MODULE_LINES} lines: {over}"


def test_median_function_is_short():
    lengths = [n for p in PACKAGE.rglob("*.py") for n in _functions(ast.parse(p.read_text()))]
    assert statistics.median(lengths) <= MAX_MEDIAN_FUNCTION_LINES


def test_the_walls_between_parts_hold():
    broken = []
    for module, path in _modules().items():
        part = module.split(".")[1] if "." in module else ""
        for imported in _imports(path, module):
            if any(imported == s or imported.startswith(s + ".") for s in SHARED):
                continue
            for banned in WALLS.get(part, ()):
                if imported == banned or imported.startswith(banned + "."):
                    broken.append(f"{module} imports {imported}")
    assert not broken, broken


def test_no_import_circle_inside_the_package():
    modules = _modules()
    graph = {m: {i for i in _imports(p, m) if i in modules and i != m} for m, p in modules.items()}
    # a package's __init__ re-exporting its own modules is not a circle of design
    for m in graph:
        graph[m] = {i for i in graph[m] if not (m.startswith(i + ".") and modules[i].name == "__init__.py")}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt] if nxt in stack else [node, nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert not cycles, cycles[:5]


def _private_import(name: str) -> bool:
    parts = name.split(".")
    return parts[0] in ("ray", "optuna") and any(p.startswith("_") for p in parts[1:])


def test_no_private_module_or_attribute_of_ray_or_optuna_is_reached():
    found = []
    for module, path in _modules().items():
        allowed = PRIVATE_IMPORTS_ALLOWED.get(module, set())
        found += [f"{module} imports {name}" for name in _imports(path, module)
                  if _private_import(name) and not any(name.startswith(a) for a in allowed)]
        if module.startswith("octsearch.store"):
            continue  # the store's own engine is its own business
        found += [f"{module}:{node.lineno} reaches .{node.attr}" for node in ast.walk(ast.parse(path.read_text()))
                  if isinstance(node, ast.Attribute) and node.attr in PRIVATE_ATTRIBUTES]
    assert not found, found


BENCH = PACKAGE.parent / "bench"
# The store's public names: its package namespace, re-exported by ``octsearch/store/__init__.py``.
STORE_FACADE = "octsearch.store"


def test_nothing_outside_the_store_reaches_past_its_facade():
    """Code outside ``octsearch/store`` (the package and the benchmarks) imports only the store's
    facade (``from octsearch.store import ...``), never one of its modules, and never its engine."""
    store_modules = {m for m in _modules() if m.startswith(STORE_FACADE + ".")}
    sources = {m: p for m, p in _modules().items() if not m.startswith(STORE_FACADE)}
    sources |= {f"bench.{p.stem}": p for p in BENCH.glob("*.py")}
    broken = []
    for module, path in sources.items():
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            broken += [f"{module}:{node.lineno} imports {name}" for name in names
                       if any(name == s or name.startswith(s + ".") for s in store_modules)]
            if isinstance(node, ast.Attribute) and node.attr == "_engine":
                broken.append(f"{module}:{node.lineno} reaches ._engine")
    assert not broken, broken
    assert "octsearch.store.store" in store_modules  # the check looks where the modules are
