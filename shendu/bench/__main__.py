"""``python -m shendu.bench``: the same as ``shendu bench``."""
import sys

from . import main

sys.exit(main())
