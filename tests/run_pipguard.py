"""Run this checkout's pipguard from any directory.

For scripts under test that take a pipguard command (ci-guard, devstack
replay): a PYTHONPATH would do the same, but it would leak into the target
environment's pip, which would then see this checkout as installed.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipguard.cli.main import main

sys.exit(main())
