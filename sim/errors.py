"""The one kind of error a user fixes by changing what they gave: ``InputError``."""

from __future__ import annotations


class InputError(ValueError):
    """Bad input: a spec file, a flag, a path, a run file, an id.

    ``where`` names the file and key (``personas/nurse.toml:work.shifts``) or the flag
    (``--out``); ``why`` says what is wrong. The CLI prints ``error: where: why`` and exits
    2 for every subclass, wherever in the layers it is raised. Both stay in ``args``:
    SimPy and pickling (spawned workers) rebuild an exception as ``type(exc)(*exc.args)``.
    """

    def __init__(self, where: str, why: str) -> None:
        super().__init__(where, why)
        self.where = where
        self.why = why

    def __str__(self) -> str:
        return f"{self.where}: {self.why}"
