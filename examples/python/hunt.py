#!/usr/bin/env python3
"""Moved: the hunting tool is the ``ctrule-hunt`` console script, installed with
the package (``pip install 'ctrule[s3]'``; ``python3 -m ctrule.hunt`` too). It
reads local trees as this example did, and s3:// history. This file runs it,
so that old command lines keep working: ``python3 hunt.py --help``."""

import sys

from ctrule.hunt import main

if __name__ == "__main__":
    sys.exit(main())
