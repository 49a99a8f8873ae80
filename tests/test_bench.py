"""The benchmarks: each result is consistent with its own timings, and ``bench`` prints it as JSON
last."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image

from carvana_tutorial.data import pair_files
from carvana_tutorial.rle import rle_encode
from carvana_tutorial.tools import bench
from carvana_tutorial.tools.bench import available_cores, pipeline_benchmark
from carvana_tutorial.tools.commands.bench import register

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


def test_pipeline_benchmark_reports_rates_and_ratios_that_agree_with_its_timings(data_root):
    pairs = pair_files(data_root)
    result = pipeline_benchmark(pairs, (20, 30), batch_size=4, stages=True)
    assert result["files"] == len(pairs)
    assert result["size"] == [20, 30] and result["source_size"] == [80, 120]
    assert result["cores"] == available_cores() >= 1
    seconds = result["seconds"]
    assert seconds["ours_first"] == pytest.approx(
        seconds["ours_first_decode"] + seconds["ours_first_read"]
    )
    for key, timing in [
        ("seed_pairs_per_s", "seed_first"),
        ("seed_second_pairs_per_s", "seed_second"),
        ("ours_pairs_per_s", "ours_first"),
        ("ours_cached_pairs_per_s", "ours_second"),
    ]:
        assert result[key] == pytest.approx(len(pairs) / seconds[timing])
    assert result["first_epoch_speedup"] == pytest.approx(
        seconds["seed_first"] / seconds["ours_first"]
    )
    assert result["cached_epoch_speedup"] == pytest.approx(
        seconds["seed_second"] / seconds["ours_second"]
    )
    assert set(result["cpu_ms_per_pair"]) == {
        "seed_first",
        "seed_second",
        "ours_first",
        "ours_second",
    }
    assert all(ms >= 0 for ms in result["cpu_ms_per_pair"].values())
    assert result["mask_source"] == "gif"  # this folder has no train_masks.csv
    assert set(result["stages"]) == {
        "photo_decode_per_s",
        "gif_decode_per_s",
        "mask_decode_per_s",
        "cached_augmented_per_s",
    }
    assert result["stages"]["mask_decode_per_s"] == result["stages"]["gif_decode_per_s"]
    assert all(rate > 0 for rate in result["stages"].values())
    json.dumps(result)  # the command prints it as JSON


def test_with_a_masks_csv_ours_reads_it_and_times_both_mask_sources(data_root, tmp_path):
    root = Path(shutil.copytree(data_root, tmp_path / "data"))
    rows = [
        f"{gif.name.replace('_mask.gif', '.jpg')},{rle_encode(np.asarray(Image.open(gif)))}\n"
        for gif in sorted((root / "train_masks").glob("*.gif"))
    ]
    (root / "train_masks.csv").write_text("img,rle_mask\n" + "".join(rows))
    result = pipeline_benchmark(pair_files(root), (20, 30), batch_size=4, stages=True)
    assert result["mask_source"] == "csv"
    stages = result["stages"]
    assert (
        stages["mask_decode_per_s"] == stages["rle_decode_per_s"] > 0
        and stages["gif_decode_per_s"] > 0
    )
    assert (
        pipeline_benchmark(pair_files(root), (20, 30), batch_size=4, masks="gif")["mask_source"]
        == "gif"
    )


def _run(argv):
    parser = argparse.ArgumentParser()
    parser.set_defaults(progress=False)  # the flag cli.main adds to every command
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["bench", *argv])
    return args.func(args)


def test_command_prints_rates_and_ends_with_one_json_line(data_root, capsys):
    assert (
        _run(["pipeline", str(data_root), "--limit", "4", "--size", "16x24", "--batch-size", "2"])
        == 0
    )
    lines = capsys.readouterr().out.strip().splitlines()
    result = json.loads(lines[-1])
    assert result["files"] == 4 and result["size"] == [16, 24] and result["batch_size"] == 2
    for key in (
        "seed_pairs_per_s",
        "ours_pairs_per_s",
        "first_epoch_speedup",
        "cached_epoch_speedup",
        "cores",
    ):
        assert result[key] > 0
    assert any("speed-up" in line for line in lines[:-1])


@pytest.mark.parametrize("size", ["96", "axb", "0x10"])
def test_command_rejects_a_malformed_size(data_root, size):
    with pytest.raises(SystemExit):
        _run(["pipeline", str(data_root), "--size", size])


@pytest.mark.parametrize("argv", [["--limit", "0"], ["--batch-size", "-1"], ["--limit", "two"]])
def test_command_rejects_a_non_positive_count(data_root, argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        _run(["pipeline", str(data_root), *argv])
    assert exit_info.value.code == 2 and argv[0] in capsys.readouterr().err


def test_training_benchmark_compiles_with_xla_even_when_chapters_made_ops_deterministic(capsys):
    """Keras drops jit_compile=True (with only a warning) under op determinism; the bench must
    not."""
    import warnings

    from tensorflow.python.framework import config as tf_config

    from carvana_tutorial.tools.chapter import seed_everything

    seed_everything(0)
    with warnings.catch_warnings():
        warnings.simplefilter(
            "error"
        )  # Keras's "doesn't support jit_compile" warning fails the test
        assert _run(["train", "--only", "quick", "--model", "simple", "--steps", "1"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    (row,) = result["results"]
    assert (row["setting"], row["model"], row["steps"], row["batch_size"], row["params"]) == (
        "quick",
        "simple",
        1,
        16,
        180_737,
    )
    assert row["images_per_s"] > 0 and row["xla_images_per_s"] > 0
    assert row["xla_speedup"] == pytest.approx(row["xla_images_per_s"] / row["images_per_s"])
    assert row["xla_loss_diff"] < 1e-4
    assert tf_config.is_op_determinism_enabled()  # restored for whatever runs next


def test_rle_benchmark_times_a_car_sized_mask():
    assert 0 < bench.rle_benchmark(repeats=3, size=(64, 96)) < 1e3


def test_submission_benchmark_times_every_photo_and_leaves_no_file(tmp_path):
    inputs = keras.Input((16, 24, 3))
    model = keras.Model(inputs, keras.layers.Conv2D(1, 1, activation="sigmoid")(inputs))
    photos = tmp_path / "imgs"
    photos.mkdir()
    for i in range(5):
        Image.fromarray(np.full((32, 48, 3), 40 * i, np.uint8)).save(photos / f"{i:012x}_01.jpg")
    before = sorted(photos.iterdir())
    speed = bench.submission_benchmark(model, photos, batch_size=2)
    assert speed["images"] == 5
    assert speed["ms_per_image"] == pytest.approx(1e3 / speed["images_per_second"])
    assert sorted(photos.iterdir()) == before


def test_segment_benchmark_times_every_photo(tmp_path, monkeypatch):
    import keras
    from PIL import Image

    inputs = keras.Input((16, 24, 3), name="image")
    model = keras.Model(
        inputs, keras.layers.Conv2D(1, 1, activation="sigmoid", name="mask")(inputs)
    )
    paths = []
    for i, size in enumerate([(48, 64), (30, 40)]):
        paths.append(tmp_path / f"photo{i}.png")
        Image.new("RGB", size[::-1], (200, 10, 10)).save(paths[-1])
    calls = []
    real = bench.segment_photos
    monkeypatch.setattr(
        bench,
        "segment_photos",
        lambda model, photos: calls.append(len(photos)) or real(model, photos),
    )
    rate = bench.segment_benchmark(model, paths, repeats=3)
    assert rate > 0 and calls == [1, 2, 2, 2]  # one untimed photo, then every photo per repeat


def test_realism_benchmark_scores_every_real_pair_and_ends_with_one_json_line(tmp_path, capsys):
    from carvana_tutorial.synthetic import make_synthetic_set
    from carvana_tutorial.tools import cli

    real = make_synthetic_set(
        tmp_path / "real", cars=2, size=(48, 72), seed=7, test_cars=0, zips=False
    ).root
    argv = ["bench", "real", str(real), "--cars", "2", "--size", "48x72", "--epochs", "1"]
    assert cli.main(argv) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    result = json.loads(lines[-1])
    assert (
        result["pairs"] == len(pair_files(real)) == 32
        and result["cars"] == 2
        and result["epochs_run"] == 1
    )
    assert 0 <= result["median_dice"] <= 1 and 0 <= result["mean_dice"] <= 1
    assert len(result["worst"]) == 5 and all(0 <= dice <= 1 for _, dice in result["worst"])
    assert [dice for _, dice in result["worst"]] == sorted(dice for _, dice in result["worst"])
    assert (
        result["worst"][0][0] in {p.image.name for p in pair_files(real)} and "worst:" in lines[-2]
    )


def test_realism_benchmark_refuses_a_folder_without_photos_in_one_line(tmp_path, capsys):
    from carvana_tutorial.tools import cli

    assert cli.main(["bench", "real", str(tmp_path)]) != 0
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.strip().splitlines()) == 1
