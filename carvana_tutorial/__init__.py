"""carvana_tutorial: the package behind the book *U-Nets on Carvana*.

Every chapter of the book imports this package and calls it; the logic lives
here, the explanation in the chapters, the checks in ``tests/``.  Importing the
package is cheap: TensorFlow is imported only by the modules that need it.
"""

import os

# TensorFlow reads these once, when it is first imported; set them before any
# module of ours imports it so notebooks and the command line stay quiet.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__version__ = "0.1.0"

__all__ = ["__version__"]
