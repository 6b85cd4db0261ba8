"""Deprecated: ``vision_models.image_tokens`` moved to :mod:`vision_models.pricing.image_tokens`.

The old name goes in the next release.
"""

import sys
import warnings

from .pricing import image_tokens as _moved

warnings.warn(
    "vision_models.image_tokens moved to vision_models.pricing.image_tokens; the old name goes in the next release",
    DeprecationWarning,
    stacklevel=2,
)
sys.modules[__name__] = _moved  # the old name is the new module itself: the same objects, and patches reach it
