"""Check a Carvana folder by decoding every training image and mask, read-only: names cannot reveal a
truncated download or a wrong-size mask.  Each ``train_masks.csv`` row is compared with its GIF while the
GIF is in memory.  ``carvana-tutorial inspect DATA`` prints the report.  Introduced in chapter 1."""

from __future__ import annotations

import json
import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import DataError
from ..layout import MASKS_CSV, TEST_IMAGES, TRAIN_IMAGES, TRAIN_MASKS, parse_name
from .masks_csv import read_masks_csv, row_matches
from .pairs import scan


@dataclass(frozen=True)
class FileCheck:
    """What decoding one file found: its size (h, w), foreground, or a problem."""

    name: str  # relative to the data root
    size: tuple[int, int] | None = None
    foreground: float | None = None  # masks only
    unreadable: str | None = None  # why it could not be decoded
    invalid: str | None = None  # decoded, but not what Carvana's files are
    row_disagrees: bool | None = None  # its train_masks.csv row vs this GIF; None: not compared
    row_malformed: str | None = None  # why its train_masks.csv row cannot be decoded


@dataclass
class MasksCsvCheck:
    """What comparing ``train_masks.csv`` with the GIFs found; rows named by ``img``."""

    rows: int = 0
    compared: int = 0  # rows decoded and compared with a readable, valid GIF
    missing: list[str] = field(default_factory=list)  # paired images without a row
    extra: list[str] = field(default_factory=list)  # rows naming no paired image
    malformed: dict[str, str] = field(default_factory=dict)  # row -> why it cannot be decoded
    disagree: list[str] = field(default_factory=list)  # rows that decode to another mask than the GIF's
    error: str | None = None  # the file as a whole cannot be read (no header, not ASCII...)

    def kinds(self) -> dict[str, list[str]]:
        return {"missing": self.missing, "extra": self.extra, "malformed": sorted(self.malformed),
                "disagree": self.disagree}

    @property
    def ok(self) -> bool:
        return not (self.error or any(self.kinds().values()))

    def line(self) -> str:
        """One human line: the row count and what is wrong, if anything."""
        if self.error:
            return self.error  # read_masks_csv's messages name the file
        rows = f"{MASKS_CSV}: {self.rows} row{'' if self.rows == 1 else 's'}"
        wrong = [f"{len(v)} {k}" for k, v in self.kinds().items() if v]
        if wrong:
            return f"{rows}; {', '.join(wrong)}" + (" with their GIFs" if self.disagree else "")
        if self.compared == self.rows:
            return f"{rows}, all match their GIFs"
        return f"{rows}, {self.compared} match their GIFs, {self.rows - self.compared} not compared (bad GIF)"


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
    masks_csv: MasksCsvCheck | None = None  # None: the folder has no train_masks.csv (it is optional)

    @property
    def unreadable(self) -> list[str]:
        return sorted(c.name for c in self.images + self.masks if c.unreadable)

    @property
    def invalid(self) -> list[str]:
        return sorted({c.name for c in self.images + self.masks if c.invalid} | set(self.mismatched))

    @property
    def ok(self) -> bool:
        return self.pairs > 0 and not (self.unpaired or self.bad_names or self.unreadable or self.invalid
                                       or (self.masks_csv and not self.masks_csv.ok))

    def summary(self) -> dict:
        """The JSON line: counts and the files that are wrong."""
        csv = self.masks_csv
        table = csv and {"rows": csv.rows, **csv.kinds(), "error": csv.error}
        return {"pairs": self.pairs, "cars": self.cars, "unpaired": self.unpaired, "unreadable": self.unreadable,
                "invalid": self.invalid, "bad_names": self.bad_names, "masks_csv": table}

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
        out += [self.masks_csv.line()] if self.masks_csv else []
        out += [f"{c.name}: {c.unreadable or c.invalid}" for c in self.images + self.masks if c.unreadable or c.invalid]
        out += [f"{name}: mask and image sizes differ" for name in self.mismatched]
        out += [f"{name}: no partner" for name in self.unpaired]
        out += [f"{name}: not a Carvana file name" for name in self.bad_names]
        if csv := self.masks_csv:  # one line per wrong row, as the other files are listed
            out += [f"{MASKS_CSV} row {name}: malformed ({why})" for name, why in sorted(csv.malformed.items())]
            out += [f"{MASKS_CSV} row {name}: differs from its GIF" for name in csv.disagree]
            out += [f"{MASKS_CSV} row {name}: no paired image" for name in csv.extra]
            out += [f"{name}: no {MASKS_CSV} row" for name in csv.missing]
        return out + [json.dumps(self.summary())]

    def problem(self) -> str:
        """One sentence for the error message."""
        counts = {"unpaired": self.unpaired, "unreadable": self.unreadable, "invalid": self.invalid,
                  "badly named": self.bad_names}
        parts = [f"{len(v)} {k}" for k, v in counts.items() if v]
        if self.masks_csv and self.masks_csv.error:
            parts.append(f"an unreadable {MASKS_CSV}")
        elif self.masks_csv:
            parts += [f"{len(v)} {k.replace('disagree', 'disagreeing')} {MASKS_CSV} row{'' if len(v) == 1 else 's'}"
                      for k, v in self.masks_csv.kinds().items() if v]
        return "found " + ", ".join(parts) if parts else "found no image/mask pairs"


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())[:120]


