"""Shared by tests/test_bad_input_fuzz.py (generated bad input) and tests/test_bad_input_cases.py
(explicit cases): running the CLI in-process, the one-line and no-write checks, and the fixtures
(a hermetic environment, a memory guard, a SQLite store with a small real search).

The rule under test: bad input gets a one-line error (an :class:`OctsearchError` in-process;
through the CLI exit code 2 and one line on stderr, never a traceback) and leaves stored results
as they were. A test module imports the fixtures it uses by name (``hermetic`` and
``memory_guard`` are autouse), so that pytest finds them in its namespace.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import traceback
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

import octsearch
from octsearch.cli.main import main
from octsearch.errors import OctsearchError
from octsearch.spaces import load_space

REPO = Path(__file__).resolve().parents[1]
PACKAGE = Path(octsearch.__file__).resolve().parent
SHIPPED = {p.name: p.read_text(encoding="utf-8") for p in sorted((REPO / "search_spaces").glob("*.yaml"))}
CHEAP_MODELS = ("oct_resnet20", "oct_resnet32")  # `flops` and `space show` count these in well under a second
FUZZ = settings(max_examples=40, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# (exception, module of the package that raised it) -> the crash, for inputs the generated tests
# set aside while a crash found in a module owned elsewhere waits for its fix; each entry has an
# xfail(strict=True) case in tests/test_bad_input_cases.py. None are known now: the crashes found
# so far (huge model arguments, deep --alphas JSON, huge image sizes, a multi-line space error)
# are fixed, and their cases there must pass.
KNOWN_CRASHES: dict[tuple[Any, str], str] = {}


def known_crash(error: BaseException) -> str | None:
    """The KNOWN_CRASHES entry ``error`` matches, if any."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename.startswith(str(PACKAGE))]
    where = Path(frames[-1].filename).relative_to(PACKAGE).as_posix() if frames else ""
    kind = "multi-line" if isinstance(error, OctsearchError) else type(error)
    return KNOWN_CRASHES.get((kind, where))


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``octsearch ARGV``; any other exception escapes."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as e:  # argparse's own exit (bad option syntax)
            code = e.code if isinstance(e.code, int) else 2
    return code, out.getvalue(), err.getvalue()


def assert_clean(argv: list[str], code: int, err: str) -> None:
    """Exit 0, or exit 2 with exactly one line on stderr and no traceback."""
    assert code in (0, 2), (argv, code, err[-2000:])
    if code == 2:
        lines = err.strip("\n").splitlines()
        assert len(lines) == 1 and lines[0].startswith("octsearch: error: "), (argv, err[-2000:])


def assert_one_line(error: OctsearchError) -> None:
    assert str(error).strip() and "\n" not in str(error), repr(str(error))


def snapshot(directory: Path) -> dict[str, str]:
    """sha256 of every file below ``directory`` ("dir" for a directory), but SQLite's write-ahead
    log and its index, which come and go on reads."""
    return {str(p.relative_to(directory)): "dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if not p.name.endswith(("-wal", "-shm"))}


# -- fixtures: a hermetic environment, a memory guard, a store with a small real search --------


@pytest.fixture(scope="module", autouse=True)
def hermetic(tmp_path_factory: pytest.TempPathFactory):
    """No command reaches the user's default store or data directory."""
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as mp:
        for key, value in (("OCTSEARCH_DB", f"sqlite:///{home / 'default.db'}"), ("HOME", str(home)),
                           ("XDG_DATA_HOME", str(home))):
            mp.setenv(key, value)
        mp.delenv("OCTSEARCH_SPACES_DIR", raising=False)
        yield
    assert not (home / "default.db").exists(), "a command wrote the default store"


@pytest.fixture(scope="module", autouse=True)
def memory_guard() -> bool:
    """Cap this process's address space at 8 GiB above its size (Linux): an input that makes
    torch allocate tens of GB fails at once instead of starving the shared machine."""
    try:
        import resource

        with open("/proc/self/status") as f:
            vm = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
    except (ImportError, OSError):
        yield False
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = vm + 8 * 2**30
    active = hard == resource.RLIM_INFINITY or cap < hard
    if active:
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    yield active
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A SQLite store with search 'demo' of the default space: its uniform configurations (real
    FLOP counts, made-up accuracies), a failed and a running trial; beside it a file that is not
    a database."""
    from octsearch.store import SearchSpec, open_store

    space = load_space("default")
    directory = tmp_path_factory.mktemp("store")
    url = f"sqlite:///{directory / 'store.db'}"
    uniform = [space.with_cost(c) for c in space.uniform_configurations()]
    with open_store(url) as s:
        s.create_search(SearchSpec(
            name="demo", space_text=space.text, model_name=space.model_name, model_args=space.model_args,
            reference_accuracy=0.1, reference_flops=uniform[0].counted.flops_paper, space_hash=space.hash))
        for i, c in enumerate(uniform):
            n = s.start_trial("demo", c)
            s.record_evaluation("demo", n, seed=0, accuracy=0.95 - 0.02 * i, n_val=1000)
        for base, first, failed in ((uniform[1], 0.5, True), (uniform[2], 0.75, False)):
            n = s.start_trial("demo", space.with_cost(space.configuration({**base.by_param, space.param_names[0]: first})))
            if failed:
                s.record_failure("demo", n, "RuntimeError: boom")
    (directory / "not_a_db.db").write_text("model: {name: oct_resnet20}\n")
    return {"url": url, "dir": directory, "out": tmp_path_factory.mktemp("out")}

