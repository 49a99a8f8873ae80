"""The article's two networks, a simple encoder-decoder and a U-Net, at its defaults (96x128x3,
64 filters). Every layer has a stable name, so stored outputs do not depend on the session."""

import keras
from keras import layers

from .config import DEFAULT_DEPTH, IMAGE_SIZE, MODEL_NAMES, check_input_size
from .errors import ModelError

#: The convolutions' shared settings: 3x3 kernels, ReLU, He initialisation.
CONV = dict(padding="same", activation="relu", kernel_initializer="he_normal")


def simple_unet(
    input_shape: tuple[int, int, int] = (*IMAGE_SIZE, 3),
    filters: int = 64,
    depth: int = 3,
) -> keras.Model:
    """The article's first network: strided convolutions down, transposed up.

    No skip connection: the decoder rebuilds the outline from the bottleneck
    alone, which is why its edges come out soft. Filters double per level. At
    the defaults Keras counts 2,879,489 parameters. Introduced in chapter 4."""
    check_input_size(input_shape, depth)
    widths = [filters * 2**level for level in range(depth)]
    x = inputs = keras.Input(shape=input_shape, name="image")
    for level, width in enumerate(widths, start=1):
        down = f"down{level}_strided"
        x = layers.Conv2D(width, 3, strides=2, name=down, **CONV)(x)
        x = layers.Conv2D(width, 3, name=f"down{level}_conv", **CONV)(x)
    for level, width in reversed(list(enumerate(widths, start=1))):
        x = layers.Conv2DTranspose(width, 3, name=f"up{level}_conv", **CONV)(x)
        up = f"up{level}_strided"
        x = layers.Conv2DTranspose(width, 3, strides=2, name=up, **CONV)(x)
    outputs = sigmoid_head(x, kernel_size=3)
    return keras.Model(inputs, outputs, name="simple_unet")


def conv_pair(x, width: int, prefix: str):
    """Two 3x3 ReLU convolutions: the unit every U-Net level is made of."""
    for i in (1, 2):
        x = layers.Conv2D(width, 3, name=f"{prefix}_conv{i}", **CONV)(x)
    return x


def unet(
    input_shape: tuple[int, int, int] = (*IMAGE_SIZE, 3),
    filters: int = 64,
    depth: int = 4,
    dropout: float = 0.3,
) -> keras.Model:
    """The article's full U-Net (Ronneberger et al., 2015).

    Each encoder level: two convolutions, then max-pooling. Each decoder
    level: a stride-2 transposed convolution, then the encoder's features of
    the same size *concatenated* (the skip connection), then two
    convolutions. At the defaults Keras counts 34,550,273 parameters.
    Introduced in chapter 6."""
    check_input_size(input_shape, depth)
    inputs = keras.Input(shape=input_shape, name="image")
    x, skips = inputs, []
    for level in range(1, depth + 1):
        x = conv_pair(x, filters * 2 ** (level - 1), f"enc{level}")
        if level == depth and dropout > 0:
            x = layers.Dropout(dropout, name=f"enc{level}_dropout")(x)
        skips.append(x)
        x = layers.MaxPooling2D(2, name=f"enc{level}_pool")(x)
    x = conv_pair(x, filters * 2**depth, "bottleneck")
    if dropout > 0:
        x = layers.Dropout(dropout, name="bottleneck_dropout")(x)
    for level in range(depth, 0, -1):
        width = filters * 2 ** (level - 1)
        x = layers.Conv2DTranspose(
            width,
            3,
            strides=2,
            padding="same",
            kernel_initializer="he_normal",
            name=f"dec{level}_upsample",
        )(x)
        x = layers.Concatenate(name=f"dec{level}_skip")([x, skips[level - 1]])
        x = conv_pair(x, width, f"dec{level}")
    x = layers.Conv2D(filters, 3, name="head_conv", **CONV)(x)
    outputs = sigmoid_head(x, kernel_size=1)
    return keras.Model(inputs, outputs, name="unet")


def sigmoid_head(x, kernel_size: int):
    """One probability per pixel, in float32 so mixed precision cannot saturate it."""
    return layers.Conv2D(
        1, kernel_size, padding="same", activation="sigmoid", dtype="float32", name="mask"
    )(x)


def build_model(
    name: str, image_size: tuple[int, int] = IMAGE_SIZE, filters: int = 64, depth: int | None = None
) -> keras.Model:
    """Either network by name, at its own depth unless ``depth`` is given."""
    if name not in MODEL_NAMES:
        raise ModelError(f"unknown model {name!r}: use one of {', '.join(MODEL_NAMES)}")
    builder = simple_unet if name == "simple" else unet
    return builder((*image_size, 3), filters, DEFAULT_DEPTH[name] if depth is None else depth)


def layer_table(model: keras.Model) -> str:
    """Name, output shape and parameters per layer: ``model.summary()`` without its boxes."""
    rows = [f"{'layer':<20}{'output shape':<18}{'parameters':>12}"]
    for layer in model.layers:
        shape = "x".join(str(d) for d in layer.output.shape[1:])
        rows.append(f"{layer.name:<20}{shape:<18}{layer.count_params():>12,}")
    rows.append(f"{'total':<38}{model.count_params():>12,}")
    return "\n".join(rows)
