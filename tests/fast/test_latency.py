"""measure_latency: a typed, plausible measurement through each path; bad input refused."""

import pytest
import torch

from octsearch import LatencyResult, measure_latency
from octsearch.core.registry import create_model
from octsearch.errors import ConfigError
from octsearch.fast.latency import tune_malloc


@pytest.fixture(scope="module")
def model():
    return create_model("oct_resnet20", 0.5, input_size=16, width_mult=0.5)


@pytest.mark.parametrize("path", ["fast", "fast+onnxruntime", "reference"])
def test_measures_a_plausible_latency(model, path):
    threads_before = torch.get_num_threads()
    result = measure_latency(model, 16, repeats=5, warmup=1, path=path, batch=2)
    assert isinstance(result, LatencyResult)
    assert 0 < result.min_ms <= result.median_ms < 10_000
    assert result.iqr_ms >= 0 and result.cpu_median_ms > 0
    assert (result.repeats, result.batch, result.threads, result.path) == (5, 2, 1, path)
    assert result.input_shape == (3, 16, 16)
    assert torch.get_num_threads() == threads_before  # restored
    assert model.training  # the reference path restores the mode


def test_explicit_input_shape_and_channels_from_model():
    grey = create_model("oct_resnet20", 0.25, input_size=16, in_chans=1, width_mult=0.25)
    assert measure_latency(grey, 16, repeats=2, warmup=0).input_shape == (1, 16, 16)
    assert measure_latency(grey, (1, 32, 32), repeats=2, warmup=0).input_shape == (1, 32, 32)
    with pytest.raises(ConfigError, match="cannot halve a 5x5 map"):
        measure_latency(grey, (1, 20, 20), repeats=1, warmup=0)


@pytest.mark.parametrize("kwargs, match", [
    (dict(threads=0), "threads=0"),
    (dict(batch=True), "batch=True"),
    (dict(repeats=0), "repeats=0"),
    (dict(path="tvm"), "path='tvm'"),
    (dict(input_size=(3, 16)), "input_size"),
])
def test_bad_arguments(model, kwargs, match):
    args = dict(input_size=16, repeats=1)
    args.update(kwargs)
    with pytest.raises(ConfigError, match=match):
        measure_latency(model, **args)


def test_tune_malloc_reports_whether_it_applied():
    assert isinstance(tune_malloc(), bool)
