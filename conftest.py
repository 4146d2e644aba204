"""Repository-wide pytest setup: notebooks run small under the test suite."""

import os

# The notebooks read their size from the environment; nbmake's kernels inherit it. The
# storyline notebook needs worlds long enough to hold a few storylines and their tasks.
os.environ.setdefault("LIFELOOM_TOUR_DAYS", "7")
os.environ.setdefault("LIFELOOM_NOTEBOOK_DAYS", "40")
