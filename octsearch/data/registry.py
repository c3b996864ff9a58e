"""The data-set registry: ``load_dataset(name, ...)`` is the one door in (timm style).

A source module registers a loader with :func:`register_dataset`; the loader reads raw images
into a :class:`~octsearch.data._pool.RawPool`, and this module validates the arguments, then
hands the pool to the shared pipeline (stratified limit -> seeded stratified split -> resize ->
normalise with train-split statistics). Nothing is ever downloaded.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from octsearch.errors import ConfigError, unknown_name

if TYPE_CHECKING:
    from octsearch.data._pool import RawPool
    from octsearch.data.dataset import ImageDataset

# loader(root, options, image_size) -> RawPool; image_size is the requested side or None (native)
Loader = Callable[[Path | None, Mapping[str, Any], int | None], "RawPool"]

# The largest image side (px) a data set is resized to: the largest model input (the core's
# MAX_INPUT_SIZE). Below it the resized splits must also fit in memory (data._tensors).
MAX_IMAGE_SIZE = 4096

# Modules whose import registers data sets; imported on first use.
_SOURCE_MODULES: tuple[str, ...] = (
    "octsearch.data.mnist",
    "octsearch.data.digits",
    "octsearch.data.cifar10",
    "octsearch.data.cifar100",
    "octsearch.data.imagefolder",
    "octsearch.data.prepared_source",
)


@dataclass(frozen=True)
class OptionSpec:
    """A data-set specific keyword argument of :func:`load_dataset`.

    ``choices`` lists the accepted values; with ``minimum`` set the option takes instead a whole
    number >= ``minimum`` (or None where the default is None) and ``choices`` is empty.
    """

    name: str
    default: Any
    choices: tuple[Any, ...]
    help: str
    minimum: int | None = None

    @property
    def accepted(self) -> str:
        """The accepted values in a few characters, e.g. ``val|test`` or ``N>=1``."""
        if self.minimum is None:
            return "|".join(map(str, self.choices))
        return f"N>={self.minimum}" + ("|null" if self.default is None else "")

    def check(self, dataset: str, value: Any) -> Any:
        """Return ``value`` if accepted, else raise a one-line :class:`ConfigError`."""
        if self.minimum is not None:
            if (value is None and self.default is None) or (_is_int(value) and value >= self.minimum):
                return value
            raise ConfigError(
                f"{dataset}: option {self.name}={value!r} is not accepted; use a whole number "
                f">= {self.minimum}" + (" or null (all)" if self.default is None else "")
            )
        same_kind = isinstance(value, bool) == isinstance(self.default, bool)
        if not same_kind or value not in self.choices:
            listed = ", ".join(repr(c) for c in self.choices)
            raise ConfigError(
                f"{dataset}: option {self.name}={value!r} is not accepted; choose one of: {listed}"
            )
        return value

    def parse(self, dataset: str, text: str) -> Any:
        """Convert command-line text to the option's type, then :meth:`check` it."""
        value: Any = text
        if self.minimum is not None and text.strip().lower() in ("none", "null"):
            value = None
        elif self.minimum is not None or _is_int(self.default):
            try:
                value = int(text)
            except ValueError:
                pass  # check() reports the text as given
        return self.check(dataset, value)


def resize_option(*choices: str) -> OptionSpec:
    """The ``resize`` option: how images reach ``image_size`` when it differs from their side."""
    return OptionSpec(
        "resize",
        choices[0],
        tuple(choices),
        "how to reach image_size: bilinear/nearest interpolation"
        + (
            ", or pad (centred zero padding, image_size >= native side)" if "pad" in choices else ""
        ),
    )


@dataclass(frozen=True)
class DatasetInfo:
    """What the registry knows about one data set, without loading it."""

    name: str
    summary: str
    needs_root: bool
    options: tuple[OptionSpec, ...]
    default_image_size: int | None  # None: the images' own side
    requires: str | None  # a module that must be importable, e.g. "sklearn"
    in_place: bool = False  # read where it is (a memory map), never copied to the node's cache

    @property
    def available(self) -> bool:
        return self.requires is None or importlib.util.find_spec(self.requires) is not None


@dataclass(frozen=True)
class _Entry:
    info: DatasetInfo
    loader: Loader


_REGISTRY: dict[str, _Entry] = {}
_loaded = False


def register_dataset(
    name: str,
    *,
    summary: str,
    options: tuple[OptionSpec, ...] = (),
    needs_root: bool = False,
    default_image_size: int | None = None,
    requires: str | None = None,
    in_place: bool = False,
) -> Callable[[Loader], Loader]:
    """Decorator that registers ``loader(root, options, image_size) -> RawPool`` under ``name``."""

    def wrap(loader: Loader) -> Loader:
        if name in _REGISTRY:
            raise ValueError(f"data set {name!r} registered twice")  # a programming error
        info = DatasetInfo(name, summary, needs_root, options, default_image_size, requires, in_place)
        _REGISTRY[name] = _Entry(info, loader)
        return loader

    return wrap


