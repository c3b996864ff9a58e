"""The fast paths never name a model family: blocks are fused from the structure they state
(octsearch.core.structure). Read with ``ast`` (lazy imports included); the walls and the absence of
import circles are checked package-wide by tests/test_architecture.py."""

import ast
from pathlib import Path

import octsearch

FAST = Path(octsearch.__file__).parent / "fast"


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_the_fast_paths_import_no_model_family():
    sources = sorted(FAST.rglob("*.py"))
    assert any(p.name == "fused.py" for p in sources)
    bad = {(p.name, name) for p in sources for name in _imported(p) if name.startswith("octsearch.core.models")}
    assert not bad


def test_the_check_sees_imports_inside_functions(tmp_path):
    source = tmp_path / "lazy.py"
    source.write_text("def f():\n    from octsearch.core import models\n")
    assert "octsearch.core.models" in _imported(source)
