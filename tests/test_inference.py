"""One way from a photo to the model's input: training, evaluation, the submission and ``segment``
hand the model the same numbers for the same pixels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from carvana_tutorial import inference
from carvana_tutorial.data import Pair
from carvana_tutorial.layout import ViewId
from carvana_tutorial.pipeline import dct_ratio, load_image, make_dataset

SIZE = (64, 96)
# Too small for libjpeg to shrink by 2 while decoding: every path decodes in full.
PHOTO = (120, 160)


class Recorder:
    """A model of input ``SIZE`` (like an ``OnnxModel``) that keeps what it is given."""

    image_size = SIZE

    def __init__(self) -> None:
        self.seen: list[np.ndarray] = []

    def predict_on_batch(self, images) -> np.ndarray:
        images = np.asarray(images)
        self.seen.append(images.copy())
        return images[..., :1]


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Pair:
    folder = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (*PHOTO, 3), dtype=np.uint8)
    pixels[30:90, 40:120] = (200, 40, 40)  # a block of colour among the noise
    photo = folder / "0cafe0cafe00_01.jpg"
    Image.fromarray(pixels).save(photo, quality=90)
    mask = folder / "0cafe0cafe00_01_mask.gif"
    Image.fromarray(np.zeros(PHOTO, np.uint8), mode="L").save(mask)
    return Pair(ViewId("0cafe0cafe00", 1), photo, mask)


def test_every_path_gives_the_model_the_same_input(
    pair: Pair, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARVANA_CACHE", str(tmp_path / "cache"))
    assert dct_ratio(PHOTO, SIZE) == 1
    trained_on = next(iter(make_dataset([pair], SIZE, 1, cache=False)))[0].numpy()[0]
    by_file = load_image(pair.image, SIZE)
    submission, segmentation = Recorder(), Recorder()
    list(inference.iter_masks(submission, [pair.image], batch_size=1))
    # segment reads any format with Pillow, whose JPEG decoder rounds differently from
    # TensorFlow's: given TensorFlow's pixels as a PNG, it must hand the model the same input.
    pixels = tf.io.decode_jpeg(tf.io.read_file(str(pair.image)), channels=3).numpy()
    Image.fromarray(pixels).save(tmp_path / "same_pixels.png")
    inference.segment(segmentation, tmp_path / "same_pixels.png")
    for given in (by_file, submission.seen[0][0], segmentation.seen[0][0]):
        assert given.dtype == np.float32 and given.shape == (*SIZE, 3)
        np.testing.assert_array_equal(given, trained_on)
    assert 0.0 <= trained_on.min() and trained_on.max() <= 1.0
    assert len(np.unique(trained_on * 255)) > 100  # the photo's pixels, not a constant


def test_segment_enlarges_the_probabilities_to_the_photo(pair: Pair) -> None:
    mask = inference.segment(Recorder(), pair.image)
    assert mask.shape == PHOTO and mask.dtype == bool
    # The recorder's "probability" is the red channel: the red block is car, above the threshold.
    assert mask[40:80, 50:110].all()
