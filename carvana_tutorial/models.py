"""The two networks of the book: the article's simple encoder-decoder and its full U-Net.

Both reproduce the article's architectures exactly at their defaults (96x128x3,
64 base filters) and are parametric in filters, depth, input size and dropout.
Augmentation is *not* part of the models: it lives in the input pipeline, where
the mask can be transformed together with the image (the article's full U-Net
also reassigned ``inputs`` to the augmented tensor, which Keras 3 rejects).

Every layer has an explicit, stable name, so summaries and stored notebook
outputs do not depend on how many models a session has built.
"""

from __future__ import annotations

import keras
from keras import layers

MODEL_NAMES = ("simple", "unet")


def _check_shape(input_shape: tuple[int, int, int], depth: int) -> None:
    """Both networks halve the size ``depth`` times; refuse sizes that do not divide."""
    height, width, _ = input_shape
    step = 2**depth
    if height % step or width % step:
        raise ValueError(
            f"input size {height}x{width} must be divisible by {step} (2**depth) so the decoder "
            "restores it exactly"
        )


def simple_unet(
    input_shape: tuple[int, int, int] = (96, 128, 3),
    filters: int = 64,
    depth: int = 3,
    name: str = "simple_unet",
) -> keras.Model:
    """The article's first network: strided convolutions down, transposed convolutions up.

    There is no skip connection: the decoder must rebuild the mask's outline from
    the bottleneck alone, which is why its edges come out soft. Each level of the
    encoder is a stride-2 3x3 convolution followed by a 3x3 convolution, with the
    filters doubling per level; the decoder mirrors it. At the defaults Keras
    counts 2,879,489 parameters.

    Introduced in chapter 4.
    """
    _check_shape(input_shape, depth)
    widths = [filters * 2**level for level in range(depth)]
    conv = dict(kernel_size=3, padding="same", activation="relu", kernel_initializer="he_normal")
    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    for level, width in enumerate(widths, start=1):
        x = layers.Conv2D(width, strides=2, name=f"down{level}_strided", **conv)(x)
        x = layers.Conv2D(width, name=f"down{level}_conv", **conv)(x)
    for level, width in zip(range(depth, 0, -1), reversed(widths)):
        x = layers.Conv2DTranspose(width, name=f"up{level}_conv", **conv)(x)
        x = layers.Conv2DTranspose(width, strides=2, name=f"up{level}_strided", **conv)(x)
    outputs = _sigmoid_head(x, kernel_size=3)
    return keras.Model(inputs, outputs, name=name)


def _conv_pair(x, width: int, prefix: str):
    """Two 3x3 ReLU convolutions: the unit every U-Net level is made of."""
    for i in (1, 2):
        x = layers.Conv2D(
            width, 3, padding="same", activation="relu", kernel_initializer="he_normal", name=f"{prefix}_conv{i}"
        )(x)
    return x


def unet(
    input_shape: tuple[int, int, int] = (96, 128, 3),
    filters: int = 64,
    depth: int = 4,
    dropout: float = 0.3,
    name: str = "unet",
) -> keras.Model:
    """The article's full U-Net (Ronneberger et al., 2015), with ``depth`` pooling steps.

    Encoder level ``i`` applies two 3x3 convolutions with ``filters * 2**i``
    filters and max-pools; the deepest encoder level and the bottleneck end in
    dropout. Each decoder level upsamples with a stride-2 transposed
    convolution, *concatenates* the encoder's features of the same size (the
    skip connection: channels are stacked, not added), and applies two
    convolutions. A last 3x3 convolution precedes the 1x1 sigmoid head. At the
    defaults Keras counts 34,550,273 parameters.

    Introduced in chapter 6.
    """
    _check_shape(input_shape, depth)
    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    skips = []
    for level in range(1, depth + 1):
        x = _conv_pair(x, filters * 2 ** (level - 1), f"enc{level}")
        if level == depth and dropout > 0:
            x = layers.Dropout(dropout, name=f"enc{level}_dropout")(x)
        skips.append(x)
        x = layers.MaxPooling2D(2, name=f"enc{level}_pool")(x)
    x = _conv_pair(x, filters * 2**depth, "bottleneck")
    if dropout > 0:
        x = layers.Dropout(dropout, name="bottleneck_dropout")(x)
    for level in range(depth, 0, -1):
        width = filters * 2 ** (level - 1)
        x = layers.Conv2DTranspose(
            width, 3, strides=2, padding="same", kernel_initializer="he_normal", name=f"dec{level}_upsample"
        )(x)
        x = layers.Concatenate(axis=-1, name=f"dec{level}_skip")([x, skips[level - 1]])
        x = _conv_pair(x, width, f"dec{level}")
    x = layers.Conv2D(
        filters, 3, padding="same", activation="relu", kernel_initializer="he_normal", name="head_conv"
    )(x)
    outputs = _sigmoid_head(x, kernel_size=1)
    return keras.Model(inputs, outputs, name=name)


def _sigmoid_head(x, kernel_size: int):
    """One-channel probability map. Kept in float32 so mixed precision cannot saturate it."""
    return layers.Conv2D(1, kernel_size, padding="same", activation="sigmoid", dtype="float32", name="mask")(x)


def build_model(
    model_name: str, input_shape: tuple[int, int, int] = (96, 128, 3), filters: int = 64, **kwargs
) -> keras.Model:
    """Either network by name (``"simple"`` or ``"unet"``): what the command line and training use.

    Introduced in chapter 4.
    """
    builders = {"simple": simple_unet, "unet": unet}
    if model_name not in builders:
        raise ValueError(f"unknown model {model_name!r}: use one of {', '.join(MODEL_NAMES)}")
    return builders[model_name](input_shape=input_shape, filters=filters, **kwargs)


def layer_table(model: keras.Model) -> str:
    """One line per layer: name, output shape (without the batch) and parameters.

    A deterministic stand-in for ``model.summary()``, whose boxes and widths
    depend on the terminal. Introduced in chapter 4.
    """
    rows = [f"{'layer':<20}{'output shape':<18}{'parameters':>12}"]
    for layer in model.layers:
        shape = "x".join(str(d) for d in layer.output.shape[1:])
        rows.append(f"{layer.name:<20}{shape:<18}{layer.count_params():>12,}")
    rows.append(f"{'total':<38}{model.count_params():>12,}")
    return "\n".join(rows)
