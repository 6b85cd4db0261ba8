"""Deprecated: ``vision_models.stores.history`` moved to :mod:`vision_models.catalog.history`.

The old name goes in the next release.
"""

import sys
import warnings

from ..catalog import history as _moved

warnings.warn(
    "vision_models.stores.history moved to vision_models.catalog.history; the old name goes in the next release",
    DeprecationWarning,
    stacklevel=2,
)
sys.modules[__name__] = _moved  # the old name is the new module itself: the same objects, and patches reach it
