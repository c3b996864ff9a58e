"""Generated bad input: nothing but the project's own errors escapes, and no store is written.

Hypothesis mutates the shipped ``search_spaces/*.yaml`` (through their parsed YAML, and as text
and bytes) and the options of the read-only and store commands, run in-process against a SQLite
store that holds a small real search (the rule, the helpers and the fixtures: tests/fuzz_helpers.py;
the explicit cases, the crashes found among them: tests/test_bad_input_cases.py). Nothing here
starts Ray or trains: ``launch`` and ``trial`` only get input that fails before either would start.

Generated sizes stay moderate (``flops`` and ``space show`` build torch models). A crash found in
a module owned elsewhere is listed in ``fuzz_helpers.KNOWN_CRASHES``: the generated tests set
inputs that hit it aside until it is fixed.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import fuzz_helpers
import yaml
from fuzz_helpers import (
    CHEAP_MODELS,
    FUZZ,
    SHIPPED,
    assert_clean,
    assert_one_line,
    known_crash,
    run_cli,
    snapshot,
)
from hypothesis import given, reject, settings
from hypothesis import strategies as st

from octsearch.errors import OctsearchError
from octsearch.spaces import load_space

# the shared fixtures, where pytest looks for them (hermetic and memory_guard are autouse)
hermetic, memory_guard, store = fuzz_helpers.hermetic, fuzz_helpers.memory_guard, fuzz_helpers.store

# -- (a) mutated space files --------------------------------------------------------------------

BAD_VALUES = st.one_of(
    st.sampled_from([None, True, False, "", " ", "no_such_name", "${NO_SUCH_VARIABLE}", "stage9.*", "x" * 500,
                     -1, 0, 1, 3, 10**30, -(10**30), 2**63, 1e308, -1e-300, math.nan, math.inf, -math.inf,
                     [], {}, [[]], [None], {"": None}, "__DEEP__"]),
    st.integers(-5, 64), st.floats(-2, 2), st.text(max_size=8),
    st.lists(st.one_of(st.integers(-2, 2), st.floats(-1, 2), st.text(max_size=3)), max_size=4),
    st.dictionaries(st.sampled_from(["name", "x", "slots", "choices", "lr", ""]), st.integers(-2, 70), max_size=2),
)
KEYS = st.sampled_from(["name", "args", "grid", "params", "per", "fixed", "epochs", "nope", "", "1", "input_size"])
# Keys whose values reach the model, the data set, the sampler or the store: set more often.
SENSITIVE = st.sampled_from([
    ("model", "name"), ("model", "args", "width_mult"), ("model", "args", "input_size"),
    ("model", "args", "num_classes"), ("model", "args", "in_chans"), ("model", "args", "last_stage_alpha0"),
    ("model", "args", "name"), ("data", "name"), ("data", "image_size"), ("data", "limit"), ("data", "root"),
    ("data", "seed"), ("data", "options", "split"), ("data", "options", "nope"), ("search", "grid"),
    ("search", "per"), ("search", "fixed"), ("search", "params", "stage2"), ("search", "params", "stage2", "slots"),
    ("budget", "full", "epochs"), ("budget", "optimizer", "lr"), ("flops_budget",), ("sampler", "args", "seed"),
    ("sampler", "name"), ("objectives", "latency_path"), ("objectives", "flops"), ("repeats", "margin"),
])


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key path of a parsed YAML document (mapping keys and list indices)."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    return [prefix, *(p for key, child in items for p in _paths(child, (*prefix, key)))]


def _set(tree: Any, path: tuple, value: Any) -> Any:
    """``tree`` with ``value`` at ``path``, creating (or replacing by) mappings on the way."""
    tree = tree if isinstance(tree, dict) else {}
    node = tree
    for key in path[:-1]:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    node[path[-1]] = value
    return tree


def _mutate_tree(draw: st.DrawFn, tree: Any) -> Any:
    if draw(st.booleans()):
        return _set(tree, draw(SENSITIVE), draw(BAD_VALUES))
    path = draw(st.sampled_from(_paths(tree)))
    if not path:
        return draw(BAD_VALUES)  # the whole document replaced
    parent = tree
    for key in path[:-1]:
        parent = parent[key]
    op = draw(st.sampled_from(["replace", "replace", "drop", "add_key", "nest"]))
    if op == "replace":
        parent[path[-1]] = draw(BAD_VALUES)
    elif op == "drop":
        del parent[path[-1]]
    elif op == "add_key" and isinstance(parent[path[-1]], dict):
        parent[path[-1]][draw(KEYS)] = draw(BAD_VALUES)
    else:
        parent[path[-1]] = [[{"x": parent[path[-1]]}]]
    return tree


def _mutate_text(draw: st.DrawFn, text: str) -> bytes:
    op = draw(st.sampled_from(["none", "none", "truncate", "duplicate_line", "duplicate_section", "bytes"]))
    lines = text.splitlines(keepends=True) or [""]
    if op == "truncate":
        text = text[: draw(st.integers(0, len(text)))]
    elif op == "duplicate_line":
        i = draw(st.integers(0, len(lines) - 1))
        text = "".join(lines[: i + 1] + lines[i:])
    elif op == "duplicate_section":
        text += "\nmodel: {name: oct_resnet20}\n"
    depth = draw(st.integers(50, 400))
    data = text.replace("__DEEP__", "[" * depth + "0" + "]" * depth).encode("utf-8", "surrogatepass")
    if op == "bytes":
        i = draw(st.integers(0, len(data)))
        data = data[:i] + draw(st.sampled_from([b"\xff\xfe", b"\x00", b"\t", b"\x80abc", b"\r", b"&a [*a]", b"{"])) + data[i:]
    return data


@st.composite
def mutated_spaces(draw: st.DrawFn) -> bytes:
    """The bytes of a shipped space file, mutated."""
    text = SHIPPED[draw(st.sampled_from(sorted(SHIPPED)))]
    if draw(st.booleans()):  # structural: parse, mutate 1-3 times, dump
        tree = yaml.safe_load(text)
        for _ in range(draw(st.integers(1, 3))):
            tree = _mutate_tree(draw, tree)
        text = yaml.safe_dump(tree, sort_keys=False, allow_unicode=True)
    return _mutate_text(draw, text)


def _cheap(space: Any) -> bool:
    """Whether `space show` may count this space's FLOPs here (a small model at a small size)."""
    args = space.model_args
    return space.model_name in CHEAP_MODELS and args["input_size"] <= 64 and args.get("width_mult", 1) <= 2 \
        and args["in_chans"] <= 8 and args["num_classes"] <= 1000


