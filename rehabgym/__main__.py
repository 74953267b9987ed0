"""`python -m rehabgym` runs the `rehabgym` command."""

import sys

from rehabgym.cli import main

sys.exit(main())