def check_file(root: Path, path: Path, rle: str | None = None) -> FileCheck:
    """Decode one photo (an RGB JPEG) or mask (a palette GIF of {0, 1}); compare a mask with its
    ``rle`` row now, as holding every mask for later would take gigabytes."""
    name = path.relative_to(root).as_posix()
    try:
        with Image.open(path) as image:
            size = (image.height, image.width)
            if image.format == "JPEG":  # 1/8 scale: 3x faster, yet every byte is still decoded
                image.draft("RGB", (image.width // 8, image.height // 8))
            image.load()
            kind, values, palette = f"{image.format} {image.mode}", np.asarray(image), image.getpalette() or []
    except Exception as exc:  # PIL raises OSError, SyntaxError, ValueError... for bad files
        return FileCheck(name, unreadable=f"cannot be decoded ({_one_line(exc)})")
    if path.suffix != ".gif":
        return FileCheck(name, size, invalid=None if kind == "JPEG RGB" else f"{kind}, expected an RGB JPEG")
    ones = np.count_nonzero(values)
    used = [i for i, present in ((0, ones < values.size), (1, ones > 0)) if present]  # decode_gif sees colours
    invalid = (f"{kind}, expected a palette GIF" if kind != "GIF P"
               else "mask values other than 0 and 1" if values.max(initial=0) > 1
               else "palette does not map 0 to black and 1 to white"
               if any(palette[3 * i: 3 * i + 3] != [255 * i] * 3 for i in used) else None)
    check = FileCheck(name, size, None if invalid else float(ones / values.size), invalid=invalid)
    if rle is None:
        return check
    try:
        same = row_matches(rle, values)
    except ValueError as exc:
        return replace(check, row_malformed=_one_line(exc))
    return check if invalid else replace(check, row_disagrees=not same)  # an unclear GIF's row is not compared


def inspect_folder(root: Path, *, progress: bool = False) -> Report:
    """Pair, decode and measure every training file under ``root``.  Introduced in chapter 1."""
    from tqdm import tqdm

    root = Path(root)
    found = scan(root)  # raises DataError for a missing folder or layout
    images, masks = (sorted(p for p in (root / folder).iterdir() if (n := parse_name(p.name)) and n[1] == is_mask)
                     for folder, is_mask in ((TRAIN_IMAGES, False), (TRAIN_MASKS, True)))
    test = root / TEST_IMAGES
    report = Report(pairs=len(found.pairs), cars=len({p.car for p in found.pairs}),
                    test_images=sum(1 for p in test.iterdir() if parse_name(p.name)) if test.is_dir() else 0,
                    unpaired=found.unpaired, bad_names=found.bad_names)
    rows = {}
    if (root / MASKS_CSV).exists():  # optional: Kaggle ships it, older downloads lack it
        try:
            rows = read_masks_csv(root / MASKS_CSV)
            report.masks_csv = MasksCsvCheck(rows=len(rows))
        except DataError as exc:
            report.masks_csv = MasksCsvCheck(error=str(exc))
    row_of = {p.mask.name: rows.get(p.image.name) for p in found.pairs}
    jobs = [(p, None) for p in images] + [(p, row_of.get(p.name)) for p in masks]
    with ThreadPoolExecutor(min(8, os.cpu_count() or 1)) as pool:  # PIL decodes without the GIL
        results = list(tqdm(pool.map(lambda job: check_file(root, *job), jobs), total=len(jobs),
                            desc="decode", unit="file", disable=not progress))
    report.images, report.masks = results[: len(images)], results[len(images):]
    by_name = {Path(c.name).name: c for c in results}
    table = report.masks_csv if report.masks_csv and not report.masks_csv.error else None
    for pair in found.pairs:
        image, mask = by_name[pair.image.name], by_name[pair.mask.name]
        if image.size and mask.size and image.size != mask.size:
            report.mismatched.append(mask.name)
        if table and mask.row_malformed is not None:
            table.malformed[pair.image.name] = mask.row_malformed
        elif table and mask.row_disagrees is not None:
            table.compared += 1
            table.disagree += [pair.image.name] if mask.row_disagrees else []
    if table:
        paired = {p.image.name for p in found.pairs}
        table.missing, table.extra = sorted(paired - set(rows)), sorted(set(rows) - paired)
        table.disagree.sort()
    return report
