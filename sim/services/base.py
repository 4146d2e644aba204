"""What a service declares: its tables, event kinds, devices and graph edges.

Each service is one small module holding one ``ServiceSpec``. Tables are versioned record
histories: every row is one version of one record, true from ``valid_from`` until
``valid_to`` (null while still current). The Arrow schema written here is *the* schema of
the table; exporters and snapshots take it from the catalogue and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

TS = pa.timestamp("us", tz="UTC")
TEXT = b"text"  # field metadata marking human-readable text (counted as words)
META_KIND = b"lifeloom.kind"
META_REF = b"lifeloom.ref"  # field metadata: this column holds record ids of another table
DEVICES = ("laptop", "phone", "web")

HISTORY_COLUMNS = (
    pa.field("record_id", pa.string(), nullable=False),
    pa.field("version", pa.int32(), nullable=False),
    pa.field("valid_from", TS, nullable=False),
    pa.field("valid_to", TS),
)


def text(name: str) -> pa.Field:
    """A column of prose a person reads: counted as words, probed for leaks."""
    return pa.field(name, pa.string(), metadata={META_KIND: TEXT})


def ref(name: str, target: str = "*") -> pa.Field:
    """A column holding the record id of a record in ``target`` (``*``: any table)."""
    return pa.field(name, pa.string(), metadata={META_REF: target.encode()})


def col(name: str, type_: pa.DataType | None = None) -> pa.Field:
    """A plain column (a string unless ``type_`` says otherwise)."""
    return pa.field(name, pa.string() if type_ is None else type_)


@dataclass(frozen=True)
class TableSpec:
    name: str
    description: str
    columns: tuple[pa.Field, ...]
    id_prefix: str
    created_column: str | None = None  # the column saying when a record appeared

    def __post_init__(self) -> None:
        if self.created_column and self.created_column not in {c.name for c in self.columns}:
            raise ValueError(f"table {self.name}: no column {self.created_column!r}")

    @property
    def schema(self) -> pa.Schema:
        return pa.schema([*HISTORY_COLUMNS, *self.columns])

    @property
    def text_columns(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.columns if (f.metadata or {}).get(META_KIND) == TEXT)

    @property
    def references(self) -> dict[str, str]:
        """Reference columns and the table they point into (``*``: any)."""
        return {
            f.name: f.metadata[META_REF].decode()
            for f in self.columns
            if META_REF in (f.metadata or {})
        }


@dataclass(frozen=True)
class ServiceSpec:
    """One app of the user's digital life.

    ``requires`` edges are install-time dependencies (must be acyclic); ``feeds`` edges say
    where this service's events cause events (causal propagation, loops allowed).
    """

    name: str
    description: str
    devices: tuple[str, ...]
    tables: tuple[TableSpec, ...]
    event_kinds: tuple[str, ...]
    requires: tuple[str, ...] = ()
    feeds: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if len(self.event_kinds) < 2:
            raise ValueError(f"service {self.name}: declare at least two event kinds")
        if not self.feeds:
            raise ValueError(f"service {self.name}: declare at least one feeds edge")
        unknown = set(self.devices) - set(DEVICES)
        if unknown:
            raise ValueError(f"service {self.name}: unknown devices {sorted(unknown)}")
