"""Aggregating graded runs: pass rates and scores by task attributes, Pass@k and Pass^k.

Pure functions over rows a grader produced (``exporters.runs.grade_runs`` rows, or any dict
with ``task_id``, ``trial``, ``passed``, ``score`` and ``claw_score``) and a dataset's
tasks table; nothing is read or printed here.

**Trials.** A task graded ``n`` times with ``c`` passes gives, for every ``k <= n``:

- ``pass_at_k_indicator``: 1 if any of the task's first ``k`` trials (by ``trial``
  number) passed. This is what one observes when an agent gets ``k`` tries.
- ``pass_at_k_estimator``: ``1 - C(n-c, k) / C(n, k)``, the unbiased estimator of the
  chance that at least one of ``k`` trials passes (Chen et al. 2021, "Evaluating Large
  Language Models Trained on Code", arXiv:2107.03374), as Claw-Anything and code
  benchmarks report it.
- ``pass_hat_k_indicator``: 1 if all of the first ``k`` trials passed.
- ``pass_hat_k_power``: ``(c / n) ** k``, the plug-in estimate of the chance that ``k``
  independent trials all pass; the form issue 5 asks for.
- ``pass_hat_k_unbiased``: ``C(c, k) / C(n, k)``, the unbiased estimator tau-bench
  defines as pass^k (Yao et al. 2024, "tau-bench", arXiv:2406.12045, section 5). It and
  ``pass_hat_k_power`` agree at ``k = 1`` and when ``c`` is 0 or ``n``; with few trials the
  power form is biased upward, so compare with tau-bench's tables through ``_unbiased``.

Each is averaged over the tasks that have at least ``k`` trials (``tasks`` in the same
entry); with the same number of trials for every task all five are non-increasing (pass^k)
or non-decreasing (pass@k) in ``k``, pass^k <= pass@k, and at ``k = 1`` both estimators
equal the run pass rate.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from math import comb
from typing import Any

import polars as pl

BREAKDOWNS = ("mode", "category", "difficulty", "split")
REQUIRED = ("task_id", "passed", "score", "claw_score")


def aggregate(results: Iterable[Mapping[str, Any]], tasks: pl.DataFrame, *,
              by: Sequence[str] = BREAKDOWNS) -> dict[str, Any]:
    """Aggregates of graded runs, overall and per value of each column in ``by``.

    ``results`` are per-run rows (``trial`` defaults to 0); ``tasks`` holds ``task_id``
    and the ``by`` columns. Returns ``{"overall": stats, "by": {column: {value: stats}}}``
    where ``stats`` is :func:`summarise`'s; values are strings (``None`` becomes
    ``"none"``) and every mapping has sorted keys. A run of a task not in ``tasks``, or a
    row missing a required key, raises ``ValueError``.
    """
    rows = [dict(r) for r in results]
    for i, row in enumerate(rows):
        missing = [k for k in REQUIRED if k not in row]
        if missing:
            raise ValueError(f"results[{i}]: missing key {missing[0]!r}")
    missing_columns = [c for c in ("task_id", *by) if c not in tasks.columns]
    if missing_columns:
        raise ValueError(f"tasks: no column {missing_columns[0]!r}")
    attributes = {r["task_id"]: r for r in tasks.select("task_id", *by).to_dicts()}
    unknown = sorted({r["task_id"] for r in rows} - set(attributes))
    if unknown:
        raise ValueError(f"results: task {unknown[0]!r} is not in the tasks table")
    breakdowns: dict[str, dict[str, Any]] = {}
    for column in sorted(by):
        groups: dict[str, list[dict]] = defaultdict(list)
        for row in rows:
            groups[_key(attributes[row["task_id"]][column])].append(row)
        breakdowns[column] = {value: summarise(groups[value]) for value in sorted(groups)}
    return {"by": breakdowns, "overall": summarise(rows)}


def summarise(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Counts, rates and mean scores of some runs, and their Pass@k / Pass^k by trials
    (a list, one entry per ``k`` from 1 to the most trials any task has). Rates of no runs
    are ``None``."""
    n = len(rows)
    trials: dict[str, list[tuple[int, int, bool]]] = defaultdict(list)
    for i, row in enumerate(rows):  # ties in trial number keep the order given
        trials[row["task_id"]].append((int(row.get("trial", 0)), i, bool(row["passed"])))
    outcomes = [[passed for _, _, passed in sorted(t)] for _, t in sorted(trials.items())]
    passed = sum(bool(r["passed"]) for r in rows)
    return {
        "max_trials": max((len(o) for o in outcomes), default=0),
        "mean_claw_score": _mean([float(r["claw_score"]) for r in rows]),
        "mean_score": _mean([float(r["score"]) for r in rows]),
        "pass_k": pass_k(outcomes),
        "pass_rate": passed / n if n else None,
        "passed": passed,
        "runs": n,
        "tasks": len(outcomes),
    }


def pass_k(outcomes: Sequence[Sequence[bool]]) -> list[dict[str, Any]]:
    """Pass@k and Pass^k for ``k = 1..max trials`` from each task's outcomes in trial order
    (see the module docstring for the five forms)."""
    top = max((len(o) for o in outcomes), default=0)
    out = []
    for k in range(1, top + 1):
        eligible = [o for o in outcomes if len(o) >= k]
        forms: dict[str, list[float]] = defaultdict(list)
        for o in eligible:
            n, c = len(o), sum(o)
            forms["pass_at_k_indicator"].append(float(any(o[:k])))
            forms["pass_at_k_estimator"].append(1 - comb(n - c, k) / comb(n, k))
            forms["pass_hat_k_indicator"].append(float(all(o[:k])))
            forms["pass_hat_k_power"].append((c / n) ** k)
            forms["pass_hat_k_unbiased"].append(comb(c, k) / comb(n, k))
        entry = {"k": k, "tasks": len(eligible), **{f: _mean(v) for f, v in forms.items()}}
        out.append(dict(sorted(entry.items())))
    return out


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _key(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a noise ratio of 64.0 reads as "64"
    return str(value)
