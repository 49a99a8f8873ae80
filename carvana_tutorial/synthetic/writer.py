"""Write a synthetic Carvana set to disk, in Kaggle's layout, safely and in parallel.

Every file is written under a temporary name and renamed into place, so an
interrupted run never leaves a truncated file that looks complete.  A folder
is *ours* when it holds :data:`SYNTHETIC_MARKER` (complete) or :data:`PARTIAL_MARKER`
(being written); we never touch a non-empty folder that holds neither.  The
complete marker is written last, so its presence means every file is there.
Introduced in chapter 1 (*Getting the data*).
"""

from __future__ import annotations

import csv
import io
import json
import multiprocessing
import os
import shutil
import signal
import sys
import time
import zipfile
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import CarvanaError, DataError
from ..layout import (
    FULL_SIZE,
    MASKS_CSV,
    TEST_IMAGES,
    TRAIN_IMAGES,
    TRAIN_MASKS,
    VIEWS,
    ViewId,
)
from ..outputs import write_atomic
from ..rle import rle_encode
from .render import render_car
from .scene import random_car, random_studio

#: Bump when the renderer changes what it draws: cached sets are then remade.
GENERATOR_VERSION = 5
SYNTHETIC_MARKER = ".carvana-synthetic.json"
PARTIAL_MARKER = ".carvana-synthetic.partial"
#: Everything we write; only these are removed when a set of ours is remade.
OUR_ENTRIES = (
    TRAIN_IMAGES,
    TRAIN_MASKS,
    TEST_IMAGES,
    MASKS_CSV,
    "train_hq.zip",
    "train_masks.zip",
    "test_hq.zip",
)
#: Smallest image we agree to draw (the studio and the car need some pixels).
MIN_SIZE = (32, 48)
_TRAIN, _TEST = 0, 1
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class SyntheticSummary:
    """What :func:`make_synthetic_set` wrote (or found): counts, size, ids, timing."""

    root: Path
    size: tuple[int, int]
    seed: int
    train_cars: tuple[str, ...]
    test_cars: tuple[str, ...]
    foreground: float  # mean fraction of car pixels over the training masks
    seconds: float  # time spent making it; 0 when an existing set was reused
    reused: bool

    @property
    def train_images(self) -> int:
        return VIEWS * len(self.train_cars)

    @property
    def test_images(self) -> int:
        return VIEWS * len(self.test_cars)

    def one_line(self) -> str:
        """One line for people, without machine paths."""
        height, width = self.size
        how = "reused" if self.reused else f"made in {self.seconds:.1f} s"
        return (
            f"synthetic Carvana: {len(self.train_cars)} cars x {VIEWS} views "
            f"({self.train_images} images + masks), {len(self.test_cars)} test cars "
            f"({self.test_images} images), {height}x{width}, seed {self.seed}, "
            f"car covers {100 * self.foreground:.1f}% of a frame on average; {how}"
        )


def _parameters(cars: int, size: tuple[int, int], seed: int, test_cars: int, zips: bool) -> dict:
    return {
        "generator": "carvana_tutorial.synthetic",
        "version": GENERATOR_VERSION,
        "cars": cars,
        "test_cars": test_cars,
        "size": list(size),
        "seed": seed,
        "zips": zips,
    }


