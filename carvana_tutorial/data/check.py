"""Check a Carvana folder by decoding every training image and mask.

Listing names (``pair_files``) cannot see a truncated download or a mask of
the wrong size; this reads every file, read-only, and reports counts, sizes,
the foreground fraction and every problem.  ``carvana-tutorial inspect DATA``
prints the report.  Introduced in chapter 1.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..layout import TEST_IMAGES, TRAIN_IMAGES, TRAIN_MASKS, parse_name
from .pairs import scan


@dataclass(frozen=True)
class FileCheck:
    """What decoding one file found: its size (h, w), foreground, or a problem."""

    name: str  # relative to the data root
    size: tuple[int, int] | None = None
    foreground: float | None = None  # masks only
    unreadable: str | None = None  # why it could not be decoded
    invalid: str | None = None  # decoded, but not what Carvana's files are


@dataclass
class Report:
    """Everything ``inspect`` prints; ``ok`` is False when anything is wrong."""

    pairs: int
    cars: int
    test_images: int
    unpaired: list[str]
    bad_names: list[str]
    images: list[FileCheck] = field(default_factory=list)
    masks: list[FileCheck] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)

    @property
    def unreadable(self) -> list[str]:
        return sorted(c.name for c in self.images + self.masks if c.unreadable)

    @property
    def invalid(self) -> list[str]:
        return sorted({c.name for c in self.images + self.masks if c.invalid} | set(self.mismatched))

    @property
    def ok(self) -> bool:
        return self.pairs > 0 and not (self.unpaired or self.bad_names or self.unreadable or self.invalid)

    def summary(self) -> dict:
        """The JSON line: counts and the files that are wrong."""
        return {
            "pairs": self.pairs,
            "cars": self.cars,
            "unpaired": self.unpaired,
            "unreadable": self.unreadable,
            "invalid": self.invalid,
            "bad_names": self.bad_names,
        }

    def lines(self) -> list[str]:
        """Human-readable lines, the JSON summary last."""
        out = [f"{self.pairs} image/mask pairs of {self.cars} cars; {self.test_images} test images"]
        for label, checks in (("image", self.images), ("mask", self.masks)):
            sizes = Counter(c.size for c in checks if c.size)
            shown = ", ".join(f"{h}x{w} ({n})" for (h, w), n in sizes.most_common())
            out.append(f"{label} sizes (height x width): {shown or 'none readable'}")
        fg = np.array([c.foreground for c in self.masks if c.foreground is not None])
        if fg.size:
            out.append(f"foreground fraction: mean {fg.mean():.3f}, min {fg.min():.3f}, max {fg.max():.3f}")
        for check in self.images + self.masks:
            if check.unreadable or check.invalid:
                out.append(f"{check.name}: {check.unreadable or check.invalid}")
        out += [f"{name}: mask and image sizes differ" for name in self.mismatched]
        out += [f"{name}: no partner" for name in self.unpaired]
        out += [f"{name}: not a Carvana file name" for name in self.bad_names]
        out.append(json.dumps(self.summary()))
        return out

    def problem(self) -> str:
        """One sentence for the error message."""
        parts = [f"{len(v)} {k}" for k, v in (("unpaired", self.unpaired), ("unreadable", self.unreadable),
                                               ("invalid", self.invalid), ("badly named", self.bad_names)) if v]
        return "found " + ", ".join(parts) if parts else "found no image/mask pairs"


def _decode(path: Path, draft: bool = False):
    """Open and decode ``path``; return the image and its (height, width).

    A truncated or corrupt file fails here, not at open.  With ``draft``, a
    JPEG is decoded at 1/8 scale in the DCT domain (about 3x faster): every
    byte of the stream is still read and entropy-decoded, so damage is still
    found, and the size returned is the one in the file.
    """
    from PIL import Image

    image = Image.open(path)
    try:
        size = (image.height, image.width)
        if draft and image.format == "JPEG":
            image.draft("RGB", (image.width // 8, image.height // 8))
        image.load()
    except BaseException:
        image.close()
        raise
    return image, size


def check_image(root: Path, path: Path) -> FileCheck:
    """Decode one training photo; Carvana's are RGB JPEGs. Introduced in chapter 1."""
    name = path.relative_to(root).as_posix()
    try:
        image, size = _decode(path, draft=True)
        with image:
            if image.format != "JPEG" or image.mode != "RGB":
                return FileCheck(name, size, invalid=f"{image.format} {image.mode}, expected an RGB JPEG")
    except Exception as exc:  # PIL raises OSError, SyntaxError, ValueError... for bad files
        return FileCheck(name, unreadable=f"cannot be decoded ({' '.join(str(exc).split())[:120]})")
    return FileCheck(name, size)


def check_mask(root: Path, path: Path) -> FileCheck:
    """Decode one mask; Carvana's are palette GIFs with pixel values {0, 1}.

    Introduced in chapter 1.
    """
    name = path.relative_to(root).as_posix()
    try:
        image, size = _decode(path)
        with image:
            values = np.asarray(image)
            if image.format != "GIF" or image.mode != "P":
                return FileCheck(name, size, invalid=f"{image.format} {image.mode}, expected a palette GIF")
            palette = image.getpalette() or []
    except Exception as exc:
        return FileCheck(name, unreadable=f"cannot be decoded ({' '.join(str(exc).split())[:120]})")
    if values.max(initial=0) > 1:
        return FileCheck(name, size, invalid="mask values other than 0 and 1")
    ones = np.count_nonzero(values)
    used = [i for i, present in ((0, ones < values.size), (1, ones > 0)) if present]
    # Readers that go through the palette (TensorFlow's decode_gif) see colours, not indices.
    if any(palette[3 * i: 3 * i + 3] != [255 * i] * 3 for i in used):
        return FileCheck(name, size, invalid="palette does not map 0 to black and 1 to white")
    return FileCheck(name, size, foreground=float(ones / values.size))


def inspect_folder(root: Path, *, progress: bool = False, workers: int | None = None) -> Report:
    """Pair, decode and measure every training file under ``root`` (read-only).

    Introduced in chapter 1.
    """
    from tqdm import tqdm

    root = Path(root)
    found = scan(root)  # raises DataError for a missing folder or layout
    images = sorted(p for p in (root / TRAIN_IMAGES).iterdir() if (n := parse_name(p.name)) and not n[1])
    masks = sorted(p for p in (root / TRAIN_MASKS).iterdir() if (n := parse_name(p.name)) and n[1])
    test = root / TEST_IMAGES
    report = Report(
        pairs=len(found.pairs),
        cars=len({p.car for p in found.pairs}),
        test_images=sum(1 for p in test.iterdir() if parse_name(p.name)) if test.is_dir() else 0,
        unpaired=found.unpaired,
        bad_names=found.bad_names,
    )
    jobs = [(check_image, p) for p in images] + [(check_mask, p) for p in masks]
    with ThreadPoolExecutor(workers or min(8, os.cpu_count() or 1)) as pool:  # PIL decodes without the GIL
        results = list(tqdm(pool.map(lambda job: job[0](root, job[1]), jobs), total=len(jobs),
                            desc="decode", unit="file", disable=not progress))
    report.images, report.masks = results[: len(images)], results[len(images):]
    by_name = {Path(c.name).name: c for c in results}
    for pair in found.pairs:
        image, mask = by_name[pair.image.name], by_name[pair.mask.name]
        if image.size and mask.size and image.size != mask.size:
            report.mismatched.append(mask.name)
    return report
