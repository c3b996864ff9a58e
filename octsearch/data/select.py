"""Class subsets and per-class caps, chosen from the labels alone: which rows a data set keeps.

``classes: K`` keeps the first K classes by sorted name (the ImageNet-100 proxy is ``classes:
100`` of a prepared ImageNet); ``per_class: M`` keeps at most M images of each, a seeded choice
(:data:`SELECT_SEED`; the train/validation split has its own seed). The same two options exist for
``prepared`` (applied to the memory map's rows) and for ``cifar100`` and ``imagefolder`` (applied
to the loaded pool, before the split).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from octsearch.data.registry import OptionSpec
from octsearch.errors import ConfigError

if TYPE_CHECKING:
    from octsearch.data._pool import RawPool

SELECT_SEED = 0  # the seed of the per_class choice
CLASS_OPTIONS = (
    OptionSpec("classes", None, (), "keep the first K classes by sorted name (null: all)", minimum=1),
    OptionSpec("per_class", None, (), "at most M images a class, seeded choice (null: all)", minimum=1),
)


@dataclass(frozen=True, eq=False)
class Selection:
    """Rows of a set (ascending, so reads go forward through a file) with their labels
    renumbered ``0..len(class_names)-1``; nothing is copied but the indices."""

    indices: np.ndarray
    labels: np.ndarray
    classes: tuple[int, ...]  # the set's class indices, in the order of the new labels
    class_names: tuple[str, ...]
    description: str


def select_rows(labels: np.ndarray, class_names: tuple[str, ...], classes: int | None = None,
                per_class: int | None = None, *, pick: str = "first", seed: int = 0, where: str = "") -> Selection:
    """Rows of ``classes`` classes (``pick="first"``: the first by sorted name; ``"seeded"``: a
    seeded choice), at most ``per_class`` of each (a seeded choice, ``seed``); label -1 is never chosen.
    ``where`` names the set in error messages."""
    chosen = _classes(class_names, classes, pick, seed, where)
    if per_class is not None and (isinstance(per_class, bool) or not isinstance(per_class, int) or per_class < 1):
        raise ConfigError(f"{where}: per_class={per_class!r} is not accepted; use an integer >= 1 or None")
    rng = np.random.default_rng(seed)
    parts = []
    for cls in chosen:
        members = np.flatnonzero(labels == cls)
        if per_class is not None and len(members) > per_class:
            members = np.sort(rng.choice(members, per_class, replace=False))
        parts.append(members)
    indices = np.sort(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)
    remap = np.full(len(class_names), -1, dtype=np.int64)
    remap[list(chosen)] = np.arange(len(chosen))
    how = (f"{len(chosen)} of {len(class_names)} classes ({pick}"
           + (f", seed {seed})" if pick == "seeded" else " by sorted name)")
           + (f", at most {per_class} a class (seed {seed})" if per_class else ""))
    return Selection(indices.astype(np.int64), remap[labels[indices]], chosen,
                     tuple(class_names[c] for c in chosen), f"{len(indices):,} images: {how}")


def _classes(class_names: tuple[str, ...], classes: int | None, pick: str, seed: int, where: str) -> tuple[int, ...]:
    total = len(class_names)
    if pick not in ("first", "seeded"):
        raise ConfigError(f"{where}: class pick {pick!r} is not accepted; choose one of: first, seeded")
    if classes is None:
        return tuple(range(total))
    if isinstance(classes, bool) or not isinstance(classes, int) or not 1 <= classes <= total:
        raise ConfigError(f"{where}: classes={classes!r} but the set has {total} classes; accepted: 1..{total}")
    if pick == "first":
        return tuple(sorted(np.argsort(np.array(class_names), kind="stable")[:classes].tolist()))
    return tuple(sorted(np.random.default_rng(seed).choice(total, classes, replace=False).tolist()))


def subset_pool(pool: RawPool, classes: int | None, per_class: int | None, where: str) -> RawPool:
    """The pool with only the chosen classes (its fixed validation set too) and at most
    ``per_class`` training images of each; the pool itself when nothing is asked."""
    if classes is None and per_class is None:
        return pool
    train = select_rows(pool.labels, pool.class_names, classes, per_class, seed=SELECT_SEED, where=where)
    source = f"{pool.source}; {train.description}"
    kept = replace(pool, images=pool.images[train.indices], labels=train.labels, class_names=train.class_names,
                   source=source)
    if pool.val_labels is None or pool.val_images is None:
        return kept
    val = select_rows(pool.val_labels, pool.class_names, classes, None, where=where)
    return replace(kept, val_images=pool.val_images[val.indices], val_labels=val.labels)
