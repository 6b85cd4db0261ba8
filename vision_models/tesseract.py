"""Deprecated: ``vision_models.tesseract`` moved to :mod:`vision_models.trials.tesseract`.

The old name goes in the next release.
"""

import sys
import warnings

from .trials import tesseract as _moved

warnings.warn(
    "vision_models.tesseract moved to vision_models.trials.tesseract; the old name goes in the next release",
    DeprecationWarning,
    stacklevel=2,
)
sys.modules[__name__] = _moved  # the old name is the new module itself: the same objects, and patches reach it
