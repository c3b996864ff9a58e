import json
import subprocess
import sys

import pytest

from octsearch.cli.main import main


def test_models_lists_every_family(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    for name in ("oct_resnet20", "oct_resnet50", "oct_mobilenetv2"):
        assert name in out


def test_slots_json(capsys):
    assert main(["slots", "oct_resnet20", "--input-size", "28", "--json"]) == 0
    slots = json.loads(capsys.readouterr().out)
    assert {s["name"] for s in slots} >= {"stage1.out", "stage2.block1.inner"}
    assert all(s["pinned"] is None for s in slots)


def test_flops_json_has_plain_numbers(capsys):
    assert main(["flops", "oct_resnet50", "--uniform", "0.5", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["flops_paper"] == 2_367_143_936
    assert isinstance(result["flops_all"], int) and result["flops_all"] > result["flops_paper"]
    assert result["param_count"] == 25_557_032


def test_flops_table_states_units(capsys):
    assert main(["flops", "oct_resnet20", "--alphas", json.dumps({"stage1.out": 0.5, **{
        f"stage{s}.block{b}.inner": 0.25 for s in (1, 2, 3) for b in (1, 2, 3)}, "stage2.out": 0.5})]) == 0
    out = capsys.readouterr().out
    assert "GFLOPs, paper convention (conv + fc)" in out and "multiply-add" in out


@pytest.mark.parametrize("argv,expected", [
    (["flops", "nope"], "unknown model 'nope'; choose one of:"),
    (["flops", "oct_resnet20", "--uniform", "1.5"], "outside [0, 1)"),
    (["flops", "oct_resnet20", "--alphas", "{bad"], "is not JSON"),
    (["flops", "oct_resnet20", "--alphas", '{"stage9.out": 0.5}'], "unknown slot 'stage9.out'"),
    (["flops", "oct_resnet20", "--input-size", "30"], "input_size=30; accepted: a multiple of 4"),
    (["slots", "oct_resnet50", "--input-size", "100"], "input_size=100"),
])
def test_bad_input_is_one_line_and_exit_2(argv, expected, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert expected in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_console_script_exit_code_and_no_traceback():
    proc = subprocess.run([sys.executable, "-m", "octsearch.cli.main", "flops", "oct_resnet20", "--uniform", "2"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "outside [0, 1)" in proc.stderr


def test_absurd_input_size_is_one_line_and_exit_2():
    """Once a 12 TB allocation and a traceback; now refused before anything is allocated."""
    proc = subprocess.run([sys.executable, "-m", "octsearch.cli.main", "flops", "oct_resnet20",
                           "--input-size", "1000000"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1
    assert "input_size=1000000; accepted:" in proc.stderr and "at most 4096 px" in proc.stderr
