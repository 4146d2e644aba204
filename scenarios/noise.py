"""Noise profiles and the noise-to-signal knob.

*Signal* is what storylines write. Everything else (routine life) is non-signal, and the
ratio is non-signal words over signal words. Worlds are generated once per profile, then
thinned to a target ratio by keeping or dropping whole causal cascades (``sim.cascades``):
every routine cascade has a stable number ``u`` and is kept when ``u`` is below its
service's keep fraction. Lowering the target lowers the fractions, so a lower-ratio world is
a subset of a higher one, and the signal is the same at every ratio.

Kept whatever the target: storyline chains (and what they cause) and the tables that hold
state rather than messages (accounts, recurring bills, the catalogue, subscriptions,
contacts, channels, watches).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from personas.errors import SpecError
from sim.cascades import cascade_roots, stable_uniform
from sim.measure import word_counts
from sim.services import CATALOGUE, TABLES
from sim.world import World

STATE_TABLES = frozenset({"bank_accounts", "bank_recurring", "shop_products", "subscriptions",
                          "contacts", "chat_channels", "price_watches"})


class NoiseProfile(BaseModel):
    """How much happens around the storylines, and how loudly."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    description: str
    ratio: Annotated[float, Field(ge=0.0, le=1000.0)] | None = None  # None: no thinning
    storylines_per_30_days: Annotated[float, Field(ge=0.0, le=60.0)]
    volume: Annotated[float, Field(gt=0.0, le=5.0)] = 1.0  # routine volume before thinning
    service_weights: dict[str, Annotated[float, Field(gt=0.0)]] = Field(default_factory=dict)

    @field_validator("service_weights")
    @classmethod
    def _known(cls, v: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(v) - set(CATALOGUE))
        if unknown:
            raise ValueError(f"unknown service {unknown[0]!r}")
        return v

    def storylines_for(self, days: int) -> int:
        return int(round(self.storylines_per_30_days * days / 30))


SHIPPED = Path(str(resources.files("scenarios") / "library" / "noise"))


def load_profile(path: Path) -> NoiseProfile:
    try:
        with open(path, "rb") as fh:
            return NoiseProfile.model_validate(tomllib.load(fh))
    except FileNotFoundError:
        raise SpecError(str(path), "no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(str(path), f"malformed TOML: {exc}") from None
    except ValidationError as exc:
        raise SpecError.from_validation(path, exc) from None


def load_profiles(library: Path | None = None) -> dict[str, NoiseProfile]:
    files = sorted(SHIPPED.glob("*.toml"))
    if library is not None and (library / "noise").is_dir():
        files += sorted((library / "noise").glob("*.toml"))
    out: dict[str, NoiseProfile] = {}
    for path in files:
        profile = load_profile(path)
        out[profile.id] = profile
    return out


@dataclass(frozen=True)
class Thinning:
    """What to keep, and the ratio it achieves."""

    keep_events: np.ndarray  # sorted event ids
    target: float | None
    achieved_words: float
    achieved_events: float
    by_service: dict[str, dict[str, float]]  # service -> signal/noise words, ratio


def thin(world: World, signal_events: set[str], *, target: float | None,
         weights: dict[str, float] | None = None) -> Thinning:
    """Choose the cascades to keep so non-signal words are ``target`` times signal words."""
    ids, causes, services, tables, ts = world.log.columns(
        "event_id", "cause_event_id", "service", "table", "ts")
    ts = ts.astype(np.int64)
    inside = ts < world.clock.end_seconds
    words = _words_by_event(world, ids)
    roots = cascade_roots(ids, causes)
    is_signal = np.isin(ids, list(signal_events))
    story_root = np.zeros(len(ids), bool)
    story_root[roots[is_signal]] = True
    protected = story_root[roots] | np.isin(tables, list(STATE_TABLES)) | ~inside
    u = np.ones(len(ids))
    free_roots = np.unique(roots[~protected])
    u[free_roots] = stable_uniform(ids[free_roots], "thinning")
    root_u = u[roots]
    root_service = services[roots]
    sig_words = _by_service(services, words, is_signal & inside)
    fixed = _by_service(services, words, protected & ~is_signal & inside)
    free = ~protected
    names = sorted(set(services.tolist()))
    if target is None:
        keep = np.ones(len(ids), bool)
    else:
        fraction = _solve(target, names, services, words, free, root_service, root_u,
                          sig_words, fixed, weights or {})
        keep = protected | (free & (root_u < np.vectorize(fraction.get)(root_service)))
    kept_noise = _by_service(services, words, keep & ~is_signal & inside)
    total_signal = sum(sig_words.values())
    total_noise = sum(kept_noise.values())
    n_signal = int((is_signal & inside).sum())
    n_noise = int((keep & ~is_signal & inside).sum())
    by_service = {s: {"signal_words": sig_words.get(s, 0), "noise_words": kept_noise.get(s, 0),
                      "ratio": kept_noise.get(s, 0) / sig_words[s] if sig_words.get(s) else None}
                  for s in names}
    return Thinning(
        keep_events=np.sort(ids[keep].astype(str)),
        target=target,
        achieved_words=total_noise / total_signal if total_signal else float("inf"),
        achieved_events=n_noise / n_signal if n_signal else float("inf"),
        by_service=by_service,
    )


def _words_by_event(world: World, ids: np.ndarray) -> np.ndarray:
    """Readable words of the record version each event wrote."""
    counts: dict[str, int] = {}
    for name, history in world.history.items():
        if not len(history) or not TABLES[name].text_columns:
            continue
        total = np.zeros(len(history), np.int64)
        for col in TABLES[name].text_columns:
            total += word_counts(history.text(col))
        counts.update(zip(history.event_ids().tolist(), total.tolist(), strict=True))
    return np.array([counts.get(e, 0) for e in ids.tolist()], dtype=np.int64)


def _by_service(services: np.ndarray, words: np.ndarray, mask: np.ndarray) -> dict[str, int]:
    out: dict[str, int] = {}
    for s in np.unique(services[mask]):
        out[str(s)] = int(words[mask & (services == s)].sum())
    return out


def _solve(target, names, services, words, free, root_service, root_u, sig_words, fixed,
           weights) -> dict[str, float]:
    """Keep fractions per root service, found by a few rounds of proportional fitting.

    Services that carry signal aim at ``target`` times their own signal; the others share
    what the overall target leaves, in proportion to their weight and volume.
    """
    total_signal = sum(sig_words.values())
    available = {s: int(words[free & (services == s)].sum()) for s in names}
    goal: dict[str, float] = {}
    for s in names:
        if sig_words.get(s):
            # A service cannot show more than it has; what it lacks goes to the others.
            goal[s] = min(target * sig_words[s], fixed.get(s, 0) + available[s])
    rest = max(0.0, target * total_signal - sum(goal.values()))
    others = [s for s in names if s not in goal]
    mass = {s: weights.get(s, 1.0) * available[s] for s in others}
    total_mass = sum(mass.values())
    for s in others:
        goal[s] = fixed.get(s, 0) + (rest * mass[s] / total_mass if total_mass else 0.0)
    own_total = {s: int(words[free & (services == s) & (root_service == s)].sum())
                 for s in names}
    fraction = dict.fromkeys(names, 1.0)
    for _ in range(25):
        keep = free & (root_u < np.vectorize(fraction.get)(root_service))
        for s in names:
            if not own_total[s]:
                continue
            here = keep & (services == s)
            from_others = int(words[here & (root_service != s)].sum())
            want = goal[s] - fixed.get(s, 0) - from_others
            fraction[s] = float(np.clip(want / own_total[s], 0.0, 1.0))
    return fraction
