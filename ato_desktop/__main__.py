"""`python -m ato_desktop`."""

import sys

from ato_desktop.main import main

sys.exit(main())
