"""``imagefolder``: any directory with one sub-folder per class of images (read with Pillow).

Layout: ``ROOT/<class name>/<any sub-path>/<image>``; classes are the sub-folder names in sorted
order; files are found recursively and read in sorted path order. Images are converted to RGB
(``in_chans=3``, default) or greyscale (``in_chans=1``) and resized by Pillow to a square of
``image_size`` pixels (default 32; the aspect ratio is not kept). Hidden entries (``.name``) and
files with other extensions are ignored. Validation is a seeded stratified fraction.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from octsearch.data._pool import RawPool
from octsearch.data.registry import OptionSpec, register_dataset, resize_option
from octsearch.data.select import CLASS_OPTIONS, subset_pool
from octsearch.errors import DataError

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
DEFAULT_SIZE = 32
_LISTED = ", ".join(e[1:] for e in EXTENSIONS)


@register_dataset(
    "imagefolder",
    summary=f"ROOT/<class>/<images> ({_LISTED}), one sub-folder per class; RGB or grey, "
    f"resized to image_size (default {DEFAULT_SIZE})",
    options=(
        OptionSpec("in_chans", 3, (3, 1), "3: convert to RGB; 1: convert to greyscale"),
        resize_option("bilinear", "nearest"),
        *CLASS_OPTIONS,
    ),
    needs_root=True,
    default_image_size=DEFAULT_SIZE,
)
def load_imagefolder(
    root: Path | None, options: Mapping[str, Any], image_size: int | None
) -> RawPool:
    assert root is not None  # the registry enforces needs_root
    image_size = image_size or DEFAULT_SIZE
    classes = _class_dirs(root)
    mode = "RGB" if options["in_chans"] == 3 else "L"
    images: list[np.ndarray] = []
    labels: list[int] = []
    for index, folder in enumerate(classes):
        files = _image_files(folder)
        images += [_read(f, mode, image_size, options["resize"]) for f in files]
        labels += [index] * len(files)
    array = np.stack(images)
    if mode == "L":
        array = array[:, :, :, None]
    pool = RawPool(
        images=np.ascontiguousarray(array.transpose(0, 3, 1, 2)),
        labels=np.asarray(labels, dtype=np.int64),
        max_value=255,
        class_names=tuple(d.name for d in classes),
        source=f"image folder {root} ({len(labels):,} images, {len(classes)} classes, read as {mode} "
        f"and resized by Pillow to {image_size}x{image_size} with {options['resize']})",
    )
    return subset_pool(pool, options.get("classes"), options.get("per_class"), f"imagefolder ({root})")


def _class_dirs(root: Path) -> list[Path]:
    expected = (
        f"expected one sub-folder per class of images ({_LISTED}), e.g. {root / 'cat' / '0001.png'}"
    )
    if not root.is_dir():
        raise DataError(f"imagefolder: directory {root} does not exist; {expected}")
    classes = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise DataError(f"imagefolder: no class sub-folders in {root}; {expected}")
    if len(classes) < 2:
        raise DataError(
            f"imagefolder: only one class sub-folder ({classes[0].name}) in {root}; need at least 2; {expected}"
        )
    return classes


def _image_files(folder: Path) -> list[Path]:
    files = sorted(
        p
        for p in folder.rglob("*")
        if p.suffix.lower() in EXTENSIONS
        and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )
    if not files:
        raise DataError(f"imagefolder: class folder {folder} holds no images ({_LISTED})")
    return files


def _read(path: Path, mode: str, side: int, resize: str) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    resample = Image.Resampling.NEAREST if resize == "nearest" else Image.Resampling.BILINEAR
    try:
        with Image.open(path) as image:
            image = image.convert(mode)  # a GIF gives its first frame
            if image.size != (side, side):
                image = image.resize((side, side), resample=resample)
            return np.asarray(image, dtype=np.uint8)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise DataError(
            f"imagefolder: cannot read image {path} ({reason}); expected {_LISTED}"
        ) from e
