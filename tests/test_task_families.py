"""Task families: every shipped one yields verified tasks; bad family files are refused.

The contract test lives worlds for a few personas that between them live every storyline a
shipped task family builds on, and checks each family produced at least one task there
that passed its whole self-check (reference passes, doing nothing fails, alternatives
pass, near misses fail, required services read). The renderer is checked against the
instance it renders: asks fall in their windows and see only what existed then.
"""

from __future__ import annotations

import functools
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from personas.errors import SpecError
from personas.library import load_personas
from scenarios.build import live
from scenarios.environments import EVEN, environments
from scenarios.library import SHIPPED, load_storylines, load_task_families
from scenarios.noise import load_profiles
from scenarios.selfcheck import REASONS
from scenarios.tasks import Ask, plan, reached_at, share_snapshots
from scenarios.values import formatters

STORYLINES = load_storylines()
FAMILIES = load_task_families(storylines=STORYLINES)
# Between them these live every shipped storyline in 100 days (see bench_tasks.py).
WORLDS = [("staff_engineer", 0), ("parent_of_two", 0), ("travelling_sales_rep", 0),
          ("cafe_owner", 1), ("freelance_translator", 0), ("shift_nurse", 0)]


@functools.cache
def lived_environments(persona: str, seed: int):
    lived = live(load_personas()[persona], seed=seed, days=100, families=STORYLINES,
                 noise=load_profiles()["typical"])
    return lived, environments(lived, FAMILIES)


def _world_of(lived) -> tuple[str, int]:
    return next(w for w in WORLDS if lived_environments(*w)[0] is lived)


def all_tasks():
    for persona, seed in WORLDS:
        lived, envs = lived_environments(persona, seed)
        for env in envs.environments:
            for task in env.tasks:
                yield lived, env, task


@pytest.mark.slow
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_family_yields_verified_tasks(family):
    kept = [t for _, _, t in all_tasks() if t.family.id == family]
    assert kept, f"{family}: no task survived its self-check in {WORLDS}"
    for task in kept:
        assert task.near_misses, "a family must show what a near miss looks like"
        # Required services may be none: an answer visible in two apps needs neither.
        assert set(task.services_required) <= set(task.services_touched)
        assert task.services_touched


@pytest.mark.slow
def test_few_candidates_drop_and_only_for_known_reasons():
    dropped, candidates = Counter(), 0
    for persona, seed in WORLDS:
        _, envs = lived_environments(persona, seed)
        dropped.update(envs.dropped)
        candidates += envs.candidates
    assert set(dropped) <= set(REASONS)
    assert sum(dropped.values()) <= 0.1 * candidates, dropped


def test_asks_see_only_what_existed_and_fall_in_their_window():
    lived, envs = lived_environments("staff_engineer", 0)
    assert envs.tasks
    env_at = {env.as_of: env for env in envs.environments}
    for task in envs.tasks:
        # A proactive task belongs to its first (control) heartbeat but is rendered at its
        # first heartbeat inside the window: that is the snapshot it sees.
        env = env_at[task.as_of]
        inst = next(i for i in lived.storylines.instances if i.instance_id == task.instance_id)
        fam = task.family
        assert task.as_of >= reached_at(inst, fam.ask.after)
        closes = [t for t in (reached_at(inst, p) for p in fam.ask.before) if t is not None]
        assert all(task.as_of <= c for c in closes)
        written = {}
        for t, rid, vf, _ in inst.records:
            written.setdefault((t, rid), vf)  # when the record first existed
        for key in task.evidence:
            assert written[key] <= task.as_of
        visible = {name: set(table["record_id"].to_pylist())
                   for name, table in env.tables.items()}
        assert all(rid in visible[table] for table, rid in task.evidence)


@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 5_000)), min_size=1,
                max_size=12))
