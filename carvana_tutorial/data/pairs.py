"""Pair every training image with its mask by the id in the file name (the article zips two
sorted listings: one missing mask shifts every later pair), and split the pairs by car (the
article splits by image, so the near-duplicate views of a car land on both sides; chapter 7
measures that leak).  Introduced in chapter 1."""

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..layout import TRAIN_IMAGES, TRAIN_MASKS, ViewId, parse_name

#: How many offending file names an error message lists before "and N more".
SHOWN = 5
EXPECTED_LAYOUT = (
    f"expected Carvana's layout: {TRAIN_IMAGES}/<id>_<NN>.jpg and "
    f"{TRAIN_MASKS}/<id>_<NN>_mask.gif (as in Kaggle's train_hq.zip and train_masks.zip)"
)


@dataclass(frozen=True)
class Pair:
    """One training example: the photo of one view of one car and its mask."""

    vid: ViewId
    image: Path
    mask: Path

    @property
    def car(self) -> str:
        return self.vid.car

    @property
    def view(self) -> int:
        return self.vid.view


@dataclass
class Scan:
    """What a Carvana folder holds, problems included (paths relative to the root)."""

    root: Path
    pairs: list[Pair]
    images_without_mask: list[str]
    masks_without_image: list[str]
    bad_names: list[str]

    @property
    def unpaired(self) -> list[str]:
        return sorted(self.images_without_mask + self.masks_without_image)

    @property
    def ok(self) -> bool:
        return not (self.unpaired or self.bad_names)

    def problems(self) -> list[str]:
        """One sentence per kind of problem, each naming the first :data:`SHOWN` files."""
        kinds = (
            (self.images_without_mask, "image", "without a mask"),
            (self.masks_without_image, "mask", "without an image"),
            (self.bad_names, "file", "not named <id>_<NN>.jpg / <id>_<NN>_mask.gif"),
        )
        return [
            f"{len(names)} {noun}{'' if len(names) == 1 else 's'} {what}: "
            f"{', '.join(names[:SHOWN])}"
            + (f" and {len(names) - SHOWN} more" if len(names) > SHOWN else "")
            for names, noun, what in kinds
            if names
        ]


def list_folder(folder: Path) -> list[Path]:
    """What ``folder`` holds, sorted, or a one-line :class:`DataError` if it cannot be listed."""
    try:
        return sorted(Path(folder).iterdir())
    except OSError as exc:
        raise DataError(f"cannot list {folder} ({exc.strerror or exc}): make it readable") from None


def _listing(folder: Path, want_mask: bool) -> tuple[dict[ViewId, Path], list[str]]:
    found, bad = {}, []
    for path in list_folder(folder):
        if path.name.startswith("."):  # .DS_Store, .ipynb_checkpoints, our markers
            continue
        parsed = parse_name(path.name)
        if parsed is None or parsed[1] != want_mask or not path.is_file():
            bad.append(f"{folder.name}/{path.name}")
        else:
            found[parsed[0]] = path
    return found, bad


def check_layout(root: Path) -> Path:
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"no data folder at {root}: {EXPECTED_LAYOUT}")
    held = {path.name for path in list_folder(root)}
    missing = [name for name in (TRAIN_IMAGES, TRAIN_MASKS) if not (root / name).is_dir()]
    if zips := [f"{name}.zip" for name in missing if f"{name}.zip" in held]:
        commands = " and ".join(
            f"`python -m zipfile -e {shlex.quote(str(root / z))} {shlex.quote(str(root))}`"
            for z in zips
        )
        raise DataError(f"{root} holds {' and '.join(zips)}, not yet extracted: run {commands}")
    if missing:
        folders = " or ".join(f"{name}/" for name in missing)
        raise DataError(f"{root} has no {folders} folder: {EXPECTED_LAYOUT}")
    return root


def scan(root: Path) -> Scan:
    """Match every photo under ``root`` with its mask by id, keeping problems.

    Leftovers are listed, never paired with a neighbour: a missing mask
    cannot shift the pairs after it.  Introduced in chapter 1."""
    root = check_layout(root)
    images, bad_images = _listing(root / TRAIN_IMAGES, want_mask=False)
    masks, bad_masks = _listing(root / TRAIN_MASKS, want_mask=True)
    both = sorted(images.keys() & masks.keys())
    pairs = [Pair(vid, images[vid], masks[vid]) for vid in both]
    return Scan(
        root,
        pairs,
        _alone(images, masks),
        _alone(masks, images),
        bad_images + bad_masks,
    )


def _alone(found: dict[ViewId, Path], partners: dict[ViewId, Path]) -> list[str]:
    """``folder/name`` of each file in ``found`` without a partner, sorted by id."""
    return [
        f"{path.parent.name}/{path.name}"
        for vid, path in sorted(found.items())
        if vid not in partners
    ]


