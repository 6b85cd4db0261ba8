"""Deprecated: ``vision_models.sending`` moved to :mod:`vision_models.trials.client`.

The old name goes in the next release.
"""

import sys
import warnings

from .trials import client as _moved

warnings.warn(
    "vision_models.sending moved to vision_models.trials.client; the old name goes in the next release",
    DeprecationWarning,
    stacklevel=2,
)
sys.modules[__name__] = _moved  # the old name is the new module itself: the same objects, and patches reach it
