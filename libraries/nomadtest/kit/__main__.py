"""``python -m nomadtest.kit``: the same as the ``nomad-e2e`` command."""

import sys

from nomadtest.kit.cli import main

if __name__ == "__main__":
    sys.exit(main())
