"""The oracle-side tables storylines leave behind: instances, conflicts and labels.

None of this is agent-visible. Labels say which record versions a storyline wrote
(``signal``), which sides of a declared disagreement they are on (``conflict``) and which
are look-alikes (``distractor``, with the parameters they changed and their similarity).
Schemas are defined here, once; the exporter adds ``world_id``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

if TYPE_CHECKING:
    from scenarios.engine import Instance, Storylines

CONFLICT_SCHEMA = pa.schema([
    pa.field("conflict_id", pa.string(), nullable=False),
    pa.field("storyline_instance_id", pa.string(), nullable=False),
    pa.field("operator", pa.string(), nullable=False),
    pa.field("slot", pa.string(), nullable=False),
    pa.field("authoritative", pa.string(), nullable=False),
    pa.field("superseded", pa.string(), nullable=False),  # JSON list
    pa.field("why", pa.string(), nullable=False),
    pa.field("table", pa.string(), nullable=False),  # the record that made them disagree
    pa.field("record_id", pa.string(), nullable=False),
    pa.field("valid_from", pa.timestamp("us", tz="UTC"), nullable=False),
])

_TS = pa.timestamp("us", tz="UTC")
INSTANCE_SCHEMA = pa.schema([
    pa.field("storyline_instance_id", pa.string(), nullable=False),
    pa.field("family", pa.string(), nullable=False),
    pa.field("started_at", _TS, nullable=False),
    pa.field("need_detectable", _TS),
    pa.field("deadline", _TS),
    pa.field("resolved", _TS),
    pa.field("finished", pa.bool_(), nullable=False),  # walked all its steps in the window
    pa.field("records", pa.int32(), nullable=False),
])

LABEL_SCHEMA = pa.schema([
    pa.field("table", pa.string(), nullable=False),
    pa.field("record_id", pa.string(), nullable=False),
    pa.field("valid_from", pa.timestamp("us", tz="UTC"), nullable=False),
    pa.field("class", pa.string(), nullable=False),  # signal, conflict, distractor, noise
    pa.field("storyline_instance_id", pa.string()),
    pa.field("conflict_id", pa.string()),
    pa.field("role", pa.string()),  # the step that wrote it (or that a look-alike copies)
    pa.field("similarity", pa.string()),  # look-alikes: high, medium or low
    pa.field("violates", pa.string()),  # look-alikes: the parameters they changed
])


def instance_table(runner: Storylines) -> pa.Table:
    """One row per instance that happened: family, start and milestones (oracle side)."""
    rows = [i for i in runner.instances if not i.aborted]
    if not rows:
        return INSTANCE_SCHEMA.empty_table()
    us = runner.world.clock.to_arrow_us

    def milestone(inst: Instance, name: str):
        at = inst.milestones.get(name)
        return None if at is None else int(us(np.array([at]))[0])

    return pa.Table.from_pydict({
        "storyline_instance_id": [i.instance_id for i in rows],
        "family": [i.spec.id for i in rows],
        "started_at": [int(us(np.array([i.start]))[0]) for i in rows],
        "need_detectable": [milestone(i, "need_detectable") for i in rows],
        "deadline": [milestone(i, "deadline") for i in rows],
        "resolved": [milestone(i, "resolved") for i in rows],
        "finished": [i.finished for i in rows],
        "records": [len(i.records) for i in rows],
    }, schema=INSTANCE_SCHEMA)

def conflict_table(runner: Storylines) -> pa.Table:
    """Every conflict an instance declared inside the window, with who wins and why."""
    rows = [c for inst in runner.instances for c in inst.conflicts
            if c["valid_from"] < runner.world.clock.end_seconds]
    if not rows:
        return CONFLICT_SCHEMA.empty_table()
    cols = {f.name: [r[f.name] for r in rows] for f in CONFLICT_SCHEMA}
    cols["valid_from"] = runner.world.clock.to_arrow_us(np.array(cols["valid_from"]))
    return pa.Table.from_pydict(cols, schema=CONFLICT_SCHEMA)


def label_table(runner: Storylines) -> pa.Table:
    """Which record versions are signal, conflict sides or look-alikes, and whose."""
    end = runner.world.clock.end_seconds
    rows = [(t, rid, vf, "signal", inst.instance_id, None, role, None, None)
            for inst in runner.instances for t, rid, vf, role in inst.records if vf < end]
    rows += [(t, rid, vf, "conflict", inst.instance_id, cid, role, None, None)
             for inst in runner.instances for t, rid, vf, cid, role in inst.conflict_records
             if vf < end]
    present = runner.lookalikes.present if runner.lookalikes is not None else []
    rows += [(d.table, d.record_id, d.valid_from, "distractor", d.instance_id, None,
              d.role, d.similarity, d.violates) for d in present if d.valid_from < end]
    if not rows:
        return LABEL_SCHEMA.empty_table()
    cols = list(zip(*rows, strict=True))
    valid_from = runner.world.clock.to_arrow_us(np.array(cols[2], np.int64))
    return pa.Table.from_arrays(
        [pa.array(c, f.type) if i != 2 else pa.array(valid_from, f.type)
         for i, (c, f) in enumerate(zip(cols, LABEL_SCHEMA, strict=True))],
        schema=LABEL_SCHEMA)
