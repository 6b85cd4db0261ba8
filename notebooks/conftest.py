"""nbval runs the notebooks offline, as refresh_outputs.py did: the bundled sample, throwaway stores, no history.

Kernels start with this process's environment, so it is prepared here, at
collection, before any notebook's kernel starts.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from refresh_outputs import prepare_environment

prepare_environment(Path(tempfile.mkdtemp(prefix="vision-models-nbval-")))
