"""nbval runs the notebooks against the bundled sample, offline, with a throwaway cache.

The kernels start with this process's environment, so it is set here, at
collection, before any notebook's kernel starts.
"""

from __future__ import annotations

import os
import tempfile

_scratch = tempfile.mkdtemp(prefix="vision-models-nbval-")
os.environ["VISION_MODELS_SOURCE"] = "sample"
os.environ["VISION_MODELS_CACHE"] = os.path.join(_scratch, "http_cache.sqlite")
os.environ.pop("OPENROUTER_API_KEY", None)
