import datetime as dt

import numpy as np

from sim.clock import Clock
from sim.history import TableHistory
from sim.services import TABLES


def test_versions_and_valid_to_are_derived_from_append_order_and_time():
    clock = Clock("Europe/London", dt.date(2026, 1, 5), 10)
    h = TableHistory(TABLES["todos"], clock)
    h.append(["td_a", "td_b"], np.array([100, 200]), {"title": ["A", "B"], "status": "open"})
    h.append(["td_a"], np.array([500]), {"title": ["A"], "status": "done"})
    h.append(["td_c"], np.array([10 * 86_400 + 5]), {"title": ["late"], "status": "open"})
    t = h.to_arrow(until=clock.end_seconds).to_pylist()
    by = {(r["record_id"], r["version"]): r for r in t}
    assert set(by) == {("td_a", 1), ("td_a", 2), ("td_b", 1)}  # td_c starts after the window
    assert by[("td_a", 1)]["valid_to"] == by[("td_a", 2)]["valid_from"]
    assert by[("td_a", 2)]["valid_to"] is None
    assert by[("td_b", 1)]["valid_to"] is None
    assert by[("td_a", 2)]["status"] == "done"
    assert by[("td_a", 1)]["valid_from"] == clock.instant(100)
    assert h.versions_before(300)[0].tolist() == ["td_a", "td_b"]


def test_words_count_every_text_column_and_follow_appends():
    clock = Clock("Europe/London", dt.date(2026, 1, 5), 10)
    h = TableHistory(TABLES["notes"], clock)
    h.append(["nt_a"], np.array([100]), {"title": ["Two words"], "body": ["and three more"]})
    assert h.words().tolist() == [5]
    h.append(["nt_a", "nt_b"], np.array([200, 300]),
             {"title": ["Two words", "One"], "body": ["now four words here", None]})
    assert h.words().tolist() == [5, 6, 1]
