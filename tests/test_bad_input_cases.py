"""Explicit bad input: huge values, `launch` refusals, and the crashes the generated tests found.

Each case must exit 2 with one line naming the bad value (the rule and the helpers:
tests/fuzz_helpers.py; the generated tests: tests/test_bad_input_fuzz.py), and write nothing
where the command was pointed. A crash found in a module owned elsewhere gets an
``xfail(strict=True)`` case here (and an entry in ``fuzz_helpers.KNOWN_CRASHES``) until it is fixed.
"""

from __future__ import annotations

from pathlib import Path

import fuzz_helpers
import pytest
from fuzz_helpers import SHIPPED, assert_clean, run_cli, snapshot

from octsearch.errors import SpaceError
from octsearch.spaces import load_space
from octsearch.spaces.data import DataSpec

# the shared fixtures, where pytest looks for them (hermetic and memory_guard are autouse)
hermetic, memory_guard, store = fuzz_helpers.hermetic, fuzz_helpers.memory_guard, fuzz_helpers.store

DEEP_JSON = "[" * 100_000 + "]" * 100_000

# (argv, a piece of the one-line message); the comment above a case says what it did before its fix.
CRASH_CASES = [
    pytest.param(["flops", "oct_resnet20", "--input-size", "1000000"], "input_size=1000000; accepted:",
                 id="flops-input-size-1e6"),
    # OverflowError: round(inf) in the stage widths (core/models/resnet_cifar.py)
    pytest.param(["slots", "oct_resnet20", "--width-mult", "inf"], "width_mult=inf; accepted: a number > 0 and at most 16",
                 id="slots-width-inf"),
    # RuntimeError: Storage size calculation overflowed (core/layers.py, the OctConv2d weight)
    pytest.param(["flops", "oct_resnet20", "--width-mult", "1e9"], "width_mult=1000000000.0; accepted:",
                 id="flops-width-1e9"),
    # RuntimeError: DefaultCPUAllocator: can't allocate memory, 57.6 GB (core/layers.py)
    pytest.param(["flops", "oct_resnet20", "--in-chans", "100000000"],
                 "in_chans=100000000; accepted: an integer from 1 to 1,024", id="flops-in-chans-1e8"),
    # RuntimeError: DefaultCPUAllocator: can't allocate memory, 25.6 GB (core/models/_head.py)
    pytest.param(["flops", "oct_resnet20", "--num-classes", "100000000"],
                 "num_classes=100000000; accepted: an integer from 2 to 100,000", id="flops-classes-1e8"),
    # TypeError: empty(): argument 'size' failed to unpack ... Overflow (core/models/_head.py)
    pytest.param(["flops", "oct_resnet32", "--num-classes", str(10**30)], f"num_classes={10**30}; accepted:",
                 id="flops-classes-1e30"),
    pytest.param(["flops", "oct_resnet101", "--width-mult", "16"],
                 "parameters (43.5 GB of float32); accepted: at most 4 GB of parameters", id="flops-params-43GB"),
    pytest.param(["slots", "oct_resnet20", "--width-mult", "16", "--input-size", "4096"],
                 "256x4096x4096 feature map (stage1.out) of 17.2 GB", id="slots-feature-map-17GB"),
    # RecursionError: json.loads, 100,000 levels deep (cli/model_commands.py parse_alphas_json)
    pytest.param(["flops", "oct_resnet20", "--alphas", DEEP_JSON], "--alphas '[[[", id="flops-alphas-deep"),
    # RecursionError: json.loads, 100,000 levels deep (cli/trial_commands.py _json_object)
    pytest.param(["trial", "default", "--alphas", DEEP_JSON], "(nested too deeply); accepted:", id="trial-alphas-deep"),
    # RuntimeError: DefaultCPUAllocator: can't allocate memory, 160 TB (data/_tensors.py _resize)
    pytest.param(["dataset", "show", "mnist", "--image-size", "100000"],
                 "image_size=100000 is not accepted; use an integer side from 1 to 4096", id="dataset-image-1e5"),
    pytest.param(["trials", "demo", "--db", "NEWLINE"], "", id="line-break-in-db-path"),
    pytest.param(["models", "x\ny"], "", id="line-break-in-argument"),
    pytest.param(["launch", "default", "--name", "x", "--trials", "0"], "", id="launch-trials-0"),
    pytest.param(["launch", "default", "--name", "x", "--sampler", "nope"], "", id="launch-sampler"),
    pytest.param(["launch", "default", "--name", "x", "--address", "127.0.0.1:1"], "", id="launch-address"),
    pytest.param(["launch", "default", "--name", "x", "--repeats", "-1"], "", id="launch-repeats"),
    pytest.param(["launch", "default", "--name", "x", "--noise-margin", "nan"], "", id="launch-margin"),
    # an empty file got octsearch's tables written into it (cli/store_commands.py _open upgraded it)
    pytest.param(["trials", "demo", "--db", "EMPTY"], "holds no octsearch store", id="trials-empty-file"),
    # created the directory and an empty database (cli/store_commands.py cmd_db_current, create=True)
    pytest.param(["db", "current", "--db", "MISSING"], "no octsearch database at", id="db-current-missing"),
    # ValueError: embedded null byte (store/connect.py open_engine, engine.connect)
    pytest.param(["db", "current", "--db", "sqlite:///\x00"], "has a NUL character in its path", id="db-current-nul"),
]


