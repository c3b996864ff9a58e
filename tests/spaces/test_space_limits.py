"""Space files that would crash the loader: deep nesting, aliases, non-scalar or infinite values.

Each is a one-line SpaceError naming the file (exit 2 through the CLI), refused before PyYAML's
composer, the constructor or pydantic could recurse, and before anything is written.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from octsearch.errors import SpaceError
from octsearch.spaces import load_space, parse_space
from octsearch.spaces._yaml import MAX_DEPTH, safe_load

MODEL = "model: {name: oct_resnet20, args: {num_classes: 10, in_chans: 1, input_size: 32}}\n"


def _flow(depth: int) -> str:
    return "[" * depth + "0" + "]" * depth


def _block(depth: int) -> str:
    return "".join(" " * (2 * i) + f"k{i}:\n" for i in range(depth)) + " " * (2 * depth) + "0\n"


def _alias_chain(links: int, per_link: int = 10) -> str:
    lines = [f"a0: &a0 {_flow(per_link)}"]
    lines += [f"a{i}: &a{i} {'[' * per_link}*a{i - 1}{']' * per_link}" for i in range(1, links)]
    return "\n".join(lines) + "\n"


def _laughs(levels: int = 8) -> str:
    lines = ["x0: &x0 [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]"]
    lines += [f"x{i}: &x{i} [{', '.join([f'*x{i - 1}'] * 10)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


TOO_DEEP = [
    pytest.param(MODEL + f"search:\n  grid: {_flow(300)}\n", "302 levels deep", id="flow-lists-300"),
    pytest.param(MODEL + "search: " + "{a: " * 300 + "0" + "}" * 300 + "\n", "301 levels deep", id="flow-maps-300"),
    pytest.param(MODEL + _block(300), "300 levels deep", id="block-maps-300"),
    pytest.param(MODEL + f"search: {{grid: {_flow(100_000)}}}\n", "more than 512 levels deep", id="flow-100000"),
    pytest.param(MODEL + _alias_chain(8), "levels deep", id="aliases-nest-deeper-than-the-text"),
    pytest.param(MODEL + "search: {grid: &a [0, *a]}\n", "an alias refers to the list or mapping that contains it",
                 id="alias-to-itself"),
    pytest.param(MODEL + _laughs(), "more than 100,000 values with aliases expanded (the limit)", id="billion-laughs"),
    pytest.param(MODEL + "? [a]\n: 1\n", "unhashable key", id="list-as-key"),
]


@pytest.mark.parametrize(("text", "piece"), TOO_DEEP)
def test_refused_before_recursion_in_one_line(text: str, piece: str) -> None:
    with pytest.raises(SpaceError) as info:
        parse_space(text, "deep.yaml")
    message = str(info.value)
    assert "\n" not in message and message.startswith("deep.yaml: invalid YAML at line ") and piece in message
    if "levels deep" in piece:
        assert f"over the limit of {MAX_DEPTH} levels" in message


def test_the_limit_itself_is_accepted() -> None:
    assert safe_load(_flow(MAX_DEPTH)) is not None
    with pytest.raises(Exception, match=f"nested {MAX_DEPTH + 1} levels deep"):
        safe_load(_flow(MAX_DEPTH + 1))
    with pytest.raises(SpaceError, match=r"deep.yaml: model.args.width_mult: .* accepted: a number"):
        parse_space(f"model: {{name: oct_resnet20, args: {{width_mult: {_flow(40)}}}}}\n", "deep.yaml")


@pytest.mark.parametrize(("command", "options"), [(["space", "show"], []), (["launch"], ["--name", "x"]),
                                                  (["trial"], ["--uniform", "0"])], ids=["space-show", "launch", "trial"])
def test_cli_exit_2_one_line_no_database(tmp_path: Path, command: list[str], options: list[str]) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text(MODEL + f"search:\n  grid: {_flow(400)}\n")
    db = tmp_path / "store" / "launch.db"
    options += ["--db", f"sqlite:///{db}"] if command == ["launch"] else []
    command = [sys.executable, "-m", "octsearch.cli.main", *command, str(path), *options]
    done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert lines[0] == ("octsearch: error: deep.yaml: invalid YAML at line 3, column 71: lists and mappings "
                        f"nested 402 levels deep, over the limit of {MAX_DEPTH} levels; accepted: a YAML mapping "
                        "of sections")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deep.yaml"]


BAD_VALUES = [
    ("width_mult: .inf", "model.args.width_mult: inf is not accepted; accepted: a finite number"),
    ("width_mult: [1]", "model.args.width_mult: [1] is not accepted; accepted: a number, true/false or a string"),
    ("input_size: {a: 1}", "model.args.input_size: {'a': 1} is not accepted; accepted: a number, true/false"),
    ("name: x", "model.args: {'name': 'x'} is not accepted: key 'name' is reserved"),
]


@pytest.mark.parametrize(("arg", "piece"), BAD_VALUES, ids=[b[0] for b in BAD_VALUES])
def test_model_arguments_are_finite_scalars(tmp_path: Path, arg: str, piece: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(f"model: {{name: oct_resnet20, args: {{{arg}}}}}\n")
    with pytest.raises(SpaceError, match="^bad.yaml: ") as info:
        load_space(path)
    assert piece in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(("section", "piece"), [
    ("flops_budget: .inf", "flops_budget: inf is not accepted; it should be a finite number"),
    ("budget: {optimizer: {lr: .nan}}", "budget.optimizer.lr: nan is not accepted; it should be a finite number"),
    ("data: {image_size: 100000}", "data.image_size: 100000 is not accepted; it should be less than or equal to 4096"),
])
def test_numbers_are_finite_and_images_no_larger_than_a_model_input(section: str, piece: str) -> None:
    with pytest.raises(SpaceError) as info:
        parse_space(MODEL + section + "\n", "bad.yaml")
    assert str(info.value) == f"bad.yaml: {piece}"


# -- crashes found by tests/test_bad_input_fuzz.py, fixed outside octsearch/spaces' files --

DEFAULT_TEXT = (Path(__file__).resolve().parents[2] / "search_spaces" / "default.yaml").read_text()


def test_a_huge_width_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "wide.yaml"
    path.write_text(MODEL.replace("num_classes", "width_mult: 1.0e+300, num_classes"))
    with pytest.raises(SpaceError) as info:
        load_space(path)
    assert "\n" not in str(info.value)


def _cap_memory() -> None:  # in the child: an allocation of hundreds of GB fails at once
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (8 * 2**30, resource.RLIM_INFINITY))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="caps the child's memory with RLIMIT_AS")
def test_the_largest_image_size_on_mnist_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text(DEFAULT_TEXT.replace("val_fraction: 0.2", "val_fraction: 0.2\n  image_size: 4096"))
    done = subprocess.run([sys.executable, "-m", "octsearch.cli.main", "space", "show", str(path)],
                          capture_output=True, text=True, timeout=300, preexec_fn=_cap_memory)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr[-1000:]


def test_spaces_lists_a_deep_shipped_file_as_unreadable(tmp_path: Path, monkeypatch, capsys) -> None:
    from octsearch.cli.main import main

    (tmp_path / "deep.yaml").write_text(MODEL + f"search: {{grid: {_flow(2000)}}}\n")
    monkeypatch.setenv("OCTSEARCH_SPACES_DIR", str(tmp_path))
    assert main(["spaces"]) == 0 and "deep" in capsys.readouterr().out
