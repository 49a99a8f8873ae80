"""The input pipeline: decode, resize, cache, shuffle, augment, batch (``dataset`` calls ``cache``,
which
calls ``decode``).  Importing this package imports TensorFlow.  Introduced in chapter 2."""

from .augment import augment
from .cache import cache_root, ensure_cached, mask_rles
from .dataset import make_dataset
from .decode import dct_ratio, decode_photo, decode_rle_mask, load_image, read_mask, resize_photo

__all__ = [
    "augment",
    "cache_root",
    "dct_ratio",
    "decode_photo",
    "decode_rle_mask",
    "ensure_cached",
    "load_image",
    "make_dataset",
    "mask_rles",
    "read_mask",
    "resize_photo",
]
