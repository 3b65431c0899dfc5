"""``python -m edgekit_gui`` starts the desktop app."""

import sys

from edgekit_gui.app import main

sys.exit(main())
