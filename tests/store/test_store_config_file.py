"""The export file: format, one-line errors, and rebuilding the same network with the same FLOPs."""

from __future__ import annotations

import json

import pytest
from configs import configuration

from octsearch.cli.main import main
from octsearch.config_file import (
    FORMAT,
    ModelConfig,
    create_model_from_config,
    read_config,
    write_config,
)
from octsearch.configuration import Cost
from octsearch.errors import ConfigError
from octsearch.store import SearchSpec, open_store

KEYS = ["format", "model", "configuration", "accuracy", "accuracy_stderr", "budget", "search", "trial",
        "octsearch_version", "exported_at"]


def sample() -> ModelConfig:
    return ModelConfig(model_name="oct_resnet20", model_args={"num_classes": 10, "in_chans": 1, "input_size": 16},
                       configuration=configuration({"s1": 0.25, "s2": 0.0}, {"p": 0.25}, flops_paper=123,
                                                   flops_all=130, param_count=7),
                       accuracy=0.9, accuracy_stderr=0.01, budget="proxy", search="x", trial=3)


def test_round_trip_and_self_description(tmp_path):
    path = write_config(tmp_path / "c.json", sample())
    data = json.loads(path.read_text())
    assert list(data)[: len(KEYS)] == KEYS
    assert data["format"] == FORMAT and data["model"] == {"name": "oct_resnet20", "args": sample().model_args}
    assert data["configuration"] == {"params": {"p": 0.25}, "alphas": {"s1": 0.25, "s2": 0.0},
                                     "cost": {"flops_paper": 123, "flops_all": 130, "param_count": 7}}
    assert "multiply-adds" in data["units"]["flops_paper"]
    back = read_config(path)
    assert back.octsearch_version and back.exported_at  # filled in on writing
    assert (back.configuration, back.trial, back.model_args) == (sample().configuration, 3, sample().model_args)


def test_a_minimal_hand_written_file_is_accepted(tmp_path):
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"format": FORMAT, "model": {"name": "oct_resnet20"},
                                "configuration": {"alphas": {"a": 0.5}}}))
    config = read_config(path)
    assert config.model_args == {} and config.flops_paper is None and config.accuracy is None
    assert config.alphas == {"a": 0.5} and config.configuration.params == ()


def test_a_file_of_the_first_format_is_still_read(tmp_path):
    path = tmp_path / "v1.json"
    path.write_text(json.dumps({"format": "octsearch-config/1", "model": {"name": "oct_resnet20"},
                                "alphas": {"a": 0.5}, "flops_paper": 10, "flops_all": 12, "params": 3}))
    config = read_config(path)
    assert config.alphas == {"a": 0.5} and config.configuration.cost == Cost(10, 12, 3)


V2 = f'"format": "{FORMAT}", "model": {{"name": "m"}}'


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "does not exist"),
        ("{not json", "is not JSON"),
        ('{"format": "octsearch-config/9"}', "key 'format' is 'octsearch-config/9'; expected 'octsearch-config/2'"),
        ('["a"]', "key '(top level)' is ['a']; expected a JSON object"),
        (f'{{"format": "{FORMAT}", "configuration": {{"alphas": {{"a": 0.5}}}}}}', "key 'model' is missing"),
        (f'{{{V2}}}', "key 'configuration' is missing"),
        (f'{{{V2}, "configuration": {{"alphas": {{}}}}}}', "key 'alphas' is {}; expected an object slot -> alpha"),
        (f'{{{V2}, "configuration": {{"alphas": {{"a": 1.5}}}}}}', "alphas['a']=1.5 is outside [0, 1)"),
        (f'{{{V2}, "configuration": {{"alphas": {{"a": 0.5}}}}, "accuracy": 96.1}}',
         "key 'accuracy' is 96.1; expected a fraction in [0, 1]"),
        (f'{{{V2}, "configuration": {{"alphas": {{"a": 0.5}}, "cost": {{"flops_paper": "4M"}}}}}}',
         "cost {'flops_paper': '4M'}; accepted: flops_paper, flops_all, param_count"),
        ('{"format": "octsearch-config/1", "model": {"name": "m"}, "alphas": {"a": 0.5}, "flops_paper": "4M"}',
         "key 'flops_paper' is '4M'; expected multiply-adds"),
    ],
)
def test_bad_files_give_one_line_naming_file_and_key(tmp_path, content, message):
    path = tmp_path / "bad.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError) as info:
        read_config(path)
    text = str(info.value)
    assert str(path) in text and message in text and "\n" not in text


def test_export_rebuilds_the_same_network_with_the_same_flops(tmp_path, capsys):
    """Search -> store -> `octsearch export` -> create_model_from_config, with real models and fvcore."""
    import octsearch
    from octsearch.core.flops import count_flops
    from octsearch.core.registry import alpha_slots, create_model

    args = {"num_classes": 10, "in_chans": 1, "input_size": 16}
    slots = [s.name for s in alpha_slots("oct_resnet20", **args)]
    alphas = {name: (0.25 if i % 2 else 0.5) for i, name in enumerate(slots)}
    model = create_model("oct_resnet20", alphas=alphas, **args)
    counted = count_flops(model)
    alpha0 = count_flops(create_model("oct_resnet20", alphas=0.0, **args)).flops_paper
    url = f"sqlite:///{tmp_path / 's.db'}"
    with open_store(url) as store:
        store.create_search(SearchSpec(name="real", space_text="t", model_name="oct_resnet20",
                                       model_args=dict(model.model_args), reference_accuracy=0.1,
                                       reference_flops=alpha0))
        n = store.start_trial("real", configuration(model.alphas, flops_paper=counted.flops_paper,
                                                    flops_all=counted.flops_all, param_count=counted.param_count))
        store.record_evaluation("real", n, seed=0, accuracy=0.93, n_val=500)
    out = tmp_path / "best.json"
    assert main(["export", "real", "--trial", str(n), "-o", str(out), "--db", url]) == 0
    capsys.readouterr()
    rebuilt = octsearch.create_model_from_config(out, verify_flops=True)
    again = count_flops(rebuilt)
    assert (again.flops_paper, again.flops_all, again.param_count) == (counted.flops_paper, counted.flops_all, counted.param_count)
    assert rebuilt.alphas == model.alphas and rebuilt.model_args == model.model_args
    assert sum(p.numel() for p in rebuilt.parameters()) == counted.param_count

    # a file whose FLOPs no longer match what the code builds is refused when verified
    data = json.loads(out.read_text())
    data["configuration"]["cost"]["flops_paper"] += 1
    out.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match="rebuilt network has .* multiply-adds"):
        create_model_from_config(out, verify_flops=True)