def _check_arguments(
    cars: int, size: tuple[int, int], seed: int, test_cars: int
) -> tuple[int, int]:
    if isinstance(cars, bool) or not isinstance(cars, (int, np.integer)) or cars < 1:
        raise CarvanaError(f"cars must be a whole number >= 1, not {cars!r}")
    if isinstance(test_cars, bool) or not isinstance(test_cars, (int, np.integer)) or test_cars < 0:
        raise CarvanaError(f"test_cars must be a whole number >= 0, not {test_cars!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise CarvanaError(f"seed must be a whole number >= 0, not {seed!r}")
    try:
        height, width = (int(v) for v in size)
    except (TypeError, ValueError):
        raise CarvanaError(f"size must be (height, width), not {size!r}") from None
    if height < MIN_SIZE[0] or width < MIN_SIZE[1]:
        raise CarvanaError(
            f"size {height}x{width} is too small: at least {MIN_SIZE[0]}x{MIN_SIZE[1]} "
            "(height x width)"
        )
    return height, width


def car_ids(cars: int, seed: int, test_cars: int) -> tuple[list[str], list[str]]:
    """The 12-hex ids of the training and test cars; car ``i`` depends on (seed, i) only.

    Introduced in chapter 1.
    """
    train = [_car_rng(seed, _TRAIN, i).bytes(6).hex() for i in range(cars)]
    test = [_car_rng(seed, _TEST, i).bytes(6).hex() for i in range(test_cars)]
    if len(set(train + test)) != len(train) + len(
        test
    ):  # 1 in 2**48 per pair; say so if it ever happens
        raise CarvanaError(f"seed {seed} gives two cars the same id; pick another seed")
    return train, test


def _car_rng(seed: int, split: int, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, split, index])


def _gif_bytes(mask: np.ndarray) -> bytes:
    """A mask as Carvana's: GIF89a, palette mode, black/white palette, indices {0,1}."""
    image = Image.frombytes(
        "P", (mask.shape[1], mask.shape[0]), np.ascontiguousarray(mask, dtype=np.uint8).tobytes()
    )
    image.putpalette([0, 0, 0, 255, 255, 255])
    image.info["version"] = b"89a"
    buffer = io.BytesIO()
    image.save(buffer, format="GIF", optimize=False)
    return buffer.getvalue()


def _render_task(
    root: str, seed: int, split: int, index: int, car_id: str, size: tuple[int, int]
) -> list[tuple[str, str, float]]:
    """Render and write the 16 views of one car; return (image name, rle, foreground) per view."""
    rng = _car_rng(seed, split, index)
    rng.bytes(6)  # the id, drawn by car_ids
    car, studio = random_car(rng), random_studio(rng)
    folder = Path(root) / (TRAIN_IMAGES if split == _TRAIN else TEST_IMAGES)
    rows = []
    for view, photo, mask in render_car(
        car, studio, size, list(range(1, VIEWS + 1)), [seed, split, index]
    ):
        vid = ViewId(car_id, view)
        buffer = io.BytesIO()
        photo.save(buffer, format="JPEG", quality=studio.jpeg_quality)
        write_atomic(folder / vid.image_name, buffer.getvalue())
        if split == _TRAIN:
            write_atomic(Path(root) / TRAIN_MASKS / vid.mask_name, _gif_bytes(mask))
            rows.append((vid.image_name, rle_encode(mask), float(mask.mean())))
    return rows


def _workers(tasks: int) -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        cores = os.cpu_count() or 1
    return max(1, min(cores, tasks))


def _context() -> multiprocessing.context.BaseContext:
    """Fork is fast and works in scripts without a ``__main__`` guard, but forking
    a process that runs TensorFlow's threads can deadlock: spawn then."""
    if "tensorflow" in sys.modules or "fork" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    return multiprocessing.get_context("fork")


