"""lifeloom: seeded simulations of a person's digital life, as benchmark environments.

The public Python API (see :mod:`exporters.api`): ``world``, ``generate``, ``load``,
``Workspace``, ``grade``, ``check_dataset``, and ``InputError``, what bad input raises.
"""

from exporters.api import (
    CheckReport,
    Dataset,
    InputError,
    Workspace,
    check_dataset,
    generate,
    grade,
    load,
    world,
)

__all__ = ["CheckReport", "Dataset", "InputError", "Workspace", "check_dataset", "generate",
           "grade", "load", "world"]
