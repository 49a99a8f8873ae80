"""carvana_tutorial: the package behind the book *U-Nets on Carvana*.

Every chapter imports it; the logic lives here, the explanation in the chapters, the checks in
``tests/``.
Importing it is cheap: TensorFlow is imported only by the modules that need it."""

import os

# TensorFlow reads this once, when first imported: set it before any module of ours imports it.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__version__ = "0.1.0"
