"""`python -m quill_host`: the same entry point as `quill host`."""

import sys

from quill_host.main import main

sys.exit(main())
