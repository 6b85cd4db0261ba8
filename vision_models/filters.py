"""Deprecated: ``vision_models.filters`` moved to :mod:`vision_models.catalog.filters`.

The old name goes in the next release.
"""

import sys
import warnings

from .catalog import filters as _moved

warnings.warn(
    "vision_models.filters moved to vision_models.catalog.filters; the old name goes in the next release",
    DeprecationWarning,
    stacklevel=2,
)
sys.modules[__name__] = _moved  # the old name is the new module itself: the same objects, and patches reach it
