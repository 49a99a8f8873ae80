"""The input pipeline: decode, resize, cache, shuffle, augment, batch.

Everything a chapter needs is importable from here; the submodules say how
each step works.  Importing this package imports TensorFlow.  Introduced in
chapter 2.
"""

from .augment import augment
from .cache import cache_root, ensure_cached, mask_rles
from .dataset import image_dataset, load_image, make_dataset
from .decode import dct_ratio, decode_rle_mask, read_mask

__all__ = [
    "augment",
    "cache_root",
    "dct_ratio",
    "decode_rle_mask",
    "ensure_cached",
    "image_dataset",
    "load_image",
    "make_dataset",
    "mask_rles",
    "read_mask",
]
