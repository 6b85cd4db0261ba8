"""Deprecated: ``vision_models.guard`` moved to :mod:`vision_models.server.guard`.

The old name goes in the next release.
"""

import sys
import warnings

from .server import guard as _moved

warnings.warn(
    "vision_models.guard moved to vision_models.server.guard; the old name goes in the next release",
    DeprecationWarning,
    stacklevel=2,
)
sys.modules[__name__] = _moved  # the old name is the new module itself: the same objects, and patches reach it
