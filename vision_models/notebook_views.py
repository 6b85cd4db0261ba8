"""Deprecated: ``vision_models.notebook_views`` moved to :mod:`vision_models.present.notebook_views`.

The old name goes in the next release.
"""

import sys
import warnings

from .present import notebook_views as _moved

warnings.warn(
    "vision_models.notebook_views moved to vision_models.present.notebook_views; the old name goes in the next release",
    DeprecationWarning,
    stacklevel=2,
)
sys.modules[__name__] = _moved  # the old name is the new module itself: the same objects, and patches reach it
