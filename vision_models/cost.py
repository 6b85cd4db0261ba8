"""Deprecated: ``vision_models.cost`` moved to :mod:`vision_models.pricing.cost`.

The old name goes in the next release.
"""

import sys
import warnings

from .pricing import cost as _moved

warnings.warn(
    "vision_models.cost moved to vision_models.pricing.cost; the old name goes in the next release",
    DeprecationWarning,
    stacklevel=2,
)
sys.modules[__name__] = _moved  # the old name is the new module itself: the same objects, and patches reach it
