import sys

from syndicate.backfeed.cli import main

sys.exit(main())
