"""lifeloom: seeded simulations of a person's digital life, as benchmark environments.

The public Python API (see :mod:`exporters.api`): ``world``, ``generate``, ``load``,
``Workspace``, ``grade``, ``check_dataset``.
"""

from exporters.api import (
    CheckReport,
    Dataset,
    Workspace,
    check_dataset,
    generate,
    grade,
    load,
    world,
)

__all__ = ["CheckReport", "Dataset", "Workspace", "check_dataset", "generate", "grade", "load",
           "world"]
