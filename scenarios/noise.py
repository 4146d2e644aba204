"""Noise profiles and the noise-to-signal knob.

*Signal* is what storylines write. Everything else (routine life) is non-signal, and the
ratio is non-signal words over signal words. Worlds are generated once per profile, then
thinned to a target ratio by keeping or dropping whole causal cascades (``sim.cascades``):
every routine cascade has a stable number ``u`` and is kept when ``u`` is below its
service's keep fraction. Lowering the target lowers the fractions, so a lower-ratio world is
a subset of a higher one, and the signal is the same at every ratio.

Look-alikes are noise and thin like it (``scenarios.distractors``). Kept whatever the
target: storyline chains (and what they cause) and the tables that hold state rather than
messages (accounts, the catalogue, subscriptions, contacts, channels), unless a routine
event caused the change (a deal's reprice goes with its deal). Some state thins
after all, since otherwise it alone put its service over low targets: the bank's own
money moves thin a whole series at a time (a recurring entry with every payment of it, a
card payoff with both rows; ``scenarios.units``), a routine price watch follows the
tracker's cascades about its product (``scenarios.units``), and a catalogue listing or a chat
channel follows the cascades that refer to it, or thins as its own cascade when none does
(``scenarios.catalogue``). A thinned order takes its card charge with it; ``rebalance``
then re-settles running balances and card payoffs over what remains.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Annotated

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from personas.errors import load_by_id, load_spec
from personas.life import TOP_UPS
from scenarios.catalogue import FOLLOWED_TABLES, dependent_listings
from scenarios.keep_path import fit_ladder, group_cascades, walk
from scenarios.units import bank_series, watch_followers
from sim.cascades import cascade_roots, stable_uniform
from sim.services import CATALOGUE, TABLES
from sim.world import World

STATE_TABLES = frozenset({"bank_accounts", "bank_recurring", "shop_products", "subscriptions",
                          "contacts", "chat_channels", "price_watches"})


Share = Annotated[float, Field(ge=0.0, le=1.0)]


class SimilarityMix(BaseModel):
    """How look-alikes are spread over similarity levels (weights; see
    ``scenarios.distractors`` for what each level means)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    high: Annotated[float, Field(ge=0.0)] = 1.0
    medium: Annotated[float, Field(ge=0.0)] = 1.0
    low: Annotated[float, Field(ge=0.0)] = 1.0

    @model_validator(mode="after")
    def _some(self) -> SimilarityMix:
        if self.high + self.medium + self.low <= 0:
            raise ValueError("at least one similarity weight must be positive")
        return self


