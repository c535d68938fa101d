"""``python -m shendu …`` runs the ``shendu`` command (see :mod:`shendu.cli`)."""
import sys

from .cli import main

sys.exit(main())
