"""Deprecated: ``vision_models.export`` moved to :mod:`vision_models.present.export`.

The old name goes in the next release.
"""

import sys
import warnings

from .present import export as _moved

warnings.warn(
    "vision_models.export moved to vision_models.present.export; the old name goes in the next release",
    DeprecationWarning,
    stacklevel=2,
)
sys.modules[__name__] = _moved  # the old name is the new module itself: the same objects, and patches reach it
