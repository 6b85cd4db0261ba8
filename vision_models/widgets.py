"""Deprecated: ``vision_models.widgets`` moved to :mod:`vision_models.present.widgets`.

The old name goes in the next release.
"""

import sys
import warnings

from .present import widgets as _moved

warnings.warn(
    "vision_models.widgets moved to vision_models.present.widgets; the old name goes in the next release",
    DeprecationWarning,
    stacklevel=2,
)
sys.modules[__name__] = _moved  # the old name is the new module itself: the same objects, and patches reach it
