"""Search-space files: shipped spaces load, errors are one line naming file/key/value, expand/inverse."""

from __future__ import annotations

import hashlib
import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest

from octsearch.cli.main import main
from octsearch.errors import ConfigError, SpaceError, UnknownNameError
from octsearch.spaces import find_space, list_spaces, load_space, parse_space
from octsearch.spaces.locate import shipped_paths

REPO = Path(__file__).resolve().parents[2]
DEFAULT_TEXT = (REPO / "search_spaces" / "default.yaml").read_text()
SHIPPED = ("default", "cifar10_resnet20", "imagenet_resnet50", "imagenet_mobilenetv2")


def write(tmp_path: Path, text: str, name: str = "space.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def mutate(tmp_path: Path, old: str, new: str, name: str = "bad.yaml") -> Path:
    assert old in DEFAULT_TEXT, old  # the test's own precondition, not user input
    return write(tmp_path, DEFAULT_TEXT.replace(old, new, 1), name)


# -- shipped spaces ----------------------------------------------------------------------------


def test_every_shipped_space_is_listed_with_a_description() -> None:
    listed = {s.name: s for s in list_spaces()}
    assert set(SHIPPED) <= set(listed)
    for name in SHIPPED:
        assert listed[name].description and "\n" not in listed[name].description


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_space_loads_and_validates(name: str) -> None:
    space = load_space(name)
    text = (REPO / "search_spaces" / f"{name}.yaml").read_text()
    assert space.name == name and space.text == text
    assert space.hash == hashlib.sha256(text.encode()).hexdigest()
    assert space.params and space.num_configurations >= 25
    # every free slot is either searched (by exactly one parameter) or fixed
    searched = [s for p in space.params for s in p.slots]
    assert len(searched) == len(set(searched))
    assert set(searched) | set(space.fixed) == set(space.free_slots)
    uniform = space.uniform_configurations()
    assert [c.uniform_alpha for c in uniform] == [0.0, 0.125, 0.25, 0.5, 0.75]
    assert space.budget("full").epochs > space.budget("proxy").epochs


def test_default_space_shape() -> None:
    space = load_space("default")
    assert space.model_args == {"num_classes": 10, "in_chans": 1, "input_size": 28, "width_mult": 0.5}
    assert space.num_configurations == 5**4
    assert space.budget().threads == 1
    assert space.sampler.name == "random" and space.objectives.flops == "paper"  # see bench/search_quality.py


def test_the_parameter_count_objective_is_param_count_and_its_old_key_is_still_read(tmp_path: Path) -> None:
    from octsearch.search.state import Objectives

    assert not load_space("default").objectives.param_count
    for key in ("param_count", "params"):  # params: the key's name before store migration 0005
        space = load_space(str(mutate(tmp_path, "  param_count: false", f"  {key}: true", f"{key}.yaml")))
        assert space.objectives.param_count
        assert Objectives.of(space).store_names == ("accuracy", "flops_paper", "param_count")
    with pytest.raises(SpaceError, match="param_count"):
        load_space(str(mutate(tmp_path, "  param_count: false", "  param_count: 3")))


def test_imagenet_resnet50_matches_the_paper_grouping() -> None:
    space = load_space("imagenet_resnet50")
    assert space.param_names == ("stage2", "stage3", "stage4")
    assert all(s.startswith(p.name + ".") for p in space.params for s in p.slots)
    assert not any(s.free for s in space.slots if s.name.startswith("stage5") or s.name == "stem.out")


@pytest.mark.parametrize("name", ["imagenet_resnet50", "imagenet_mobilenetv2"])
def test_imagenet_spaces_are_a_gpu_proxy_on_a_prepared_imagenet_100(name, capsys) -> None:
    space = load_space(name)
    assert space.data.name == "prepared" and dict(space.data.options) == {"classes": 100, "per_class": 300}
    assert space.model_args["input_size"] == space.data.image_size == 128 and space.model_args["num_classes"] == 100
    assert space.resources().gpu == 0.5 and space.resources(gpus=0).as_ray() == {"cpu": 4}
    assert main(["space", "show", name]) == 0
    assert "at most 30,000 images (train + validation) = 1.47 GB as uint8 at 128 px" in capsys.readouterr().out


def test_shipped_space_by_path_wins_and_env_dir_is_searched(tmp_path: Path, monkeypatch) -> None:
    own = write(tmp_path, DEFAULT_TEXT.replace("width_mult: 0.5", "width_mult: 1.0"), "default.yaml")
    monkeypatch.setenv("OCTSEARCH_SPACES_DIR", str(tmp_path))
    assert shipped_paths()["default"] == own  # the env directory comes first
    assert load_space("default").model_args["width_mult"] == 1.0
    monkeypatch.delenv("OCTSEARCH_SPACES_DIR")
    assert find_space(own) == own and load_space(own).model_args["width_mult"] == 1.0
    assert load_space("default").model_args["width_mult"] == 0.5


def test_loading_a_space_file_does_not_import_torch() -> None:
    code = ("import sys; from octsearch.spaces import list_spaces, parse_space; "
            f"parse_space(open({str(REPO / 'search_spaces/default.yaml')!r}).read()); list_spaces(); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- configurations ----------------------------------------------------------------------------


def test_expand_and_inverse_round_trip_over_the_default_grid() -> None:
    space = load_space("default")
    choices = [p.choices for p in space.params]
    for values in itertools.islice(itertools.product(*choices), 0, None, 7):
        params = dict(zip(space.param_names, values, strict=True))
        config = space.configuration(params)
        alphas = config.by_slot
        assert set(alphas) == set(space.free_slots)
        assert space.configuration(alphas) == config and config.by_param == params
        with_pinned = {**alphas, **{s.name: 0.0 for s in space.slots if not s.free}}
        assert space.configuration(with_pinned) == config
        assert space.configuration(config) == config


def test_expand_sets_tied_slots_and_fixed_slots(tmp_path: Path) -> None:
    text = DEFAULT_TEXT.replace(
        "    stage2.out: {slots: [stage2.out]}\n    stage2.inner: {slots: [\"stage2.block*.inner\"]}\n", ""
    ).replace("  fixed: 0\n", "  fixed: 0.25\n")
    space = load_space(write(tmp_path, text))
    assert space.param_names == ("stage1.out", "stage1.inner")
    assert space.fixed == {s: 0.25 for s in space.free_slots if s.startswith("stage2")}
    alphas = space.configuration({"stage1.out": 0.5, "stage1.inner": 0.125}).by_slot
    assert alphas["stage1.out"] == 0.5 and alphas["stage1.block3.inner"] == 0.125
    assert alphas["stage2.out"] == 0.25
    with pytest.raises(ConfigError, match=r"stage2.out alpha=0.5 .* fixed to 0.25"):
        space.configuration({**alphas, "stage2.out": 0.5})


def test_automatic_parameters_per_stage_and_per_slot(tmp_path: Path) -> None:
    base = DEFAULT_TEXT[: DEFAULT_TEXT.index("  params:")]
    rest = DEFAULT_TEXT[DEFAULT_TEXT.index("budget:"):]
    per_stage = load_space(write(tmp_path, base + "  per: stage\n\n" + rest, "stage.yaml"))
    assert per_stage.param_names == ("stage1", "stage2") and per_stage.num_configurations == 25
    per_slot = load_space(write(tmp_path, base + "  per: slot\n\n" + rest, "slot.yaml"))
    assert per_slot.param_names == per_slot.free_slots and per_slot.num_configurations == 5**8
    mixed = base + "  per: stage\n  params:\n    stem: {slots: [stage1.out], choices: [0, 0.5]}\n    stage2: [0.25, 0]\n\n" + rest
    space = load_space(write(tmp_path, mixed, "mixed.yaml"))
    assert space.param_names == ("stem", "stage2", "stage1")
    assert space.params[1].choices == (0.0, 0.25) and "stage2.out" in space.params[1].slots
    assert "stage1.out" not in space.params[2].slots
    assert [c.by_param["stem"] for c in space.uniform_configurations()] == [0.0]  # 0 is the only alpha all offer


def test_configuration_errors() -> None:
    space = load_space("default")
    alphas = space.uniform_configurations()[1].by_slot
    with pytest.raises(ConfigError, match=r"leaves out searched slot\(s\) stage2.out"):
        space.configuration({k: v for k, v in alphas.items() if k != "stage2.out"})
    with pytest.raises(UnknownNameError, match=r"unknown slot 'stage4.out'"):
        space.configuration({**alphas, "stage4.out": 0.0})
    with pytest.raises(ConfigError, match=r"pinned"):
        space.configuration({**alphas, "stage3.out": 0.5})
    with pytest.raises(ConfigError, match=r"tied by parameter stage1.inner"):
        space.configuration({**alphas, "stage1.block2.inner": 0.5})
    with pytest.raises(ConfigError, match=r"not one of its choices; accepted: 0, 0.125"):
        space.configuration(0.3)
    with pytest.raises(ConfigError, match=r"outside \[0, 1\)"):
        space.configuration({k: 1.0 for k in alphas})
    # a parameter mapping that leaves one out reads as a slot mapping (names a slot-less key)
    with pytest.raises(ConfigError, match=r"'stage1.inner'"):
        space.configuration({"stage1.out": 0, "stage1.inner": 0, "stage2.out": 0})


# -- errors in files: one line naming file, key path, value, what is accepted -------------------


BAD_FILES = [
    # (old, new, exception, pieces the one-line message must contain)
    ("name: mnist ", "name: mnistx ", UnknownNameError, ["data.name", "'mnistx'", "imagefolder, mnist"]),
    ("name: oct_resnet20", "name: oct_resnet21", UnknownNameError, ["model.name", "'oct_resnet21'", "oct_resnet20"]),
    ("[stage2.out]}", "[stage2.outx]}", UnknownNameError, ["search.params.stage2.out.slots", "'stage2.outx'", "stage1.out"]),
    ("name: random", "name: nsga4", SpaceError, ["sampler.name", "'nsga4'", "'nsga2'", "'gp'"]),
    ("grid: [0, 0.125, 0.25, 0.5, 0.75]", "grid: [0, 0.125, 0.25, 0.5, 1.0]", SpaceError, ["search.grid", "1.0", "[0, 1)"]),
    ("[stage2.out]}", "[stage2.out], choices: [-0.5, 0]}", SpaceError, ["search.params.stage2.out.choices", "-0.5", "[0, 1)"]),
    ("  epochs: 2", "  epochs: 0", SpaceError, ["budget.epochs", "0", "greater than or equal to 1"]),
    ("flops_budget: null ", "flops_budget: 0.001 ", SpaceError, ["flops_budget", "0.001 GFLOPs", "0.00411828 GFLOPs"]),
    ("  seed: 0                 # the", "  sed: 0                 # the", SpaceError, ["data.sed", "unknown key", "val_fraction"]),
    ("width_mult: 0.5 ", "width_mult: -1 ", SpaceError, ["model.args", "width_mult=-1", "> 0"]),
    ("width_mult: 0.5 ", "depth: 3 ", SpaceError, ["model.args", "'depth'", "width_mult"]),
    ("[stage2.out]}", "[stage3.*]}", SpaceError, ["search.params.stage2.out.slots", "'stage3.*'", "pinned"]),
    ("  batch_size: 64", "  batch_size: [64", SpaceError, ["invalid YAML at line"]),
    ("  epochs: 2", "  epochs: '2'", SpaceError, ["budget.epochs", "'2'", "integer"]),
    ("  trials: 40", "  trials: 0", SpaceError, ["sampler.trials", "0", "greater than or equal to 1"]),
    ("  concurrency: 2", "  concurrency: 2\n  trials: 9", SpaceError, ["key 'trials' appears twice"]),
]


@pytest.mark.parametrize(("old", "new", "error", "pieces"), BAD_FILES, ids=[b[1].strip()[:24] for b in BAD_FILES])
def test_bad_space_file_is_one_line_naming_file_key_and_value(tmp_path: Path, old, new, error, pieces) -> None:
    path = mutate(tmp_path, old, new)
    with pytest.raises(error) as info:
        load_space(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith("bad.yaml: ")
    for piece in pieces:
        assert piece in message, (piece, message)


def test_low_channel_and_overlap_errors(tmp_path: Path) -> None:
    tiny = DEFAULT_TEXT.replace("width_mult: 0.5 ", "width_mult: 0.25 ").replace(
        "[stage2.out]}", "[stage2.out], choices: [0, 0.125, 0.25]}")
    with pytest.raises(SpaceError, match=r"search.grid: alpha 0.125 gives 0 low-frequency channels on slot stage1.out \(4 channels\)"):
        load_space(write(tmp_path, tiny))
    overlap = DEFAULT_TEXT.replace("[stage2.out]}", "[\"stage2.*\"]}")
    with pytest.raises(SpaceError, match=r"search.params.stage2.inner: slot stage2.block1.inner is already set by parameter stage2.out"):
        load_space(write(tmp_path, overlap))


def test_data_root_from_environment(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("OCTSEARCH_CIFAR10", raising=False)
    space = load_space("cifar10_resnet20")  # model arguments given: no data needed to load it
    with pytest.raises(SpaceError, match=r"cifar10_resnet20.yaml: data.root: environment variable OCTSEARCH_CIFAR10 is not set"):
        space.data.resolved_root()
    monkeypatch.setenv("OCTSEARCH_CIFAR10", str(tmp_path))
    assert space.data.resolved_root() == str(tmp_path)
    missing_root = (REPO / "search_spaces" / "cifar10_resnet20.yaml").read_text().replace(
        "  root: ${OCTSEARCH_CIFAR10}\n", "")
    with pytest.raises(SpaceError, match=r"data.root: missing; cifar10 reads local files"):
        load_space(write(tmp_path, missing_root))


def test_parse_space_needs_a_mapping_with_a_model() -> None:
    with pytest.raises(SpaceError, match=r"x.yaml: \(top level\): \[1, 2\] is not accepted"):
        parse_space("[1, 2]", "x.yaml")
    with pytest.raises(SpaceError, match=r"x.yaml: model: missing"):
        parse_space("description: hi\n", "x.yaml")


def test_unknown_space_name_lists_shipped_spaces() -> None:
    with pytest.raises(UnknownNameError, match=r"unknown space 'nope'; choose one of: cifar10_resnet20, default"):
        find_space("nope")


# -- CLI ---------------------------------------------------------------------------------------


def test_cli_spaces_and_space_show(capsys) -> None:
    assert main(["spaces"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in SHIPPED)
    assert main(["space", "show", "default"]) == 0
    out = capsys.readouterr().out
    assert "configurations: 625" in out
    assert "uniform 0.75" in out and "GFLOPs (paper)" in out and "1e9 multiply-adds" in out
    assert "stage3.out" in out and "pinned to 0" in out
    assert "augment=none (the data set's default)" in out
    assert "resources    per trial 1 CPU(s) (budget.threads), no GPU (trains on the CPU)" in out
    assert main(["space", "show", "default", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    flops = {row["point"]: row["flops_paper"] for row in shown["flops"]}
    assert flops["uniform 0"] > flops["uniform 0.25"] > flops["uniform 0.75"]
    assert flops["uniform 0"] == shown["flops"][0]["flops_paper"]  # max = every parameter at 0


@pytest.mark.parametrize(("old", "new", "error", "pieces"), BAD_FILES[:9], ids=[b[1].strip()[:24] for b in BAD_FILES[:9]])
def test_cli_bad_space_file_exit_2_one_line_nothing_written(tmp_path: Path, monkeypatch, capsys, old, new, error, pieces) -> None:
    path = mutate(tmp_path, old, new)
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    for argv in (["space", "show", str(path)], ["trial", str(path), "--uniform", "0"]):
        assert main(argv) == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        lines = captured.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("octsearch: error: bad.yaml: ") and "Traceback" not in captured.err
    assert list(work.iterdir()) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml", "cwd"]


def test_space_pickles_for_ray_workers() -> None:
    import pickle

    space = load_space("default")
    copy = pickle.loads(pickle.dumps(space))
    assert copy.hash == space.hash and copy.params == space.params
    assert copy.uniform_configurations()[2] == space.uniform_configurations()[2]
