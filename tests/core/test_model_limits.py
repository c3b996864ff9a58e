"""Upper bounds of the shared model arguments and of a model's size, for every family.

Each is checked before a weight is allocated: the argument bounds before a layer is built, the
parameter and feature-map sizes on the weightless (meta) build that lists the slots, which
``alpha_slots`` alone runs.
"""

from __future__ import annotations

import pytest
from small_models import SMALL

from octsearch.core import registration
from octsearch.core.registry import alpha_slots, create_model, list_models
from octsearch.errors import ConfigError

WIDTH = "accepted: a number > 0 and at most 16 (times the paper's channel widths)"


def _refused(name: str, **args: object) -> str:
    with pytest.raises(ConfigError) as info:
        alpha_slots(name, **{**SMALL[name], **args})
    message = str(info.value)
    assert message.startswith(f"{name}: ") and "\n" not in message
    return message


@pytest.mark.parametrize("name", list_models())
@pytest.mark.parametrize("width", [float("inf"), float("nan"), 1e300, 10**400, 16.5, 0, -1])
def test_width_mult_is_finite_above_0_and_at_most_16(name: str, width: object) -> None:
    assert f"width_mult={width!r}; {WIDTH}" in _refused(name, width_mult=width)


@pytest.mark.parametrize("name", list_models())
@pytest.mark.parametrize(("arg", "value", "accepted"), [
    ("num_classes", 100_001, "an integer from 2 to 100,000"),
    ("num_classes", 10**30, "an integer from 2 to 100,000"),
    ("num_classes", 1, "an integer from 2 to 100,000"),
    ("in_chans", 1025, "an integer from 1 to 1,024"),
    ("in_chans", 100_000_000, "an integer from 1 to 1,024"),
    ("in_chans", True, "an integer from 1 to 1,024"),
])
def test_class_and_channel_counts_have_upper_bounds(name: str, arg: str, value: object, accepted: str) -> None:
    assert f"{arg}={value!r}; accepted: {accepted}" in _refused(name, **{arg: value})


def test_the_bounds_themselves_are_accepted() -> None:
    for args in (dict(width_mult=16), dict(num_classes=100_000), dict(in_chans=1024)):
        assert alpha_slots("oct_resnet20", input_size=16, **args)


def test_a_model_over_4_gb_of_parameters_is_refused_with_the_figure() -> None:
    message = _refused("oct_resnet101", width_mult=16, input_size=224, num_classes=1000)
    assert "gives 10,885,269,480 parameters (43.5 GB of float32); accepted: at most 4 GB of parameters" in message
    assert "width_mult=16" in message


def test_a_feature_map_over_4_gb_is_refused_with_the_figure() -> None:
    message = _refused("oct_resnet20", width_mult=16, input_size=4096)
    assert "a 256x4096x4096 feature map (stage1.out) of 17.2 GB for one float32 image; accepted: at most 4 GB" in message


def test_create_model_refuses_on_the_weightless_build(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the limit lowered below a small model, create_model fails before building it for real."""
    import torch

    monkeypatch.setattr(registration, "MAX_PARAMETER_BYTES", 1000)
    devices: list[str] = []
    monkeypatch.setattr(registration, "check_model_size", _recording(registration.check_model_size, devices))
    with pytest.raises(ConfigError, match=r"accepted: at most 1000 bytes of parameters"):
        create_model("oct_resnet20", 0.25, **SMALL["oct_resnet20"])
    assert devices == [torch.device("meta")]


def _recording(check, devices: list):  # noqa: ANN001, ANN202
    def record(name, args, model, plan):  # noqa: ANN001, ANN202
        devices.append(next(model.parameters()).device)
        return check(name, args, model, plan)

    return record
