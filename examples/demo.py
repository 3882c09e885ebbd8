"""The seed scenarios (../shared/seeds/), caught by @contract before any model sees the data.

The scenarios live in the package (`shapecontract.demo`), so `shapecontract demo` runs them from
an installed package too. Run: `make demo` (this file) or `shapecontract demo`.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from shapecontract.demo import main

if __name__ == "__main__":
    raise SystemExit(main())
