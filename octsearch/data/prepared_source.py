"""``prepared``: a directory written by ``octsearch dataset prepare``, read through the registry.

``data: {name: prepared, root: DIR}`` opens DIR with :func:`~octsearch.data.prepared.open_prepared`
(checked: incomplete, truncated, another format version, or a resolution other than the space's
image size -> a one-line error), optionally keeps a class subset (``classes: K``, the first K by
sorted name; ``per_class: M``, at most M images a class, a seeded choice with seed 0), and hands
the selected uint8 images to the registry's float pipeline (split, normalise) like any other
source. Images that could not be decoded (label -1) are never read.

For now the selected images are copied into memory and converted to float tensors, as for
``cifar10``; reading batches from the shared memory map per node is not wired into trials yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from octsearch.data._pool import RawPool
from octsearch.data.registry import OptionSpec, register_dataset

SELECT_SEED = 0  # the seed of the per_class choice (the split has its own seed)


@register_dataset(
    "prepared",
    summary="a set written by `octsearch dataset prepare` (uint8 memory map) in ROOT; its own "
    "resolution and classes; optional class subset: classes=K, per_class=M",
    options=(
        OptionSpec("classes", None, (), "keep the first K classes by sorted name (null: all)", minimum=1),
        OptionSpec("per_class", None, (), "at most M images a class, seeded choice (null: all)", minimum=1),
    ),
    needs_root=True,
)
def load_prepared(root: Path | None, options: Mapping[str, Any], image_size: int | None) -> RawPool:
    from octsearch.data.prepared import Expected, open_prepared

    assert root is not None  # the registry enforces needs_root
    prepared = open_prepared(root, Expected(image_size=image_size))
    chosen = prepared.select(options.get("classes"), options.get("per_class"), seed=SELECT_SEED)
    images = np.asarray(prepared.images[chosen.indices])  # a forward read of the memory map
    source = (
        f"prepared set {prepared.path} ({prepared.header.source}; {prepared.num_images:,} images, "
        f"{prepared.skipped:,} skipped at prepare time); {chosen.description}"
    )
    return RawPool(images, chosen.labels, 255, chosen.class_names, source)
