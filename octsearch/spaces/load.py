"""``load_space(SPACE)``: read, validate and resolve a search-space file.

Steps: locate the file -> ``yaml.safe_load`` -> validate into :class:`SpaceFile` -> check the
model and data-set names and arguments -> complete the model arguments (``num_classes``,
``in_chans`` and ``input_size`` default from the data set, which is then loaded once, after the
model has checked the arguments the file gives) -> list the model's alpha slots -> resolve the
search parameters -> check the FLOPs budget. Every problem is a one-line :class:`SpaceError` (or
:class:`UnknownNameError`) naming file, key path and value.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from octsearch.errors import ConfigError, OctsearchError, SpaceError, UnknownNameError
from octsearch.spaces._errors import from_validation_error, short, space_error
from octsearch.spaces.data import DataSpec
from octsearch.spaces.locate import find_space
from octsearch.spaces.resolve import resolve_params
from octsearch.spaces.schema import SpaceFile
from octsearch.spaces.space import SearchSpace

DATA_ARGS = ("num_classes", "in_chans", "input_size")


def load_space(space: str | os.PathLike[str]) -> SearchSpace:
    """Load the space ``space`` (a path, or the name of a shipped space)."""
    path = find_space(space)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise SpaceError(f"{path.name}: cannot be read ({type(e).__name__}: {e}); accepted: a UTF-8 YAML file") from e
    return _build(text, path)


@functools.lru_cache(maxsize=16)
def space_from_text(text: str, name: str, origin: str | None = None) -> SearchSpace:
    """Rebuild a space from its text: on a Ray worker, which lacks the driver's file, or from the
    text a search stored. ``origin`` (the original file's path) anchors relative data roots."""
    return _build(text, Path(origin) if origin else Path(f"{name}.yaml"))


def _build(text: str, path: Path) -> SearchSpace:
    file = path.name
    spec = parse_space(text, file)
    data = _data_spec(spec, path)
    model_args = _model_args(spec, data, file)
    slots = _slots(spec.model.name, model_args, file)
    params, fixed = resolve_params(file, spec.model.name, spec.search, slots)
    result = SearchSpace(
        name=path.stem, path=str(path.resolve()), text=text, hash=hashlib.sha256(text.encode()).hexdigest(),
        spec=spec, model_args=model_args, slots=slots, params=params, fixed=fixed, data=data,
    )
    if spec.flops_budget is not None:
        _check_flops_budget(result, file)
    return result


def parse_space(text: str, file: str = "<space>") -> SpaceFile:
    """Validate a space file's text (no model or data look-up)."""
    import yaml

    from octsearch.spaces._yaml import DuplicateKeyError, safe_load

    try:
        raw = safe_load(text)
    except DuplicateKeyError as e:
        raise SpaceError(f"{file}: {e}; accepted: each key once per section") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or type(e).__name__
        raise SpaceError(f"{file}: invalid YAML{where}: {problem}; accepted: a YAML mapping of sections") from e
    if not isinstance(raw, dict):
        raise space_error(file, "(top level)", raw, "accepted: a YAML mapping with sections model, data, search, budget, ...")
    try:
        return SpaceFile.model_validate(raw)
    except ValidationError as e:
        raise from_validation_error(file, e, SpaceFile) from None


def _data_spec(spec: SpaceFile, path: Path) -> DataSpec:
    from octsearch.data import dataset_info, list_datasets

    d, file = spec.data, path.name
    if d.name not in list_datasets():
        raise UnknownNameError(f"{file}: data.name: unknown data set {d.name!r}; choose one of: {', '.join(list_datasets())}")
    info = dataset_info(d.name)
    specs = {o.name: o for o in info.options}
    for key, value in d.options.items():
        if key not in specs:
            raise SpaceError(f"{file}: data.options.{key}: unknown option for {d.name}; accepted: {', '.join(specs) or '(none)'}")
        try:
            specs[key].check(d.name, value)
        except ConfigError as e:
            raise SpaceError(f"{file}: data.options.{key}: {e}") from None
    if info.needs_root and d.root is None:
        raise SpaceError(f"{file}: data.root: missing; {d.name} reads local files: a directory, or ${{VAR}} naming one")
    if not info.needs_root and d.root is not None:
        raise space_error(file, "data.root", d.root, f"accepted: no root ({d.name} loads from an installed package)")
    # Without data.image_size the images are sized to the model's input_size, if the file gives one.
    image_size = d.image_size if d.image_size is not None else spec.model.args.get("input_size")
    return DataSpec(d.name, d.seed, d.val_fraction, d.limit, image_size, d.root,
                    tuple(sorted(d.options.items())), str(path.resolve().parent), file)


def _model_args(spec: SpaceFile, data: DataSpec, file: str) -> dict[str, Any]:
    from octsearch.core.registry import list_models

    name, given = spec.model.name, dict(spec.model.args)
    if name not in list_models():
        raise UnknownNameError(f"{file}: model.name: unknown model {name!r}; choose one of: {', '.join(list_models())}")
    if spec.data.image_size is not None and given.get("input_size") not in (None, spec.data.image_size):
        raise space_error(file, "model.args.input_size", given["input_size"],
                          f"accepted: data.image_size ({spec.data.image_size}), or leave one of them out")
    missing = [k for k in DATA_ARGS if given.get(k) is None]
    if missing:
        _check_before_data(name, given, missing, data, file)
        try:
            ds = data.load()
        except ConfigError as e:
            raise SpaceError(f"{file}: data: {e}") from None
        from_data = {"num_classes": ds.num_classes, "in_chans": ds.in_chans, "input_size": ds.image_size}
        given.update({k: from_data[k] for k in missing})
    return _checked_args(name, given, file)


def _check_before_data(name: str, given: dict[str, Any], missing: list[str], data: DataSpec, file: str) -> None:
    """The model's own checks of the arguments the file gives, before the data set (maybe large)
    loads: a weightless build with the smallest stand-ins for the values the data set will give
    (2 classes, 1 channel; the image size, else the model's default input size)."""
    from octsearch.core.registry import model_entry

    stand_in = {"num_classes": 2, "in_chans": 1,
                "input_size": data.image_size or model_entry(name).defaults["input_size"]}
    _slots(name, _checked_args(name, {**given, **{k: stand_in[k] for k in missing}}, file), file)


def _checked_args(name: str, given: dict[str, Any], file: str) -> dict[str, Any]:
    from octsearch.core.registry import model_args

    try:
        return model_args(name, **given)
    except ConfigError as e:
        raise SpaceError(f"{file}: model.args: {e}") from None


def _slots(name: str, args: dict[str, Any], file: str) -> tuple:
    from octsearch.core.registry import alpha_slots

    try:
        return alpha_slots(name, include_pinned=True, **args)
    except ConfigError as e:
        raise SpaceError(f"{file}: model.args: {e}") from None
    except (TypeError, ValueError) as e:  # a badly typed argument the family does not check itself
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]  # torch's may add its C++ stack
        raise SpaceError(f"{file}: model.args: {short(args)} is not accepted by {name}: {first}") from None


def _check_flops_budget(space: SearchSpace, file: str) -> None:
    convention = space.objectives.flops
    _, cheapest = space.extreme_configurations()
    try:
        low = space.flops(cheapest)
    except OctsearchError as e:
        raise SpaceError(f"{file}: flops_budget: cannot count the cheapest configuration: {e}") from None
    if space.flops_budget is not None and space.flops_budget < low:
        raise SpaceError(
            f"{file}: flops_budget: {space.spec.flops_budget:g} GFLOPs is below the cheapest configuration "
            f"of the grid, {low / 1e9:.6g} GFLOPs ({convention} convention, every parameter at its largest "
            f"choice); accepted: at least {low / 1e9:.6g}"
        )
