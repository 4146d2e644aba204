"""The workspace: a shared snapshot read through one run's copy-on-write delta."""

import datetime as dt

import pyarrow as pa
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from sim.snapshot import snapshot_schema
from sim.workspace import Workspace, WorkspaceError

AS_OF = int(dt.datetime(2026, 2, 1, 9, tzinfo=dt.UTC).timestamp() * 1_000_000)
BEFORE = dt.datetime(2026, 1, 20, 8, tzinfo=dt.UTC)


def _notes(n: int) -> pa.Table:
    rows = [{"record_id": f"nt_{i}", "version": 1, "valid_from": BEFORE, "folder": "Notes",
             "title": f"note {i}", "body": "text", "updated_at": BEFORE, "related_id": None}
            for i in range(n)]
    return pa.Table.from_pylist(rows, schema=snapshot_schema("notes"))


@pytest.fixture
def workspace():
    return Workspace({"notes": _notes(3)}, as_of_us=AS_OF, salt="t")


def test_writes_are_seen_by_reads_and_leave_the_snapshot_alone(workspace):
    base = workspace.final_state()["notes"]
    new = workspace.insert("notes", {"title": "groceries", "body": "eggs"})
    workspace.update("notes", "nt_0", {"title": "renamed"})
    workspace.delete("notes", "nt_1")
    seen = {r["record_id"]: r for r in workspace.rows("notes")}
    assert set(seen) == {"nt_0", "nt_2", new["record_id"]}
    assert seen["nt_0"]["title"] == "renamed"
    assert seen["nt_0"]["version"] == 2
    assert workspace.get("notes", "nt_1") is None
    assert _notes(3).equals(base)
    final = workspace.final_state()["notes"]
    assert final.schema.equals(snapshot_schema("notes"))
    assert final.num_rows == 3
    assert workspace.changed() == {"notes": {"nt_0", "nt_1", new["record_id"]}}


def test_forks_share_the_snapshot_but_not_their_writes(workspace):
    other = workspace.fork("u")
    workspace.delete("notes", "nt_2")
    assert other.get("notes", "nt_2") is not None
    assert other.changed() == {}


def test_bad_writes_are_refused(workspace):
    with pytest.raises(WorkspaceError, match="unknown table"):
        workspace.insert("faxes", {})
    with pytest.raises(WorkspaceError, match="no column 'colour'"):
        workspace.insert("notes", {"colour": "red"})
    with pytest.raises(WorkspaceError, match="no record"):
        workspace.update("notes", "nt_99", {"title": "x"})
    with pytest.raises(WorkspaceError, match="no record"):
        workspace.delete("notes", "nt_99")
    assert workspace.changed() == {}


def _diff(before: pa.Table, after: pa.Table) -> tuple[frozenset, frozenset, frozenset]:
    """Created, changed (content, not version or valid_from) and deleted, row by row."""
    def content(table):
        return {r["record_id"]: {k: v for k, v in r.items() if k not in ("version", "valid_from")}
                for r in table.to_pylist()}
    old, new = content(before), content(after)
    return (frozenset(new.keys() - old.keys()),
            frozenset(rid for rid in new.keys() & old.keys() if new[rid] != old[rid]),
            frozenset(old.keys() - new.keys()))


def test_a_final_view_builds_tables_on_demand_as_final_state_does(workspace):
    workspace.insert("todos", {"title": "call Ann"})
    workspace.update("notes", "nt_2", {"title": "renamed"})
    view = workspace.final_view()
    assert list(view) == ["notes", "todos"]
    assert "todos" in view
    assert "faxes" not in view
    final = workspace.final_state()
    assert all(view[t].equals(final[t]) for t in final)
    assert workspace.snapshot_rows("notes", [2, 0]) == [_notes(3).to_pylist()[i] for i in (2, 0)]


class WorkspaceMatchesAModel(RuleBasedStateMachine):
    """Any sequence of writes leaves the workspace equal to a plain dict model."""

    def __init__(self):
        super().__init__()
        self.ws = Workspace({"notes": _notes(4)}, as_of_us=AS_OF)
        self.model = {r["record_id"]: r["title"] for r in _notes(4).to_pylist()}

    @rule(title=st.text(max_size=12))
    def insert(self, title):
        row = self.ws.insert("notes", {"title": title})
        self.model[row["record_id"]] = title

    @rule(data=st.data(), title=st.text(max_size=12))
    def update(self, data, title):
        if self.model:
            rid = data.draw(st.sampled_from(sorted(self.model)))
            self.ws.update("notes", rid, {"title": title})
            self.model[rid] = title

    @rule(data=st.data())
    def delete(self, data):
        if self.model:
            rid = data.draw(st.sampled_from(sorted(self.model)))
            self.ws.delete("notes", rid)
            del self.model[rid]

    @rule(data=st.data())
    def rewrite_unchanged(self, data):  # a new version whose content is the same
        if self.model:
            rid = data.draw(st.sampled_from(sorted(self.model)))
            self.ws.update("notes", rid, {"title": self.model[rid]})

    @rule(rid=st.text(max_size=6))
    def bad_update(self, rid):
        if rid not in self.model:
            with pytest.raises(WorkspaceError):
                self.ws.update("notes", rid, {"title": "x"})

    @invariant()
    def matches(self):
        assert {r["record_id"]: r["title"] for r in self.ws.rows("notes")} == self.model
        final = self.ws.final_state()["notes"]
        assert dict(zip(final["record_id"].to_pylist(), final["title"].to_pylist(),
                        strict=True)) == self.model

    @invariant()
    def diff_is_what_the_final_state_shows(self):
        assert self.ws.diff().get("notes", (frozenset(),) * 3) == _diff(
            _notes(4), self.ws.final_state()["notes"])

    @invariant()
    def rows_where_is_a_filter_of_rows(self):
        for title in [*self.model.values(), "note 1", "absent"]:
            assert self.ws.rows_where("notes", "title", title) == [
                r for r in self.ws.rows("notes") if r["title"] == title]


TestWorkspaceMatchesAModel = WorkspaceMatchesAModel.TestCase
TestWorkspaceMatchesAModel.settings = settings(max_examples=30, stateful_step_count=15,
                                               deadline=None)