class NoiseProfile(BaseModel):
    """How much happens around the storylines, and how loudly."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    description: str
    ratio: Annotated[float, Field(ge=0.0, le=1000.0)] | None = None  # None: no thinning
    storylines_per_30_days: Annotated[float, Field(ge=0.0, le=60.0)]
    volume: Annotated[float, Field(gt=0.0, le=5.0)] = 1.0  # routine volume before thinning
    burstiness: Annotated[float, Field(ge=0.0, le=5.0)] = 0.0  # 0 = steady; see Life
    service_weights: dict[str, Annotated[float, Field(gt=0.0)]] = Field(default_factory=dict)
    distractors_per_signal: Annotated[float, Field(ge=0.0, le=10.0)] = 0.0
    distractor_similarity: SimilarityMix = Field(default_factory=SimilarityMix)
    conflict_rate: Share = 0.0  # chance that an instance takes its optional conflicts

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
    return load_spec(path, NoiseProfile)


def load_profiles(library: Path | None = None) -> dict[str, NoiseProfile]:
    files = sorted(SHIPPED.glob("*.toml"))
    if library is not None and (library / "noise").is_dir():
        files += sorted((library / "noise").glob("*.toml"))
    return load_by_id(files, load_profile, "noise profile")


@dataclass(frozen=True)
class Thinning:
    """What to keep, and the ratio it achieves."""

    keep_events: frozenset[str]  # the event ids whose writes are kept
    target: float | None
    achieved_words: float
    achieved_events: float
    by_service: dict[str, dict[str, float]]  # service -> signal/noise words, ratio
    floor: float  # the lowest ratio reachable: what thinning may not drop, over signal
    # Per service that carries signal, the same floor: below it the service cannot meet its
    # own ratio (what storylines cause, chat channels, listings a storyline holds),
    # whatever thinning does.
    service_floors: dict[str, float] = field(default_factory=dict)

    @property
    def service_floor(self) -> float:
        """The lowest target at which every service that carries signal can meet it."""
        return max(self.service_floors.values(), default=0.0)

    @property
    def floors_over_target(self) -> dict[str, float]:
        """Services whose never-thinned words alone exceed the target: reported, not
        refused (see the README on noise profiles), since the world total still meets it."""
        if self.target is None:
            return {}
        return {s: f for s, f in self.service_floors.items() if f > self.target}


def thin(world: World, signal_events: set[str], *, target: float | None,
         weights: dict[str, float] | None = None, aim: float | None = None) -> Thinning:
    """Choose the cascades to keep so non-signal words are ``target`` times signal words.

    Each service's share of the noise is fitted on a ladder of targets up to ``aim`` (the
    highest target this world serves; default ``target``), per class of cascade
    (``scenarios.keep_path``); every target walks the same ladder until the total meets it.
    Class fractions only rise along the ladder, so a lower-ratio world is a subset of a
    higher one.

    Storyline chains and state tables (but bank series, routine watches and listings, see
    the module docstring) are never thinned: they set the floor, the lowest ratio this
    world can reach.
    """
    ev = _events(world, signal_events)
    ids, tables, code, names = ev.ids, ev.tables, ev.code, ev.names
    words, inside, is_signal = ev.words, ev.inside, ev.is_signal
    # Money the bank moves on its own thins a whole series at a time (scenarios.units):
    # a recurring entry with every payment of it, a card payoff with both its rows.
    unit, grouped = bank_series(world, ids, ev.roots, ev.kinds)
    roots = unit[ev.roots]
    grouped = grouped[roots]
    story_root = np.zeros(len(ids), bool)
    story_root[roots[is_signal]] = True
    # Anything else the bank started stays (none is expected): card spending may go (with
    # its alert text); rebalance re-settles the payoffs and balances over what remains.
    bank_root = ((tables[ev.roots] == "bank_transactions")
                 & (ev.kinds[ev.roots] != "card_charged") & ~grouped)
    # State (the catalogue, the watches) stays, and so does whatever it caused; a state
    # version caused by a routine event (a deal's reprice) goes with that event's cascade.
    held = story_root[roots] | bank_root | ~inside
    protected = held | (ev.state[roots] & ~grouped)
    # Routine watches follow the tracker's cascades about their product (scenarios.units),
    # and catalogue listings the cascades that refer to them (scenarios.catalogue).
    watch_unit, watch_pairs = watch_followers(world, ids, roots, held, protected)
    protected &= watch_unit < 0
    follow_unit, follow_pairs = watch_unit, watch_pairs
    n_follow = int(watch_unit.max(initial=-1)) + 1
    orphan_root = np.full(len(ids), -1, np.int64)
    for table in FOLLOWED_TABLES:
        listings = dependent_listings(world, ids, roots, ev.state, protected, inside, table)
        follow_unit = np.where(listings.unit >= 0, listings.unit + n_follow, follow_unit)
        follow_pairs = np.concatenate([follow_pairs, listings.pairs + np.array([n_follow, 0])])
        n_follow += listings.n_units
        if listings.orphan_root is not None:
            orphan_root = np.where(listings.orphan_root >= 0, listings.orphan_root, orphan_root)
    follows = follow_unit >= 0
    protected &= ~follows
    orphan = orphan_root >= 0
    roots = np.where(orphan, orphan_root, roots)
    protected &= ~orphan | ~inside
    free = ~protected & ~follows
    u = np.ones(len(ids))
    free_roots = np.unique(roots[free])
    u[free_roots] = stable_uniform(ids[free_roots], "thinning")
    per_service = ev.per_service
    sig_words = per_service(is_signal & inside)
    fixed = per_service(protected & ~is_signal & inside)  # words no target can drop
    if target is None:
        keep = np.ones(len(ids), bool)
    else:
        follow_words = np.zeros((n_follow, len(names)))
        np.add.at(follow_words, (follow_unit[follows], code[follows]),
                  (words * inside)[follows])
        # Bank series are classes of their own that the ladder keeps whole wherever they
        # fit (keep_path): pay and rent are what a statement is made of.
        cascades = group_cascades(roots, code, words, free, u[roots], len(names),
                                  follow_words, follow_pairs, whole=grouped)
        ladder, cascades = fit_ladder(
            cascades, sig_words, fixed, np.array([(weights or {}).get(n, 1.0) for n in names]),
            max(target, aim or target))
        fraction = walk(ladder, cascades, target * sig_words.sum() - fixed.sum())
        chosen = cascades.kept(fraction)
        keep = protected | (free & chosen[np.maximum(cascades.of_event, 0)])
        keep |= follows & cascades.followers_kept(chosen)[np.maximum(follow_unit, 0)]
    noise = per_service(keep & ~is_signal & inside)
    total_signal, total_noise = sig_words.sum(), noise.sum()
    n_signal = int((is_signal & inside).sum())
    n_noise = int((keep & ~is_signal & inside).sum())
    by_service = {str(n): {"signal_words": int(sig_words[i]), "noise_words": int(noise[i]),
                           "ratio": float(noise[i] / sig_words[i]) if sig_words[i] else None}
                  for i, n in enumerate(names)}
    return Thinning(
        keep_events=frozenset(ids[keep].tolist()),
        target=target,
        achieved_words=float(total_noise / total_signal) if total_signal else float("inf"),
        achieved_events=n_noise / n_signal if n_signal else float("inf"),
        by_service=by_service,
        floor=float(fixed.sum() / sig_words.sum()) if sig_words.sum() else float("inf"),
        service_floors={str(n): round(float(fixed[i] / sig_words[i]), 3)
                        for i, n in enumerate(names) if sig_words[i]},
    )


# The routine rates that put words into each service (``VolumeSpec`` names, plus "drafts"
# and "price_deals", which the device and commerce routines read from ``Life.boost``). A
# service short of routine life is expanded by raising them; the surplus is thinned away
# again down to the target. The price tracker is expanded with deals on the products
# already watched, not with more watches: watches are state and never thin, so more of
# them would raise the floor for every lower target.
#
# Some services are expanded by what their app adds rather than by more of the person's
# own doing (``TOP_UPS``): a hundred words per word of a storyline's trip, order or parcel
# would be weekly flights and several orders a day. So travel gets fare alerts on watched
# routes, shopping the products the user looks at, deliveries parcels other people send.
SERVICE_RATES = {
    "bank": ("card_purchases",), "calendar": ("meetings", "personal_events"),
    "calls": ("calls",), "chat": ("chat",), "deliveries": ("parcel_words",),
    "notes": ("notes",), "device_activity": ("drafts",), "price_tracker": ("price_deals",),
    "personal_email": ("personal_email", "newsletters", "promotions"),
    "shopping": ("browsing_words",), "sms": ("sms",), "social": ("feed",),
    "todos": ("todos",), "travel": ("fare_alert_words",), "work_email": ("work_email",),
}
# A top-up is not a multiplier but words a day to add (the routine turns them into items
# by their usual length): what an app adds does not grow with what the person does, so a
# monthly traveller and a weekly one need the same fare alerts to reach the same words.
# Each (``personas.life.TOP_UPS``) has a ceiling, as rates have ``MAX_BOOST``.
TOP_UP_CEILINGS = {"fare_alert_words": 100.0, "browsing_words": 150.0, "parcel_words": 250.0}
FIXED_VOLUME = frozenset({"price_tracker"})  # services whose routine words ignore volume
MAX_BOOST = 25.0  # beyond this a person's life stops looking like one
HEADROOM = 1.5  # generate a little more than the target needs: thinning is not exact
# A service may miss its own ratio by a quarter: one whose routine life, kept whole, falls
# more than a fifth short of its goal is expanded again (``reexpansion``).
SHORT = 0.8


def expansion(world: World, signal_events: set[str], *, target: float,
              volume_share: float = 1.0, headroom: float = HEADROOM) -> dict[str, float]:
    """Rate multipliers (words a day for ``TOP_UPS``) that give every service carrying
    signal enough routine words to reach ``target`` times its signal words, times
    ``headroom`` (empty when all have enough).

    ``world`` may be a measuring run at ``volume_share`` of the real volume: routine words
    scale with volume, the storylines' do not.
    """
    ev = _events(world, signal_events)
    # State (the catalogue, the watches) neither grows with volume nor thins away.
    inside = ev.inside & ~ev.state
    routine = ~ev.is_signal & inside
    signal = ev.per_service(ev.is_signal & inside)
    # Routine words grow with volume, except the price tracker's: it looks at each watched
    # product once a day, however busy the person is.
    per_volume = np.where(np.isin(ev.names, sorted(FIXED_VOLUME)), 1.0, volume_share)
    # Words in cascades rooted in another service (a draft replying to a mail, a parcel's
    # scans) count in full: thinning fits a keep fraction per class of cascade, so it can
    # keep the cascades that reach a short service more often than the rest.
    usable = ev.per_service(routine) / per_volume
    boost: dict[str, float] = {}
    for i, service in enumerate(ev.names.tolist()):
        goal = target * signal[i] * headroom
        for rate in SERVICE_RATES.get(service, ()):
            if rate in TOP_UPS:  # under a word short is not short: no item is that small
                short = goal - usable[i]
                more = min(short / world.days, TOP_UP_CEILINGS[rate]) if short >= 1.0 else 0.0
            else:
                more = min(goal / max(usable[i], 1.0), MAX_BOOST)
            boost[rate] = max(boost.get(rate, _unboosted(rate)), more)
    return {r: round(float(b), 3) for r, b in sorted(boost.items()) if b > _unboosted(r)}


def reexpansion(world: World, signal_events: set[str], boost: dict[str, float], *,
                target: float) -> dict[str, float]:
    """``boost`` raised for the services of ``world`` (lived with ``boost``) whose routine
    words, kept whole, fall more than ``1 - SHORT`` short of ``target`` times their signal;
    ``boost`` itself when none does, or when their rates are already at their ceilings.

    Not every routine word grows with the rates (a calendar's birthdays and standing series
    stay put), so a measuring run can promise more than the real run holds.
    """
    short = expansion(world, signal_events, target=target, headroom=SHORT)
    if not short:
        return boost
    more = expansion(world, signal_events, target=target)
    raised = {}
    for r in short:
        now = boost.get(r, _unboosted(r))
        if r in TOP_UPS:  # words still missing, on top of those added
            raised[r] = round(min(now + more[r], TOP_UP_CEILINGS[r]), 3)
        else:
            raised[r] = round(min(now * more[r], MAX_BOOST), 3)
    return {**boost, **{r: b for r, b in raised.items() if b > boost.get(r, _unboosted(r))}}


def _unboosted(rate: str) -> float:
    """What asks for nothing more: no words added for a top-up, times one for a rate."""
    return 0.0 if rate in TOP_UPS else 1.0


@dataclass(frozen=True)
class _Events:
    """The event log as thinning and expansion read it, one entry per event."""

    ids: np.ndarray
    causes: np.ndarray  # the event each one was caused by, or None
    tables: np.ndarray  # str
    raw_kinds: np.ndarray
    names: np.ndarray  # the services present, sorted
    code: np.ndarray  # each event's service, as an index into names
    words: np.ndarray  # readable words of the version it wrote
    inside: np.ndarray  # happened inside the window
    state: np.ndarray  # wrote a state table (never thinned)
    is_signal: np.ndarray

    # Only thinning reads cascades and kinds, so expansion's measuring run skips them.
    @cached_property
    def roots(self) -> np.ndarray:
        """Index of each event's cascade root."""
        return cascade_roots(self.ids, self.causes)

    @cached_property
    def kinds(self) -> np.ndarray:
        return self.raw_kinds.astype(str)

    def per_service(self, mask: np.ndarray) -> np.ndarray:
        """Words of the events in ``mask``, summed per service."""
        return np.bincount(self.code[mask], weights=self.words[mask],
                           minlength=len(self.names))