def _urls(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "empty.db").write_bytes(b"")
    return {"EMPTY": f"sqlite:///{tmp_path / 'empty.db'}", "MISSING": f"sqlite:///{tmp_path / 'new' / 'x.db'}",
            "NEWLINE": f"sqlite:///{tmp_path}/a\nb.db"}


@pytest.mark.parametrize(("argv", "piece"), CRASH_CASES)
def test_explicit_bad_input(argv: list[str], piece: str, tmp_path: Path, memory_guard: bool) -> None:
    """Exit 2 with one line, and no file written where the command was pointed."""
    if not memory_guard and any(a.isdigit() and int(a) >= 10**6 for a in argv):
        pytest.skip("needs the address-space cap: without it torch might really allocate tens of GB")
    db = _urls(tmp_path)
    argv = [db.get(a, a) for a in argv]
    if argv[0] == "launch":
        argv += ["--db", f"sqlite:///{tmp_path / 'launch.db'}"]
    before = snapshot(tmp_path)
    code, _, err = run_cli(argv)
    assert code == 2, (code, err[-500:])
    assert_clean(argv, code, err)
    assert piece in err, err
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("command", [["searches"], ["trials", "demo"], ["pareto", "demo"],
                                     ["export", "demo", "--knee", "-o", "OUT"]])
def test_read_commands_write_nothing_into_an_empty_file(command: list[str], tmp_path: Path) -> None:
    """Not the tables, not even SQLite's WAL header: one line saying the file holds no store."""
    argv = [tmp_path / "out.json" if a == "OUT" else a for a in command]
    code, _, err = run_cli([*map(str, argv), "--db", _urls(tmp_path)["EMPTY"]])
    assert code == 2 and "holds no octsearch store (no octsearch tables)" in err, err
    assert (tmp_path / "empty.db").read_bytes() == b"" and sorted(p.name for p in tmp_path.iterdir()) == ["empty.db"]


def test_db_current_reads_an_empty_file_without_writing_it(tmp_path: Path) -> None:
    code, out, err = run_cli(["db", "current", "--db", _urls(tmp_path)["EMPTY"]])
    assert code == 0 and "schema revision none (empty database)" in out, err
    assert (tmp_path / "empty.db").read_bytes() == b""


def test_db_current_names_a_file_that_is_no_database(store: dict) -> None:
    before = snapshot(store["dir"])
    code, _, err = run_cli(["db", "current", "--db", f"sqlite:///{store['dir'] / 'not_a_db.db'}"])
    assert code == 2 and "file is not a database" in err
    assert_clean(["db", "current"], code, err)
    assert snapshot(store["dir"]) == before


def test_a_space_checks_its_model_arguments_before_loading_its_data(tmp_path: Path, monkeypatch) -> None:
    """The data set may be large (MNIST at 4096 px would be 610 GB): the model's own checks come first."""
    monkeypatch.setattr(DataSpec, "load", lambda self: pytest.fail("the data set was loaded"))
    path = tmp_path / "wide.yaml"
    path.write_text(SHIPPED["default.yaml"].replace("width_mult: 0.5", "width_mult: 1.0e+300"))
    with pytest.raises(SpaceError) as info:
        load_space(path)
    assert str(info.value).startswith("wide.yaml: model.args: oct_resnet20: width_mult=1e+300; accepted: a number > 0")
    assert "\n" not in str(info.value)
