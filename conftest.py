"""Repository-wide pytest setup: notebooks run tiny under the test suite."""

import os

# The tour notebook reads its size from the environment; nbmake's kernels inherit it.
os.environ.setdefault("LIFELOOM_TOUR_DAYS", "7")