def _entries() -> dict[str, _Entry]:
    global _loaded
    if not _loaded:
        for module in _SOURCE_MODULES:
            importlib.import_module(module)
        _loaded = True
    return _REGISTRY


def list_datasets() -> list[str]:
    """Names of the registered data sets, sorted."""
    return sorted(_entries())


def dataset_info(name: str) -> DatasetInfo:
    """The registry entry of ``name``; an unknown name raises :class:`UnknownNameError`."""
    entries = _entries()
    if not isinstance(name, str) or name not in entries:
        raise unknown_name("data set", name, list(entries))
    return entries[name].info


def load_dataset(
    name: str,
    *,
    seed: int = 0,
    val_fraction: float = 0.2,
    image_size: int | None = None,
    root: str | os.PathLike[str] | None = None,
    limit: int | None = None,
    **kwargs: Any,
) -> ImageDataset:
    """Load a registered data set, split, as uint8 images with their normalisation.

    Args:
        name: a name from :func:`list_datasets`.
        seed: seeds the stratified limit, the split and the order of each split; the same
            arguments and seed give identical tensors.
        val_fraction: fraction of each class held out for validation, in (0, 1) (ignored by
            sources with a fixed validation set, e.g. ``cifar10`` with ``split="test"``).
        image_size: side of the square images the model gets, at most :data:`MAX_IMAGE_SIZE`
            px and small enough for the resized splits to fit in the machine's memory; None keeps
            the native side (``imagefolder``: 32). Reached with the ``resize`` option.
        root: the directory of sources that read local files (``cifar10``, ``imagefolder``).
        limit: a cap on the total number of images (train + validation), taken stratified;
            at least two images a class.
        **kwargs: data-set options (see :func:`dataset_info`), e.g. ``resize="pad"``.

    Raises:
        UnknownNameError: ``name`` is not registered.
        ConfigError: a bad argument or option (the message names it and what is accepted).
        DataError: the files are missing or in the wrong format.
    """
    entry = _entries().get(name) if isinstance(name, str) else None
    if entry is None:
        raise unknown_name("data set", name, list(_entries()))
    info = entry.info
    options = _check_options(info, kwargs)
    _check_common(name, seed=seed, val_fraction=val_fraction, image_size=image_size, limit=limit)
    root_path = _check_root(info, root)
    if not info.available:
        from octsearch.errors import DataError

        raise DataError(
            f"{name}: needs the Python package {info.requires!r}, which is not installed"
        )
    side = image_size if image_size is not None else info.default_image_size
    pool = entry.loader(root_path, options, side)

    from octsearch.data._tensors import build_dataset  # imports torch

    return build_dataset(
        name,
        pool,
        seed=seed,
        val_fraction=val_fraction,
        image_size=side,
        limit=limit,
        resize=options.get("resize", "bilinear"),
    )


def _check_options(info: DatasetInfo, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    specs = {spec.name: spec for spec in info.options}
    for key in kwargs:
        if key not in specs:
            accepted = ", ".join(sorted(specs)) or "(none)"
            raise ConfigError(f"{info.name}: unknown option {key!r}; accepted: {accepted}")
    return {
        key: spec.check(info.name, kwargs.get(key, spec.default)) for key, spec in specs.items()
    }


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_common(name: str, *, seed: Any, val_fraction: Any, image_size: Any, limit: Any) -> None:
    if not _is_int(seed) or seed < 0:
        raise ConfigError(f"{name}: seed={seed!r} is not accepted; use an integer >= 0")
    if (
        isinstance(val_fraction, bool)
        or not isinstance(val_fraction, (int, float))
        or not 0 < val_fraction < 1
    ):
        raise ConfigError(
            f"{name}: val_fraction={val_fraction!r} is not accepted; use a number in (0, 1), e.g. 0.2"
        )
    if image_size is not None and (not _is_int(image_size) or not 1 <= image_size <= MAX_IMAGE_SIZE):
        raise ConfigError(
            f"{name}: image_size={image_size!r} is not accepted; use an integer side from 1 to "
            f"{MAX_IMAGE_SIZE} pixels (the largest model input) or None"
        )
    if limit is not None and (not _is_int(limit) or limit < 1):
        raise ConfigError(
            f"{name}: limit={limit!r} is not accepted; use a positive integer (images) or None"
        )


def _check_root(info: DatasetInfo, root: Any) -> Path | None:
    if not info.needs_root:
        if root is not None:
            raise ConfigError(
                f"{info.name}: takes no root (it loads from an installed package); got root={str(root)!r}"
            )
        return None
    if root is None:
        raise ConfigError(f"{info.name}: needs root=DIR, the directory that holds the data set")
    if not isinstance(root, (str, os.PathLike)):
        raise ConfigError(f"{info.name}: root={root!r} is not accepted; use a directory path")
    return Path(root).expanduser()
