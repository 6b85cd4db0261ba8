"""Deprecated: ``vision_models.cache`` moved to :mod:`vision_models.http.cache`.

The old name goes in the next release.
"""

import sys
import warnings

from .http import cache as _moved

warnings.warn(
    "vision_models.cache moved to vision_models.http.cache; the old name goes in the next release",
    DeprecationWarning,
    stacklevel=2,
)
sys.modules[__name__] = _moved  # the old name is the new module itself: the same objects, and patches reach it