def pair_files(root: Path) -> list[Pair]:
    """Every (photo, mask) pair under ``root``, sorted; a :class:`DataError`
    naming the files for anything unpaired.  Introduced in chapter 1."""
    found = scan(root)
    if not found.ok:
        raise DataError(f"{root}: " + "; ".join(found.problems()))
    if not found.pairs:
        raise DataError(f"{root}/{TRAIN_IMAGES} is empty: {EXPECTED_LAYOUT}")
    return found.pairs


def pair_by_sorting(root: Path) -> list[tuple[Path, Path]]:
    """The article's pairing (sort both listings, zip), kept to show how it fails.  Introduced in
    chapter 1."""
    root = check_layout(root)
    listings = []
    for folder in (TRAIN_IMAGES, TRAIN_MASKS):
        visible = [p for p in list_folder(root / folder) if not p.name.startswith(".")]
        listings.append(sorted(visible, key=lambda p: p.name.split(".")[0]))
    return list(zip(*listings, strict=False))


def count_misaligned(pairs: list[tuple[Path, Path]]) -> int:
    """How many (image, mask) pairs name two different views. Introduced in chapter 1."""
    ids = [(parse_name(image.name), parse_name(mask.name)) for image, mask in pairs]
    return sum(i is None or m is None or i[0] != m[0] for i, m in ids)


def _check_split(val_fraction: float, max_images: int | None) -> None:
    if not 0 < val_fraction < 1:
        raise DataError(f"val_fraction must be between 0 and 1 (exclusive), not {val_fraction}")
    if max_images is not None and max_images < 1:
        raise DataError(f"max_images must be a positive number of images, not {max_images}")


def group_by_car(pairs: Sequence[Pair]) -> dict[str, list[Pair]]:
    """The pairs of each car, sorted by view, cars in sorted order.  Introduced in chapter 1."""
    cars: dict[str, list[Pair]] = {}
    for pair in sorted(pairs, key=lambda p: p.vid):
        cars.setdefault(pair.car, []).append(pair)
    return cars


def _whole_cars(cars: dict[str, list[Pair]], order: list[str], max_images: int | None) -> list[str]:
    if max_images is not None:  # the first cars that fit, and at least one
        fit = np.cumsum([len(cars[car]) for car in order]) <= max_images
        order = order[: max(1, int(fit.sum()))]
    if len(order) < 2:
        within = "" if max_images is None else f" within max_images={max_images}"
        raise DataError(
            f"a split by car needs at least 2 cars, but only {len(order)} "
            f"{'is' if len(order) == 1 else 'are'} available{within}"
        )
    return order


def split_by_car(
    pairs: Sequence[Pair],
    val_fraction: float = 0.2,
    seed: int = 42,
    max_images: int | None = None,
) -> tuple[list[Pair], list[Pair]]:
    """Split into (train, val) with every view of a car on the same side.

    ``max_images`` is rounded down to whole shuffled cars; at least one car
    validates, never all.  Introduced in chapter 1."""
    _check_split(val_fraction, max_images)
    cars = group_by_car(pairs)
    order = list(np.random.default_rng(seed).permutation(sorted(cars)))
    order = _whole_cars(cars, order, max_images)
    n_val = min(max(1, round(val_fraction * len(order))), len(order) - 1)
    val_cars, train_cars = sorted(order[:n_val]), sorted(order[n_val:])
    return (
        [pair for car in train_cars for pair in cars[car]],
        [pair for car in val_cars for pair in cars[car]],
    )


def random_split(
    pairs: Sequence[Pair], val_fraction: float = 0.2, seed: int = 42, max_images: int | None = None
) -> tuple[list[Pair], list[Pair]]:
    """The article's ``train_test_split`` of its first ``max_images`` images,
    kept only to measure the leak (chapter 7).  Introduced in chapter 1."""
    from sklearn.model_selection import train_test_split

    _check_split(val_fraction, max_images)
    ordered = sorted(pairs, key=lambda p: p.vid)[:max_images]
    if len(ordered) < 2:
        raise DataError("a random split needs at least 2 images")
    train, val = train_test_split(ordered, test_size=val_fraction, random_state=seed)
    return sorted(train, key=lambda p: p.vid), sorted(val, key=lambda p: p.vid)


def leaked_cars(train: Sequence[Pair], val: Sequence[Pair]) -> list[str]:
    """The cars with views on both sides of a split.  Introduced in chapter 1."""
    return sorted({p.car for p in train} & {p.car for p in val})


def split_summary(train: Sequence[Pair], val: Sequence[Pair]) -> dict[str, int]:
    """Images and cars on each side, and the cars on both.  Introduced in chapter 1."""
    leaked = set(leaked_cars(train, val))
    return {
        "train_images": len(train),
        "train_cars": len({p.car for p in train}),
        "val_images": len(val),
        "val_cars": len({p.car for p in val}),
        "leaked_cars": len(leaked),
        "val_images_of_seen_cars": sum(p.car in leaked for p in val),
    }
