import sys

from syndicate.report.cli import main

sys.exit(main())
