"""Deprecated: ``vision_models.pages`` moved to :mod:`vision_models.trials.pages`.

The old name goes in the next release.
"""

import sys
import warnings

from .trials import pages as _moved

warnings.warn(
    "vision_models.pages moved to vision_models.trials.pages; the old name goes in the next release",
    DeprecationWarning,
    stacklevel=2,
)
sys.modules[__name__] = _moved  # the old name is the new module itself: the same objects, and patches reach it