def _load(path: Path) -> Any:
    """The space, or None after a one-line error; a known crash sets the example aside."""
    try:
        return load_space(path)
    except OctsearchError as e:
        if "\n" in str(e) and known_crash(e):
            reject()
        assert_one_line(e)
    except Exception as e:
        if not known_crash(e):
            raise
        reject()
    return None


def _cli(argv: list[str]) -> tuple[int, str, str]:
    try:
        return run_cli(argv)
    except Exception as e:
        if not known_crash(e):
            raise
        reject()


@FUZZ
@given(data=mutated_spaces())
def test_mutated_space_files_fail_with_one_line(data: bytes, tmp_path: Path) -> None:
    """The loader and `space show` on a mutated shipped file: a space, or a one-line error."""
    path = tmp_path / "mutated.yaml"
    path.write_bytes(data)
    space = _load(path)
    if space is None or _cheap(space):
        argv = ["space", "show", str(path), *(["--json"] if len(data) % 2 else [])]
        code, _, err = _cli(argv)
        assert_clean(argv, code, err)
        assert (code == 2) == (space is None), (argv, err)


@settings(FUZZ, max_examples=10)
@given(data=mutated_spaces(), extra=st.sampled_from([[], ["--trials", "-1"], ["--seed", "x"], ["--sampler", "nope"]]))
def test_launch_and_trial_on_a_bad_space_write_no_database(data: bytes, extra: list[str], tmp_path: Path) -> None:
    """`launch` and `trial` refuse a space that does not load before Ray, a store or training."""
    path = tmp_path / "mutated.yaml"
    path.write_bytes(data)
    if _load(path) is not None:
        return  # a valid mutation: launching it would start Ray and train
    db = tmp_path / "new" / "launch.db"
    for argv in (["launch", str(path), "--name", "x", "--db", f"sqlite:///{db}", *extra],
                 ["trial", str(path), "--uniform", "0"]):
        code, _, err = run_cli(argv)
        assert code == 2 and not db.parent.exists(), (argv, err)
        assert_clean(argv, code, err)