def test_shared_snapshot_instants_fall_inside_every_window_they_serve(windows):
    lived, _ = lived_environments("staff_engineer", 0)
    inst = lived.storylines.instances[0]
    family = next(iter(FAMILIES.values()))
    asks = [Ask(inst, family.model_copy(update={"id": f"f{i}"}), "simple", low * 60,
                (low + span) * 60 + 60) for i, (low, span) in enumerate(windows)]
    for is_up in (None, lived.life.is_up):
        groups = share_snapshots(asks, is_up)
        served = [a for _, group in groups for a in group]
        assert sorted(a.family.id for a in served) == sorted(a.family.id for a in asks)
        for at, group in groups:
            assert all(a.low <= at <= a.high for a in group)
            if is_up is not None:  # the user asks while up, whenever the window allows
                low, high = max(a.low for a in group), min(a.high for a in group)
                minutes = np.arange(-(-low // 60), high // 60 + 1) * 60
                assert is_up(np.array([at]))[0] or not is_up(minutes).any()


def test_the_user_asks_in_waking_hours():
    """A reactive ask falls in the person's waking hours (the night-shift nurse's too)
    unless its whole window lies while they sleep."""
    for persona, seed in WORLDS:
        lived, envs = lived_environments(persona, seed)
        asks = {(a.instance.instance_id, a.family.id): a
                for a in plan(lived.storylines, FAMILIES, EVEN)}
        for task in (t for env in envs.environments for t in env.tasks if not t.episodes):
            ask = asks[task.instance_id, task.family.id]
            window = np.arange(-(-ask.low // 60), ask.high // 60 + 1) * 60
            up = lived.life.is_up
            assert up(np.array([task.as_of]))[0] or not up(window).any(), (persona, task.family.id)


BAD_FAMILIES = [
    ("unknown key", {"colour": '"red"'}, "colour", "unknown key"),
    ("unknown storyline", {"storyline": '"no_such_story"'}, "storyline", "no storyline"),
    ("evidence not a step", {"evidence": '["nope"]'}, "evidence[0]", "no step"),
    ("ask after a point the storyline lacks",
     {"ask": '{ after = "nope", before = ["deadline"] }'}, "ask.after", "no milestone or"),
    ("ask before a step that writes nothing",
     {"ask": '{ after = "started", before = ["deadline", "invite_time"] }'}, "ask.before[1]",
     "no milestone or"),
    ("bad tool name", None, "reference[0].tool", "not a tool name"),
    ("expression outside the grammar", {"when": '"__import__(1)"'}, "when", ""),
]


@pytest.mark.parametrize(("case", "change", "key", "why"), BAD_FAMILIES,
                         ids=[c[0] for c in BAD_FAMILIES])
def test_bad_family_files_name_file_and_key(case, change, key, why, tmp_path):
    text = (SHIPPED / "tasks" / "meeting_current_time.toml").read_text()
    if change is None:
        text = text.replace('tool = "work_email_search"', 'tool = "work email search!"')
    else:
        for name, value in change.items():
            lines = [ln for ln in text.splitlines() if not ln.startswith(f"{name} =")]
            lines.insert(1, f"{name} = {value}")
            text = "\n".join(lines) + "\n"
    (tmp_path / "tasks").mkdir()
    path = tmp_path / "tasks" / "meeting_current_time_copy.toml"
    path.write_text(text.replace('id = "meeting_current_time"',
                                 'id = "meeting_current_time_copy"'))
    with pytest.raises(SpecError) as exc:
        load_task_families(Path(tmp_path), STORYLINES)
    assert exc.value.where == f"{path}:{key}" or exc.value.where.startswith(f"{path}:{key}")
    assert why in exc.value.why



@pytest.mark.slow
def test_predicate_evaluator_on_files_agrees_with_the_grader_on_every_task(tmp_path):
    """For every verified task: the reference's and doing nothing's final states, written
    as Parquet and judged by the portable evaluator alone, get the grader's verdicts."""
    import pyarrow.parquet as pq

    from scenarios import predicates
    from scenarios.environments import user_of
    from scenarios.selfcheck import Snapshot, run
    from scenarios.tasks import Solution

    def write(tables, directory: Path) -> Path:
        directory.mkdir(parents=True)
        for name, table in tables.items():
            pq.write_table(table, directory / f"{name}.parquet")
        return directory

    families = set()
    for n, (lived, _env, task) in enumerate(all_tasks()):
        families.add(task.family.id)
        formats = formatters(lived.life)
        at = {e.as_of: e for e in lived_environments(*_world_of(lived))[1].environments}
        snaps = [Snapshot(at[t].tables, at[t].as_of_us, sorted(lived.world.services),
                          user_of(lived), formats["money"], formats["date_text"],
                          lived.world.clock.tz_name)
                 for t in task.instants]
        # The reference acts in one episode (the only one of a reactive task); the
        # predicates are judged on that episode's files.
        acting = snaps[task.reference.episode]
        initial = write(acting.tables, tmp_path / f"{n}" / "initial")
        documents = [("required effects", task.oracle.required)]
        documents += [(f"forbidden effect {i}", d) for i, d in enumerate(task.oracle.forbidden)]
        nothing = Solution("nothing", (), "", task.reference.episode)
        for k, solution in enumerate((task.reference, nothing)):
            box = acting.replay(task, solution)
            final = write(box.workspace.final_state(), tmp_path / f"{n}" / f"final{k}")
            verdicts = {c.name.split(": ", 1)[-1]: c.passed
                        for c in run(task, solution, snaps)[0].checks}
            for name, document in documents:
                if document is None:
                    continue
                holds = predicates.evaluate(document, final, initial).passed
                # Proactive grades list a forbidden effect only when it holds.
                expected = (verdicts[name] if name == "required effects"
                            else not verdicts.get(name, True))
                assert holds == expected, (task.key, solution.description, name)
    assert families == set(FAMILIES)


@pytest.mark.slow
def test_harder_tasks_meet_more_of_their_evidence_s_look_alikes():
    # Within a family: a harder task is asked later in its window, so more of its
    # evidence's look-alikes (some land days after the record) are there when it is asked.
    # Counted among every look-alike made (a task is the same task at every noise ratio;
    # a quieter world keeps a subset) and measured against the family's other tasks.
    tasks = []
    for lived, _, task in all_tasks():
        seen = sum(d.instance_id == task.instance_id and d.role in task.family.evidence
                   and d.valid_from <= task.as_of for d in lived.storylines.lookalikes.made)
        tasks.append((task.family.id, task.difficulty, seen))
    of_family: dict[str, list[int]] = {}
    for family, _, seen in tasks:
        of_family.setdefault(family, []).append(seen)
    relative: dict[str, list[float]] = {d: [] for d in ("simple", "medium", "hard")}
    for family, difficulty, seen in tasks:
        relative[difficulty].append(seen - sum(of_family[family]) / len(of_family[family]))
    means = {d: sum(v) / len(v) for d, v in relative.items()}
    # Simple and medium asks both fall early enough that few look-alikes have landed yet.
    assert max(means["simple"], means["medium"]) < means["hard"], means


def test_difficulty_is_dealt_within_families_not_to_whole_families():
    # Whether a family's steps have look-alikes at all is the family's nature; ranked
    # globally by them, a family without any was always dealt *simple* and per-difficulty
    # results compared families, not difficulties.
    from scenarios.tasks import deal_difficulty

    levels: dict[str, Counter] = {}
    for persona, seed in WORLDS:
        lived = live(load_personas()[persona], seed=seed, days=100, families=STORYLINES,
                     noise=load_profiles()["typical"])
        candidates = [(inst, fam) for inst in lived.storylines.instances if not inst.aborted
                      for fam in FAMILIES.values() if fam.storyline == inst.spec.id]
        mix = {"simple": 1, "medium": 1, "hard": 1}
        for (_, fam), level in zip(candidates, deal_difficulty(lived.storylines, candidates,
                                                                 mix), strict=True):
            levels.setdefault(fam.id, Counter())[level] += 1
    top = {f: max(c.values()) / c.total() for f, c in levels.items() if c.total() >= 6}
    assert len(top) >= 10, top
    assert max(top.values()) < 1.0, top  # no family dealt one level throughout
    assert sum(top.values()) / len(top) <= 0.6, top  # about half for draws with n near 8


def _dealt(alike: dict[str, bool], services: dict[str, int]) -> dict[str, Counter]:
    """Levels dealt (mix 1:1:1) to 200 instances of each family in ``services`` (family ->
    how many services its evidence spans); ``alike[family]``: whether the even-numbered
    instances' evidence has a highly alike look-alike."""
    from types import SimpleNamespace as Fake

    from scenarios.tasks import deal_difficulty
    from sim.rng import RngTree

    tables = ["sms_messages", "calendar_events", "notes", "todos", "bank_transactions"]
    candidates, made = [], []
    for family, n_services in services.items():
        steps = [Fake(id=f"e{k}", table=t) for k, t in enumerate(tables[:n_services])]
        fam = Fake(id=family, evidence=[s.id for s in steps])
        for i in range(200):
            inst = Fake(instance_id=f"{family}-{i}", spec=Fake(steps=steps))
            candidates.append((inst, fam))
            if alike.get(family) and i % 2 == 0:
                made.append(Fake(instance_id=inst.instance_id, role="e0", similarity="high"))
    runner = Fake(lookalikes=Fake(made=made), world=Fake(rng=RngTree(7)))
    levels = deal_difficulty(runner, candidates, {"simple": 1, "medium": 1, "hard": 1})
    out: dict[str, Counter] = {}
    for (inst, fam), level in zip(candidates, levels, strict=True):
        has = alike.get(fam.id) and int(inst.instance_id.rsplit("-", 1)[1]) % 2 == 0
        out.setdefault(f"{fam.id}{'+alike' if has else ''}", Counter())[level] += 1
    return out


def test_within_a_family_more_alike_evidence_look_alikes_deal_harder():
    levels = _dealt({"f": True}, {"f": 2})
    assert levels["f+alike"]["hard"] > 2 * levels["f"]["hard"], levels
    assert levels["f"]["simple"] > 2 * levels["f+alike"]["simple"], levels


def test_evidence_over_more_services_leans_hard_and_still_meets_every_level():
    levels = _dealt({}, {"two": 2, "five": 5})
    assert levels["five"]["hard"] > 1.5 * levels["two"]["hard"], levels
    assert all(c[level] >= 20 for c in levels.values() for level in ("simple", "medium",
                                                                      "hard")), levels


def test_difficulty_keeps_the_recipe_s_proportions():
    from scenarios.tasks import deal_difficulty

    lived, _ = lived_environments("staff_engineer", 0)
    candidates = [(inst, fam) for inst in lived.storylines.instances for fam in
                  FAMILIES.values() if fam.storyline == inst.spec.id]
    for mix in ({"simple": 1, "medium": 1, "hard": 1}, {"simple": 0, "medium": 1, "hard": 3}):
        levels = Counter(deal_difficulty(lived.storylines, candidates, mix))
        total = sum(mix.values())
        for level, weight in mix.items():
            assert abs(levels[level] - len(candidates) * weight / total) <= 1, (mix, levels)
