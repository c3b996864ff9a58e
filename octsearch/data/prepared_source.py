"""``prepared``: a directory written by ``octsearch dataset prepare``, read through the registry.

``data: {name: prepared, root: DIR}`` opens DIR with :func:`~octsearch.data.prepared.open_prepared`
(checked: incomplete, truncated, another format version, or a resolution other than the space's
image size -> a one-line error), optionally keeps a class subset (``classes: K``, the first K by
sorted name; ``per_class: M``, at most M images a class, a seeded choice with seed 0), and hands
the selected uint8 images to the registry's float pipeline (split, normalise) like any other
source. Images that could not be decoded (label -1) are never read.

The set is read in place: its splits are rows of the read-only memory map, so every trial of a
node shares the page cache's one copy and nothing is loaded whole. The normalisation comes from
the per-class pixel sums kept at prepare time (all images of the chosen classes, validation
included: no pass over the pixels).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from octsearch.data._pool import RawPool
from octsearch.data.registry import register_dataset
from octsearch.data.select import CLASS_OPTIONS, SELECT_SEED


@register_dataset(
    "prepared",
    summary="a set written by `octsearch dataset prepare` (uint8 memory map) in ROOT; its own "
    "resolution and classes; optional class subset: classes=K, per_class=M",
    options=CLASS_OPTIONS,
    needs_root=True,
    in_place=True,
)
def load_prepared(root: Path | None, options: Mapping[str, Any], image_size: int | None) -> RawPool:
    from octsearch.data.prepared import Expected, open_prepared

    assert root is not None  # the registry enforces needs_root
    prepared = open_prepared(root, Expected(image_size=image_size))
    chosen = prepared.select(options.get("classes"), options.get("per_class"), seed=SELECT_SEED)
    source = (
        f"prepared set {prepared.path} ({prepared.header.source}; {prepared.num_images:,} images, "
        f"{prepared.skipped:,} skipped at prepare time); {chosen.description}"
    )
    return RawPool(prepared.images, chosen.labels, 255, chosen.class_names, source,
                   in_place=str(prepared.path), rows=chosen.indices,
                   stats=prepared.normalisation(chosen.classes))