# -- (b) mutated CLI arguments against the store ------------------------------------------------

NAMES = st.one_of(st.sampled_from(["other", "", "DEMO", "demo\n", "d" * 300, "'; DROP TABLE searches; --", "%", "-"]),
                  st.text(max_size=8))
INTS = st.one_of(st.integers(-3, 12).map(str), st.sampled_from(["-9223372036854775809", "9223372036854775808",
                                                                 str(10**30), "1.5", "", "x", "nan", "٣", " 7 "]))
FLOATS = st.one_of(st.floats(-1, 2).map(repr), st.sampled_from(["nan", "-inf", "-0", "", "x", "0x10", "1_0", "0.3"]))
BOUNDS = st.one_of(st.sampled_from(["0", "-1", "1e5", "1e400", "nan", "inf", "%", "M", "", "5MMACs", "1e-400",
                                    "0.0000001", "100000%", "-5%", "95 %", ".5.", "1e-3G"]), st.text(max_size=6))
ALPHAS_JSON = st.one_of(st.sampled_from([
    '{"stage1.out": 1e400}', '{"stage1.out": NaN}', '{"stage1.out": -Infinity}', "[]", "{}", '{"stage1.out": true}',
    '{"stage1.out": null}', '{"stage1.out": {"a": 1}}', '{"x": "a"}', "null", "1", "", '{"stage1.out": "0.5"}',
    '{"stage1.out": 0.5, "stage1.out": 0.25}', "[" * 40 + "]" * 40]), st.text(max_size=6))


def _options(draw: st.DrawFn, options: list[tuple[str, list[str], st.SearchStrategy[str]]]) -> list[str]:
    """Each option left out, given a valid value, or (one time in six) a drawn bad one."""
    out: list[str] = []
    for flag, valid, bad in options:
        pick = draw(st.integers(0, 5))
        if pick >= 3:
            value = draw(st.sampled_from(valid)) if pick < 5 else draw(bad)
            out += [f"{flag}={value}"] if value.startswith("-") or not value else [flag, value]
    return out


def db_urls(store: dict[str, Any]) -> st.SearchStrategy[str]:
    """The test's store most often; else a URL to refuse (or, a missing file, to read as empty)."""
    d = store["dir"]
    absent = [f"sqlite:///{d / 'missing.db'}", f"sqlite:///{d / 'new' / 'x.db'}", f"sqlite:///{d}/a\nb.db", ""]
    return st.sampled_from([store["url"]] * 4 + [
        f"sqlite:///{d}", f"sqlite:///{d / 'not_a_db.db'}", "mysql://u@h/x", "::::", "sqlite://",
        "postgresql://u@127.0.0.1:1/x", *absent])


