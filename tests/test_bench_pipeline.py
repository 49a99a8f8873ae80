"""``bench pipeline``: the function's result is consistent, the command prints it as JSON last."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from carvana_tutorial.commands.bench_pipeline import register_bench
from carvana_tutorial.data import pair_files
from carvana_tutorial.errors import CarvanaError
from carvana_tutorial.pipeline.bench import available_cores, benchmark
from carvana_tutorial.rle import rle_encode

CARS = ("00aa11bb22cc", "33dd44ee55ff")


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("carvana")
    (root / "train_hq").mkdir()
    (root / "train_masks").mkdir()
    rng = np.random.default_rng(1)
    for car in CARS:
        for view in (1, 2, 3):
            photo = rng.integers(0, 256, size=(80, 120, 3), dtype=np.uint8)
            Image.fromarray(photo).save(root / "train_hq" / f"{car}_{view:02d}.jpg")
            mask = Image.fromarray((rng.uniform(size=(80, 120)) > 0.5).astype(np.uint8), mode="P")
            mask.putpalette([0, 0, 0, 255, 255, 255])
            mask.save(root / "train_masks" / f"{car}_{view:02d}_mask.gif")
    return root


def test_benchmark_reports_rates_and_ratios_that_agree_with_its_timings(data_root):
    pairs = pair_files(data_root)
    result = benchmark(pairs, (20, 30), batch_size=4, stages=True)
    assert result["files"] == len(pairs)
    assert result["size"] == [20, 30] and result["source_size"] == [80, 120]
    assert result["cores"] == available_cores() >= 1
    seconds = result["seconds"]
    assert seconds["ours_first"] == pytest.approx(seconds["ours_first_decode"] + seconds["ours_first_read"])
    for key, timing in [("seed_pairs_per_s", "seed_first"), ("seed_second_pairs_per_s", "seed_second"),
                        ("ours_pairs_per_s", "ours_first"), ("ours_cached_pairs_per_s", "ours_second")]:
        assert result[key] == pytest.approx(len(pairs) / seconds[timing])
    assert result["first_epoch_speedup"] == pytest.approx(seconds["seed_first"] / seconds["ours_first"])
    assert result["cached_epoch_speedup"] == pytest.approx(seconds["seed_second"] / seconds["ours_second"])
    assert set(result["cpu_ms_per_pair"]) == {"seed_first", "seed_second", "ours_first", "ours_second"}
    assert all(ms >= 0 for ms in result["cpu_ms_per_pair"].values())
    assert result["mask_source"] == "gif"  # this folder has no train_masks.csv
    assert set(result["stages"]) == {
        "photo_decode_per_s", "gif_decode_per_s", "mask_decode_per_s", "cached_augmented_per_s"
    }
    assert result["stages"]["mask_decode_per_s"] == result["stages"]["gif_decode_per_s"]
    assert all(rate > 0 for rate in result["stages"].values())
    json.dumps(result)  # the command prints it as JSON


def test_with_a_masks_csv_ours_reads_it_and_times_both_mask_sources(data_root, tmp_path):
    root = Path(shutil.copytree(data_root, tmp_path / "data"))
    rows = [f"{gif.name.replace('_mask.gif', '.jpg')},{rle_encode(np.asarray(Image.open(gif)))}\n"
            for gif in sorted((root / "train_masks").glob("*.gif"))]
    (root / "train_masks.csv").write_text("img,rle_mask\n" + "".join(rows))
    result = benchmark(pair_files(root), (20, 30), batch_size=4, stages=True)
    assert result["mask_source"] == "csv"
    stages = result["stages"]
    assert stages["mask_decode_per_s"] == stages["rle_decode_per_s"] > 0 and stages["gif_decode_per_s"] > 0
    assert benchmark(pair_files(root), (20, 30), batch_size=4, masks="gif")["mask_source"] == "gif"


def _run(argv):
    parser = argparse.ArgumentParser()
    register_bench(parser.add_subparsers(dest="target"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_command_prints_rates_and_ends_with_one_json_line(data_root, capsys):
    assert _run(["pipeline", str(data_root), "--limit", "4", "--size", "16x24", "--batch-size", "2"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    result = json.loads(lines[-1])
    assert result["files"] == 4 and result["size"] == [16, 24] and result["batch_size"] == 2
    for key in ("seed_pairs_per_s", "ours_pairs_per_s", "first_epoch_speedup", "cached_epoch_speedup", "cores"):
        assert result[key] > 0
    assert any("speed-up" in line for line in lines[:-1])


@pytest.mark.parametrize("size", ["96", "axb", "0x10"])
def test_command_rejects_a_malformed_size(data_root, size):
    with pytest.raises(SystemExit):
        _run(["pipeline", str(data_root), "--size", size])


def test_command_rejects_a_non_positive_limit(data_root):
    with pytest.raises(CarvanaError, match="--limit"):
        _run(["pipeline", str(data_root), "--limit", "0"])
