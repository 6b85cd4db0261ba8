"""Deprecated: ``vision_models.endpoints`` moved to :mod:`vision_models.catalog.endpoints`.

The old name goes in the next release.
"""

import sys
import warnings

from .catalog import endpoints as _moved

warnings.warn(
    "vision_models.endpoints moved to vision_models.catalog.endpoints; the old name goes in the next release",
    DeprecationWarning,
    stacklevel=2,
)
sys.modules[__name__] = _moved  # the old name is the new module itself: the same objects, and patches reach it