@st.composite
def store_argv(draw: st.DrawFn, store: dict[str, Any]) -> list[str]:
    """argv of searches | trials | pareto | export | db current, some values bad."""
    command = draw(st.sampled_from(["searches", "trials", "pareto", "export", "db current"]))
    db = ["--db", draw(db_urls(store))]
    formats = ("--format", ["table", "json", "csv"], st.sampled_from(["yaml", "", "JSON"]))
    budgets = ("--budget", ["proxy", "full"], st.sampled_from(["", "nope", "epochs=3", "proxy\n", "PROXY"]))
    if command in ("searches", "db current"):
        return [*command.split(), *(_options(draw, [formats]) if command == "searches" else []), *db]
    name = "demo" if draw(st.integers(0, 2)) else draw(NAMES)
    out = store["out"]
    if command == "trials":
        statuses = ("--status", ["complete", "failed", "running"], st.sampled_from(["done", "", "COMPLETE"]))
        flags = ["--newest"] if draw(st.booleans()) else []
        return ["trials", name, *_options(draw, [statuses, ("--limit", ["1", "3"], INTS), formats]), *flags, *db]
    if command == "pareto":
        plots = ("--plot", [str(out / "front.png")], st.sampled_from([str(out), str(out / "no" / "dir.png"), ""]))
        return ["pareto", name, *_options(draw, [formats, budgets, plots]), *db]
    rule = draw(st.sampled_from([("--knee", [], st.nothing()), ("--trial", ["2", "0"], INTS),
                                 ("--max-flops", ["0.005", "5M", "70%"], BOUNDS),
                                 ("--min-accuracy", ["0.9", "91%"], BOUNDS)]))
    chosen = [rule[0]] if not rule[1] else _options(draw, [rule]) or [rule[0], rule[1][0]]
    output = draw(st.sampled_from([str(out / "cfg.json")] * 3 + [str(out), str(out / "no" / "dir.json"), ""]))
    return ["export", name, *chosen, "-o", output, *_options(draw, [budgets]), *db]


@st.composite
def model_argv(draw: st.DrawFn) -> list[str]:
    """argv of models | slots | flops | spaces | space show, moderate sizes only."""
    command = draw(st.sampled_from(["models", "spaces", "space show", "slots", "slots", "flops", "flops", "flops"]))
    if command in ("models", "spaces"):
        return [command]
    if command == "space show":
        return ["space", "show", draw(st.sampled_from([n.removesuffix(".yaml") for n in SHIPPED] + [
            "nope", "/", "x.yaml", "a/b"]))]
    names = CHEAP_MODELS if command == "flops" else ("oct_resnet20", "oct_resnet50", "oct_mobilenetv2")
    model = draw(st.sampled_from(names) if draw(st.integers(0, 3)) else st.text(max_size=5))
    sizes = st.one_of(st.integers(-4, 64).map(str), st.sampled_from(["1000000", "x", "", "32.0"]))
    options = _options(draw, [("--input-size", ["16", "28", "32"], sizes), ("--num-classes", ["2", "10"], INTS),
                              ("--in-chans", ["1", "3"], st.sampled_from(["-1", "0", "x", "16"])),
                              ("--width-mult", ["0.25", "0.5", "1.0"], FLOATS)])
    if command == "flops":
        options += _options(draw, [draw(st.sampled_from([("--uniform", ["0", "0.25", "0.5"], FLOATS),
                                                         ("--alphas", ['{"stage1.out": 0.5}'], ALPHAS_JSON)]))])
    flags = [f for f in ("--json", "--all") if draw(st.booleans()) and (f == "--json" or command == "slots")]
    return [command, model, *options, *flags]


def run_against_store(argv: list[str], store: dict[str, Any]) -> None:
    """Run one command: a clean exit, the store directory as it was, no output file on failure."""
    before = snapshot(store["dir"])
    code, _, err = _cli(argv)
    written = sorted(store["out"].iterdir())
    for p in written:  # what a successful export or plot wrote: cleared for the next call
        p.unlink() if p.is_file() else None
    assert_clean(argv, code, err)
    assert snapshot(store["dir"]) == before, (argv, "the store directory changed")
    assert code == 0 or not [p for p in written if p.is_file()], (argv, written)


@FUZZ
@given(data=st.data())
def test_store_commands_with_bad_arguments_leave_the_store_as_it_was(data: st.DataObject, store: dict[str, Any]) -> None:
    run_against_store(data.draw(store_argv(store)), store)


@settings(FUZZ, max_examples=25)
@given(argv=model_argv())
def test_model_and_space_commands_with_bad_arguments(argv: list[str], store: dict[str, Any]) -> None:
    run_against_store(argv, store)
