"""Check a Carvana folder by decoding every training image and mask, read-only: names cannot reveal
a truncated download or a wrong-size mask.  Each ``train_masks.csv`` row is compared with its GIF
while the GIF is in memory.  ``carvana-tutorial inspect DATA`` prints the report.  Introduced in
chapter 1."""

import json
import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from ..data.masks_csv import read_masks_csv, row_matches
from ..data.pairs import scan
from ..errors import DataError, reason
from ..layout import MASKS_CSV, TEST_IMAGES, parse_name

#: The kinds of wrong file, then of wrong train_masks.csv row, in the order ``inspect`` lists them:
#: their JSON keys and how the error sentence counts them.
FILE_KINDS = {
    "unpaired": "unpaired",
    "unreadable": "unreadable",
    "invalid": "invalid",
    "bad_names": "badly named",
}
ROW_KINDS = {
    "missing": "missing",
    "extra": "extra",
    "malformed": "malformed",
    "disagree": "disagreeing",
}


@dataclass(frozen=True)
class FileCheck:
    """What decoding one file found: its size (h, w) and foreground, or what is wrong with it."""

    name: str  # relative to the data root
    size: tuple[int, int] | None = None  # None: it cannot be decoded
    foreground: float | None = None  # masks only
    wrong: str | None = None  # why it cannot be decoded, or how it differs from Carvana's files
    row_disagrees: bool | None = None  # its train_masks.csv row vs this GIF; None: not compared
    row_malformed: str | None = None  # why its train_masks.csv row cannot be decoded


@dataclass
class Report:
    """Everything ``inspect`` prints; ``ok`` is False when anything is wrong."""

    pairs: int
    cars: int
    test_images: int
    images: list[FileCheck] = field(default_factory=list)
    masks: list[FileCheck] = field(default_factory=list)
    csv_rows: int | None = None  # of train_masks.csv; None: the folder has none (it is optional)
    csv_compared: int = 0  # rows decoded and compared with a readable, valid GIF
    csv_error: str | None = None  # train_masks.csv cannot be read (no header, not ASCII...)
    #: kind -> (file or row, its line) for each problem; files relative to the root, rows by ``img``
    problems: dict[str, list[tuple[str, str]]] = field(
        default_factory=lambda: {k: [] for k in FILE_KINDS | ROW_KINDS}
    )

    def names(self, kind: str) -> list[str]:
        return sorted({name for name, _ in self.problems[kind]})

    @property
    def ok(self) -> bool:
        return self.pairs > 0 and not (any(self.problems.values()) or self.csv_error)

    def summary(self) -> dict:
        """The JSON line: counts and the files that are wrong."""
        files = {kind: self.names(kind) for kind in FILE_KINDS}
        rows = {kind: self.names(kind) for kind in ROW_KINDS}
        table = {"rows": self.csv_rows, **rows, "error": self.csv_error}
        csv = None if self.csv_rows is None else table  # None: the folder has no train_masks.csv
        return {"pairs": self.pairs, "cars": self.cars, **files, "masks_csv": csv}

    def lines(self) -> list[str]:
        """Human-readable lines, one per problem, the JSON summary last."""
        out = [f"{self.pairs} image/mask pairs of {self.cars} cars; {self.test_images} test images"]
        for label, checks in (("image", self.images), ("mask", self.masks)):
            sizes = Counter(c.size for c in checks if c.size)
            shown = ", ".join(f"{h}x{w} ({n})" for (h, w), n in sizes.most_common())
            out.append(f"{label} sizes (height x width): {shown or 'none readable'}")
        fg = np.array([c.foreground for c in self.masks if c.foreground is not None])
        if fg.size:
            out.append(
                f"foreground fraction: mean {fg.mean():.3f}, min {fg.min():.3f}, max {fg.max():.3f}"
            )
        out += [] if self.csv_rows is None else [self._csv_line()]
        out += [line for found in self.problems.values() for _, line in found]
        return out + [json.dumps(self.summary())]

    def _csv_line(self) -> str:
        """The row count of train_masks.csv and what is wrong, if anything."""
        if self.csv_error:
            return self.csv_error  # read_masks_csv's messages name the file
        count, compared = self.csv_rows, self.csv_compared
        rows = f"{MASKS_CSV}: {count} row{'' if count == 1 else 's'}"
        wrong = [f"{len(self.problems[kind])} {kind}" for kind in ROW_KINDS if self.problems[kind]]
        with_gifs = " with their GIFs" if self.problems["disagree"] else ""
        if wrong:
            return f"{rows}; {', '.join(wrong)}{with_gifs}"
        if compared == count:
            return f"{rows}, all match their GIFs"
        return f"{rows}, {compared} match their GIFs, {count - compared} not compared (bad GIF)"

    def problem(self) -> str:
        """One sentence for the error message."""
        files = [(len(self.names(kind)), label) for kind, label in FILE_KINDS.items()]
        rows = [(len(self.names(kind)), label) for kind, label in ROW_KINDS.items()]
        parts = [f"{n} {label}" for n, label in files if n]
        parts += [f"{n} {label} {MASKS_CSV} row{'' if n == 1 else 's'}" for n, label in rows if n]
        parts += [f"an unreadable {MASKS_CSV}"] if self.csv_error else []
        return "found " + ", ".join(parts) if parts else "found no image/mask pairs"


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
            kind, values = f"{image.format} {image.mode}", np.asarray(image)
            palette = image.getpalette() or []
    except Exception as exc:  # PIL raises OSError, SyntaxError, ValueError... for bad files
        return FileCheck(name, wrong=f"cannot be decoded ({reason(exc)})")
    if path.suffix != ".gif":
        return FileCheck(
            name, size, wrong=None if kind == "JPEG RGB" else f"{kind}, expected an RGB JPEG"
        )
    ones = np.count_nonzero(values)
    # decode_gif sees colours, so the palette entries of the values used must be black and white
    used = [i for i, present in ((0, ones < values.size), (1, ones > 0)) if present]
    invalid = None
    if kind != "GIF P":
        invalid = f"{kind}, expected a palette GIF"
    elif values.max(initial=0) > 1:
        invalid = "mask values other than 0 and 1"
    elif any(palette[3 * i : 3 * i + 3] != [255 * i] * 3 for i in used):
        invalid = "palette does not map 0 to black and 1 to white"
    foreground = None if invalid else float(ones / values.size)
    try:
        same = rle is None or row_matches(rle, values)
    except ValueError as exc:
        return FileCheck(name, size, foreground, invalid, row_malformed=reason(exc))
    disagrees = None if rle is None or invalid else not same  # an unclear GIF's row: not compared
    return FileCheck(name, size, foreground, invalid, disagrees)


