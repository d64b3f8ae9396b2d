"""`python -m syndicate`: the same as `invoke syndicate`."""

import sys

from syndicate.cli import main

sys.exit(main())
