"""Deprecated: ``vision_models.vision`` moved to :mod:`vision_models.catalog.vision`.

The old name goes in the next release.
"""

import sys
import warnings

from .catalog import vision as _moved

warnings.warn(
    "vision_models.vision moved to vision_models.catalog.vision; the old name goes in the next release",
    DeprecationWarning,
    stacklevel=2,
)
sys.modules[__name__] = _moved  # the old name is the new module itself: the same objects, and patches reach it
