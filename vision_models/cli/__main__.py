"""``python -m vision_models.cli``: the command line."""

import sys

from . import main

sys.exit(main())