def _ignore_ctrl_c() -> None:
    """Workers leave Ctrl-C to the parent, which then submits no more cars."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _written(root: Path) -> set[str]:
    """What the set of ours in ``root`` wrote in its folders (``folder/name``), from its marker,
    complete or partial."""
    for marker in (read_marker(root), read_marker(root, PARTIAL_MARKER)):
        if isinstance(marker, dict) and "train_ids" in marker:
            views = [ViewId(c, v) for c in marker["train_ids"] for v in range(1, VIEWS + 1)]
            tests = [ViewId(c, v) for c in marker["test_ids"] for v in range(1, VIEWS + 1)]
            names = (
                [f"{TRAIN_IMAGES}/{v.image_name}" for v in views]
                + [f"{TRAIN_MASKS}/{v.mask_name}" for v in views]
                + [f"{TEST_IMAGES}/{v.image_name}" for v in tests]
            )
            return {*names, *(f"{n.split('/')[0]}/.{n.split('/')[1]}.tmp" for n in names)}
    return set()


def _claim(root: Path, partial: dict) -> None:
    """Make ``root`` ours to (re)write, or refuse if it holds someone else's files (checked before
    any change)."""
    if root.exists() and not root.is_dir():
        raise DataError(f"{root} exists and is not a folder; choose another output folder")
    if root.is_dir() and any(root.iterdir()):
        if not (root / SYNTHETIC_MARKER).exists() and not (root / PARTIAL_MARKER).exists():
            raise DataError(
                f"{root} is not empty and holds no synthetic set of ours; refusing to write into "
                "it (choose an empty or new folder)"
            )
        ours = _written(root)
        for name in (TRAIN_IMAGES, TRAIN_MASKS, TEST_IMAGES):
            for path in sorted((root / name).iterdir()) if (root / name).is_dir() else ():
                if f"{name}/{path.name}" not in ours:
                    raise DataError(
                        f"{path} was not written by synth; move it out of {root} or choose another "
                        "output folder"
                    )
    root.mkdir(parents=True, exist_ok=True)
    write_atomic(root / PARTIAL_MARKER, json.dumps(partial) + "\n")
    (root / SYNTHETIC_MARKER).unlink(missing_ok=True)
    for name in OUR_ENTRIES:
        path = root / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    for name in (TRAIN_IMAGES, TRAIN_MASKS, TEST_IMAGES):
        (root / name).mkdir()


def _write_zip(root: Path, folder: str) -> None:
    """``folder.zip`` with entries ``folder/<name>``, as Kaggle ships them; byte-reproducible."""
    target = root / f"{folder}.zip"
    tmp = target.with_name(f".{target.name}.tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as archive:
        for path in sorted((root / folder).iterdir()):
            info = zipfile.ZipInfo(f"{folder}/{path.name}", date_time=_ZIP_TIME)
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes())
    os.replace(tmp, target)


def _write_csv(root: Path, rows: list[tuple[str, str, float]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["img", "rle_mask"])
    writer.writerows((name, rle) for name, rle, _ in sorted(rows))
    write_atomic(root / MASKS_CSV, buffer.getvalue())


def make_synthetic_set(
    out: str | os.PathLike,
    cars: int = 8,
    size: tuple[int, int] = FULL_SIZE,
    seed: int = 0,
    test_cars: int = 2,
    zips: bool = True,
    progress: bool = False,
) -> SyntheticSummary:
    """Write a synthetic Carvana set of ``cars`` training cars to ``out``.

    Same arguments, same bytes.  Refuses (``DataError``) a non-empty folder
    that is not a set of ours; remakes one that is.  ``size`` is (height,
    width).  Introduced in chapter 1.
    """
    height, width = _check_arguments(cars, size, seed, test_cars)
    cars, test_cars, seed = int(cars), int(test_cars), int(seed)
    root = Path(out).expanduser().resolve()
    try:
        return _write_set(root, cars, (height, width), seed, test_cars, zips, progress)
    except OSError as exc:  # disk full, no permission, a file where a folder should be
        raise DataError(f"cannot write the synthetic set to {root}: {exc.strerror or exc}") from exc


def _write_set(
    root: Path,
    cars: int,
    size: tuple[int, int],
    seed: int,
    test_cars: int,
    zips: bool,
    progress: bool,
) -> SyntheticSummary:
    height, width = size
    train_ids, test_ids = car_ids(cars, seed, test_cars)
    started = time.perf_counter()
    _claim(
        root,
        {
            **_parameters(cars, size, seed, test_cars, zips),
            "train_ids": train_ids,
            "test_ids": test_ids,
        },
    )
    jobs = [(_TRAIN, i, cid) for i, cid in enumerate(train_ids)] + [
        (_TEST, i, cid) for i, cid in enumerate(test_ids)
    ]
    rows: list[tuple[str, str, float]] = []
    bar = _progress_bar(len(jobs) * VIEWS, progress)
    workers = _workers(len(jobs))
    try:
        if workers == 1:
            for split, i, cid in jobs:
                rows += _render_task(str(root), seed, split, i, cid, (height, width))
                bar.update(VIEWS)
        else:
            # At most one car per worker in flight, so Ctrl-C or a failure stops
            # after the cars being drawn instead of draining a queue of them.
            queue = iter(jobs)
            with ProcessPoolExecutor(
                max_workers=workers, mp_context=_context(), initializer=_ignore_ctrl_c
            ) as pool:
                running = {
                    pool.submit(_render_task, str(root), seed, *job, (height, width))
                    for job in islice(queue, workers)
                }
                while running:
                    done, running = wait(running, return_when=FIRST_COMPLETED)
                    for future in done:
                        rows += future.result()
                        bar.update(VIEWS)
                        running |= {
                            pool.submit(_render_task, str(root), seed, *job, (height, width))
                            for job in islice(queue, 1)
                        }
    finally:
        bar.close()
    _write_csv(root, rows)
    if zips:
        for folder in (TRAIN_IMAGES, TRAIN_MASKS, TEST_IMAGES):
            _write_zip(root, folder)
    foreground = float(np.mean([fg for _, _, fg in rows]))
    seconds = time.perf_counter() - started
    marker = {
        **_parameters(cars, (height, width), seed, test_cars, zips),
        "train_ids": train_ids,
        "test_ids": test_ids,
        "foreground": round(foreground, 6),
    }
    write_atomic(root / SYNTHETIC_MARKER, json.dumps(marker, indent=2) + "\n")
    (root / PARTIAL_MARKER).unlink(missing_ok=True)
    return SyntheticSummary(
        root, (height, width), seed, tuple(train_ids), tuple(test_ids), foreground, seconds, False
    )


def _progress_bar(total: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc="synthetic Carvana", unit="view", disable=not enabled)


def read_marker(out: str | os.PathLike, name: str = SYNTHETIC_MARKER) -> dict | None:
    """The completion marker of a synthetic set (or its partial one), or ``None`` if missing or
    unreadable.

    Introduced in chapter 1.
    """
    try:
        return json.loads((Path(out) / name).read_text())
    except (OSError, ValueError):
        return None


def ensure_dataset(
    out: str | os.PathLike,
    cars: int = 8,
    size: tuple[int, int] = FULL_SIZE,
    seed: int = 0,
    test_cars: int = 2,
    zips: bool = True,
    progress: bool = False,
) -> SyntheticSummary:
    """Reuse the synthetic set in ``out`` if it is complete and made with these
    arguments by this generator version; otherwise (re)make it.

    Introduced in chapter 1.
    """
    height, width = _check_arguments(cars, size, seed, test_cars)
    root = Path(out).expanduser().resolve()
    marker = read_marker(root)
    wanted = _parameters(int(cars), (height, width), int(seed), int(test_cars), zips)
    if (
        marker is not None
        and all(marker.get(k) == v for k, v in wanted.items())
        and _complete(root, marker)
    ):
        return SyntheticSummary(
            root,
            (height, width),
            int(seed),
            tuple(marker["train_ids"]),
            tuple(marker["test_ids"]),
            float(marker["foreground"]),
            0.0,
            True,
        )
    return make_synthetic_set(
        root, cars=cars, size=size, seed=seed, test_cars=test_cars, zips=zips, progress=progress
    )


def _complete(root: Path, marker: dict) -> bool:
    """Cheap check that the files the marker promises are there (names only)."""
    try:
        train, test = list(marker["train_ids"]), list(marker["test_ids"])
        for cars, folder, suffix in (
            (train, TRAIN_IMAGES, ".jpg"),
            (train, TRAIN_MASKS, "_mask.gif"),
            (test, TEST_IMAGES, ".jpg"),
        ):
            names = {p.name for p in (root / folder).iterdir()}
            if any(f"{c}_{v:02d}{suffix}" not in names for c in cars for v in range(1, VIEWS + 1)):
                return False
    except (OSError, KeyError, TypeError):
        return False
    files = [MASKS_CSV] + (
        ["train_hq.zip", "train_masks.zip", "test_hq.zip"] if marker.get("zips") else []
    )
    return all((root / name).is_file() for name in files)
