"""Leak-free splits: what ``lifeloom check`` verifies about what each split holds.

A held-out split measures generalisation only if nothing of it was seen anywhere else. A
recipe promises that (:func:`scenarios.recipe_spec.check_splits` validates it, generation
leaves held-out items out of every other split); these checks verify the promise on the
dataset as written, from its files wherever the files record it, so a generator bug or a
hand-edited table is caught rather than trusted:

* worlds: two splits share no world seed, ``world_id``, persona instance or user identity
  (the snapshots' ``user_name``, ``user_email`` and ``user_phone`` together: a phone alone
  repeats by design, every user of a country gets the same fictional number). World ids
  are read from the manifest and the snapshots and tasks files, users from the snapshots;
  seeds and persona instances are recorded in the manifest only.
* held out: a task family, storyline, persona or prompt template held out for a split
  appears in no other split: task families in the tasks and gold tables, prompt templates
  (``<family>/<difficulty>/<index>``) by joining the two, storylines in
  ``oracle/storylines`` and the manifest's per-world ``storylines``, personas in the
  manifest's worlds. A split shipped without ``oracle/`` has no gold or storylines table
  to read: the manifest stands in for storylines, and prompt templates go unchecked.
* splits declared ``paired_with`` each other are exempt from both: they live the same
  worlds on purpose (say one world set at several noise ratios).

:func:`cross_problems` compares two datasets (``check test --against train``) in the same
way, exempting nothing. Seeds published as commitments (``--private-seeds``) are salted,
so the same seed behind two commitments goes unseen; world ids, persona instances and users
still show. A missing or unreadable file is skipped here: the table checks report it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from exporters.loading import Dataset

__all__ = ["cross_problems", "split_problems"]

Ref = tuple[str, str]  # (split, world_id)
Fact = tuple[str, str]  # (what, value): ("seed", "123"), ("user", "Ann Lee <...> +1 ...")
USER = ("user_name", "user_email", "user_phone")
HELD = {"task_families": "task family", "storylines": "storyline", "personas": "persona",
        "prompts": "prompt template"}


def split_problems(ds: Dataset) -> list[str]:
    """What one split of ``ds`` shares with an unpaired split, or uses of what another
    split holds out (empty: the splits are leak-free)."""
    pairs = {(a, b) for a, info in ds.manifest.get("splits", {}).items()
             for b in info.get("paired_with", [])}

    def apart(a: str, b: str) -> bool:
        return a != b and (a, b) not in pairs and (b, a) not in pairs

    facts = _facts(ds)
    problems = [f"world {a[1]} of split {a[0]} and world {b[1]} of split {b[0]} share {what}"
                for a, b, what in _shared(facts, facts, apart) if a < b]
    used = _used(ds)
    for owner, info in sorted(ds.manifest.get("splits", {}).items()):
        for key, kind in HELD.items():
            for item in info.get("held_out", {}).get(key, []):
                for split in sorted(used):
                    worlds = used[split][kind].get(item)
                    if worlds and apart(owner, split):
                        problems.append(f"split {split}: {kind} {item!r} is held out for "
                                        f"split {owner} but used in {_some(worlds)}")
    return problems


def cross_problems(ds: Dataset, other: Dataset) -> list[str]:
    """Every world of ``ds`` that shares a seed, world id, persona instance or user with a
    world of ``other`` (empty: the two datasets are disjoint)."""
    return [f"world {a[1]} of split {a[0]} and world {b[1]} of split {b[0]} of "
            f"{other.path} share {what}"
            for a, b, what in _shared(_facts(ds), _facts(other), lambda a, b: True)]


# -- what each world is, and what each split uses -------------------------------------------

def _facts(ds: Dataset) -> dict[Ref, set[Fact]]:
    """Per world: its world id, seed and persona instance (manifest), its users (files)."""
    facts: dict[Ref, set[Fact]] = defaultdict(set)
    for w in ds.manifest.get("worlds", []):
        ref = (w.get("split"), w.get("world_id"))
        facts[ref] |= {(what, str(w[key])) for what, key in (
            ("world_id", "world_id"), ("seed", "seed"), ("persona instance", "persona_instance"))
            if w.get(key) is not None}
    for split, wid, *user in _rows(ds, "tables", "snapshots", ("world_id", *USER)):
        facts[split, wid] |= {("world_id", wid), ("user", "{} <{}> {}".format(*user))}
    for split, wid in _rows(ds, "tables", "tasks", ("world_id",)):
        facts[split, wid].add(("world_id", wid))
    return facts


def _used(ds: Dataset) -> dict[str, dict[str, dict[str, set[str]]]]:
    """split -> kind of item (a value of ``HELD``) -> item -> the worlds using it."""
    used: dict = defaultdict(lambda: defaultdict(lambda: defaultdict(set)))
    for w in ds.manifest.get("worlds", []):
        split, wid = w.get("split"), w.get("world_id")
        used[split]["persona"][w.get("persona")].add(wid)
        for storyline in w.get("storylines", []):
            used[split]["storyline"][storyline].add(wid)
    level = {}  # task id -> difficulty
    for split, tid, wid, family, difficulty in _rows(
            ds, "tables", "tasks", ("task_id", "world_id", "family", "difficulty")):
        used[split]["task family"][family].add(wid)
        level[tid] = difficulty
    for split, tid, wid, family, template in _rows(
            ds, "oracle_tables", "gold", ("task_id", "world_id", "family", "prompt_template")):
        used[split]["task family"][family].add(wid)
        if tid in level:
            used[split]["prompt template"][f"{family}/{level[tid]}/{template}"].add(wid)
    for split, wid, storyline in _rows(ds, "oracle_tables", "storylines", ("world_id", "family")):
        used[split]["storyline"][storyline].add(wid)
    return used


def _rows(ds: Dataset, group: str, name: str, columns: tuple[str, ...]) -> Iterator[tuple]:
    """(split, *columns) for the distinct rows of a table, the split named by its file."""
    for rel in ds.manifest.get(group, {}).get(name, {}).get("files", []):
        try:
            table = pq.read_table(ds.path / rel, columns=list(columns))
        except (OSError, pa.ArrowException):
            continue  # missing, unreadable or of another schema: the table checks say so
        split = Path(rel).stem
        for row in dict.fromkeys(zip(*(table[c].to_pylist() for c in columns), strict=True)):
            yield split, *row


def _shared(mine: dict[Ref, set[Fact]], theirs: dict[Ref, set[Fact]],
            apart: Callable[[str, str], bool]) -> list[tuple[Ref, Ref, str]]:
    """(world, world, what they share) for every pair of worlds in splits ``apart``
    admits that share a fact. Worlds are indexed by split, so the many worlds of one split
    that share a persona instance (a list of ``variations`` cycled) cost nothing."""
    holders: dict[Fact, dict[str, list[Ref]]] = defaultdict(lambda: defaultdict(list))
    for ref, facts in theirs.items():
        for fact in facts:
            holders[fact][ref[0]].append(ref)
    pairs: dict[tuple[Ref, Ref], set[Fact]] = defaultdict(set)
    for a, facts in mine.items():
        for fact in facts:
            for split, refs in holders.get(fact, {}).items():
                if apart(a[0], split):
                    for b in refs:
                        pairs[a, b].add(fact)
    return [(a, b, ", ".join(f"{what} {value}" for what, value in sorted(shared)))
            for (a, b), shared in sorted(pairs.items())]


def _some(worlds: set[str], most: int = 3) -> str:
    names = sorted(worlds)
    if len(names) == 1:
        return f"world {names[0]}"
    more = f", and {len(names) - most} more" if len(names) > most else ""
    return f"{len(names)} worlds ({', '.join(names[:most])}{more})"
