"""Deprecated: ``vision_models.accuracy`` moved to :mod:`vision_models.trials.accuracy`.

The old name goes in the next release.
"""

import sys
import warnings

from .trials import accuracy as _moved

warnings.warn(
    "vision_models.accuracy moved to vision_models.trials.accuracy; the old name goes in the next release",
    DeprecationWarning,
    stacklevel=2,
)
sys.modules[__name__] = _moved  # the old name is the new module itself: the same objects, and patches reach it