def _events(world: World, signal_events: set[str]) -> _Events:
    ids, causes, services, tables, kinds, ts = world.log.columns(
        "event_id", "cause_event_id", "service", "table", "kind", "ts")
    tables = tables.astype(str)
    # What np.unique(..., return_inverse=True) gives, by dict: a few services over tens of
    # thousands of events, where sorting the strings costs more than looking them up.
    services = services.tolist()
    names = np.array(sorted(set(services)), dtype=str)
    index = {name: i for i, name in enumerate(names.tolist())}
    code = np.fromiter(map(index.__getitem__, services), np.intp, len(services))
    return _Events(
        ids=ids, causes=causes, tables=tables, raw_kinds=kinds,
        names=names, code=code, words=_words_by_event(world, ids, tables),
        inside=ts.astype(np.int64) < world.clock.end_seconds,
        state=np.isin(tables, sorted(STATE_TABLES)),
        is_signal=np.fromiter(map(signal_events.__contains__, ids.tolist()), bool, len(ids)))


def _words_by_event(world: World, ids: np.ndarray, tables: np.ndarray) -> np.ndarray:
    """Readable words of the record version each event wrote (0 for events that wrote
    none). ``World.emit`` writes a batch's versions and their events in one order, so a
    table's versions are its events' rows of the log, in order: matched by position
    (checked), not by looking up tens of thousands of event ids."""
    words = np.zeros(len(ids), np.int64)
    for name, history in world.history.items():
        if not len(history) or not TABLES[name].text_columns:
            continue
        rows = np.flatnonzero(tables == name)
        if not np.array_equal(ids[rows], history.event_ids()):
            raise RuntimeError(f"{name}: its versions and the event log disagree")
        words[rows] = history.words()
    return words
