"""The two networks: the article's parameter counts, shapes, and the knobs that change them."""

from __future__ import annotations

import numpy as np
import pytest

from carvana_tutorial.errors import ModelError
from carvana_tutorial.models import build_model, layer_table, simple_unet, unet


def test_article_parameter_counts():
    # Keras 3.15 counts at the article's settings (96x128x3, 64 filters); the chapters glue these.
    assert simple_unet().count_params() == 2_879_489
    assert unet().count_params() == 34_550_273


@pytest.mark.parametrize("builder", [simple_unet, unet])
@pytest.mark.parametrize("shape", [(32, 48, 3), (64, 96, 3)])
def test_output_is_one_probability_per_pixel(builder, shape):
    model = builder(input_shape=shape, filters=4)
    x = np.random.default_rng(0).random((2, *shape), dtype=np.float32)
    y = model.predict(x, verbose=0)
    assert y.shape == (2, shape[0], shape[1], 1)
    assert y.dtype == np.float32
    assert np.all((y >= 0) & (y <= 1))


def test_filters_scale_parameters_quadratically():
    # Conv weights are in*out*9: doubling every width multiplies them by ~4 (biases and the head add
    # a little).
    small, large = unet(filters=8).count_params(), unet(filters=16).count_params()
    assert 3.8 < large / small < 4.0


def test_depth_adds_levels_and_concatenations():
    shallow = unet(input_shape=(32, 32, 3), filters=4, depth=2)
    deep = unet(input_shape=(32, 32, 3), filters=4, depth=3)

    def concat(model):
        return [layer.name for layer in model.layers if layer.__class__.__name__ == "Concatenate"]

    assert concat(shallow) == ["dec2_skip", "dec1_skip"]
    assert concat(deep) == ["dec3_skip", "dec2_skip", "dec1_skip"]
    assert deep.count_params() > shallow.count_params()
    assert len(simple_unet(input_shape=(32, 32, 3), filters=4, depth=2).layers) == 1 + 4 * 2 + 1


def test_skip_connections_concatenate_channels():
    model = unet(filters=8)
    skip = model.get_layer("dec1_skip")
    assert skip.output.shape[-1] == 2 * 8  # upsampled 8 channels stacked on the encoder's 8


def test_dropout_is_optional_and_inactive_at_inference():
    assert not [layer for layer in unet(filters=4, dropout=0).layers if "dropout" in layer.name]
    model = unet(input_shape=(32, 32, 3), filters=4, dropout=0.5)
    assert {layer.name for layer in model.layers if "dropout" in layer.name} == {
        "enc4_dropout",
        "bottleneck_dropout",
    }
    x = np.ones((1, 32, 32, 3), np.float32)
    np.testing.assert_array_equal(model.predict(x, verbose=0), model.predict(x, verbose=0))


def test_no_augmentation_inside_the_model():
    names = {layer.__class__.__name__ for m in (simple_unet(), unet()) for layer in m.layers}
    assert not {n for n in names if n.startswith("Random")}


def test_layer_names_are_stable_across_builds():
    first = [layer.name for layer in unet(filters=4).layers]
    second = [layer.name for layer in unet(filters=4).layers]
    assert first == second
    assert first[0] == "image" and first[-1] == "mask"


def test_sizes_that_do_not_divide_are_refused():
    with pytest.raises(ModelError, match="divisible by 2\\*\\*depth = 16"):
        unet(input_shape=(100, 128, 3))
    with pytest.raises(ModelError, match="divisible by 2\\*\\*depth = 8"):
        simple_unet(input_shape=(96, 124, 3))


def test_build_model_by_name():
    assert build_model("simple", (32, 32), filters=4).name == "simple_unet"
    assert build_model("unet", (32, 32), filters=4).name == "unet"
    assert len(build_model("unet", (32, 32), filters=2, depth=2).get_layer("dec1_skip").input) == 2
    with pytest.raises(ModelError, match="unknown model"):
        build_model("resnet")


def test_layer_table_lists_every_layer_and_the_total():
    model = simple_unet(input_shape=(32, 32, 3), filters=2, depth=1)
    lines = layer_table(model).splitlines()
    assert [line.split()[0] for line in lines[1:-1]] == [layer.name for layer in model.layers]
    assert lines[1].split()[1] == "32x32x3" and lines[2].split()[1] == "16x16x2"
    assert lines[-1].split()[-1] == f"{model.count_params():,}"