def inspect_folder(root: Path, *, progress: bool = False) -> Report:
    """Pair, decode and measure every training file under ``root``.  Introduced in chapter 1."""
    from tqdm import tqdm

    root = Path(root)
    found = scan(root)  # raises DataError for a missing folder or layout
    images, masks = [p.image for p in found.pairs], [p.mask for p in found.pairs]
    images += [root / name for name in found.images_without_mask]
    masks += [root / name for name in found.masks_without_image]
    images, masks = sorted(images), sorted(masks)
    test = root / TEST_IMAGES
    report = Report(
        pairs=len(found.pairs),
        cars=len({p.car for p in found.pairs}),
        test_images=sum(1 for p in test.iterdir() if parse_name(p.name)) if test.is_dir() else 0,
    )
    rows = {}
    if (root / MASKS_CSV).exists():  # optional: Kaggle ships it, older downloads lack it
        try:
            rows = read_masks_csv(root / MASKS_CSV)
        except DataError as exc:
            report.csv_error = str(exc)
        report.csv_rows = len(rows)
    row_of = {p.mask.name: rows.get(p.image.name) for p in found.pairs}
    jobs = [(p, None) for p in images] + [(p, row_of.get(p.name)) for p in masks]
    with ThreadPoolExecutor(min(8, os.cpu_count() or 1)) as pool:  # PIL decodes without the GIL
        checked = pool.map(lambda job: check_file(root, *job), jobs)
        bar = tqdm(checked, total=len(jobs), desc="decode", unit="file", disable=not progress)
        results = list(bar)
    report.images, report.masks = results[: len(images)], results[len(images) :]
    wrong = report.problems
    wrong["unpaired"] += [(name, f"{name}: no partner") for name in found.unpaired]
    for c in (c for c in results if c.wrong):
        wrong["invalid" if c.size else "unreadable"].append((c.name, f"{c.name}: {c.wrong}"))
    wrong["bad_names"] += [(name, f"{name}: not a Carvana file name") for name in found.bad_names]
    by_name = {Path(c.name).name: c for c in results}
    for pair in found.pairs:
        image, mask, row = by_name[pair.image.name], by_name[pair.mask.name], pair.image.name
        if image.size and mask.size and image.size != mask.size:
            wrong["invalid"].append((mask.name, f"{mask.name}: mask and image sizes differ"))
        if mask.row_malformed is not None:  # compared only with rows of a readable train_masks.csv
            wrong["malformed"].append(
                (row, f"{MASKS_CSV} row {row}: malformed ({mask.row_malformed})")
            )
        elif mask.row_disagrees is not None:
            report.csv_compared += 1
            if mask.row_disagrees:
                wrong["disagree"].append((row, f"{MASKS_CSV} row {row}: differs from its GIF"))
    if report.csv_rows is not None and not report.csv_error:
        paired = {p.image.name for p in found.pairs}
        missing, extra = sorted(paired - set(rows)), sorted(set(rows) - paired)
        wrong["missing"] = [(row, f"{row}: no {MASKS_CSV} row") for row in missing]
        wrong["extra"] = [(row, f"{MASKS_CSV} row {row}: no paired image") for row in extra]
    return report
