"""The keep path: which routine cascades survive thinning, for every target at once.

Thinning keeps or drops whole causal cascades (``sim.cascades``). A cascade often writes
into several services (an order: shop, card, parcel, mails and texts; a draft replying to a
mail: the mail and ``device_activity``), so one keep fraction per *root* service cannot put
each service at its own goal: the services that only receive words from elsewhere
(deliveries, device drafts) follow whatever their roots' services need. Cascades are
therefore grouped into classes by their root service and the set of services they write
into, and each class gets its own keep fraction.

The fractions are fitted at a ladder of targets up to the highest target the world serves
(its ``aim``), each rung a bounded least-squares fit of per-service goals that may only
raise the rung below it. Any target then walks that ladder to the point where the total
meets its goal. Because every class fraction only rises along the ladder and a cascade is
kept when its stable draw falls under its class fraction, a lower target keeps a subset of
what a higher one keeps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

RUNG = 2 ** 0.5  # each rung of the ladder is this factor below the one above
LOWEST_RUNG = 0.5  # ratios below this are reached by interpolating towards keeping nothing
SMOOTH = 1e-3  # pull towards one common fraction, so classes no goal pins stay even
SOME = 0.1  # no class keeps less than this share of the common fraction
QUIET_SHARE = 0.1  # of the noise, kept for services that carry no signal
MIN_SCALE = 20.0  # words: a goal smaller than this is weighed as if it were this big
NEWTON_STEPS = 60
WHOLE_SHARE = 2.0  # classes kept whole once together at most 1/this of their services' goals
REFITS = 4  # fits per rung, each against the goals less the last fit's real miss


@dataclass(frozen=True)
class Cascades:
    """The routine cascades thinning may drop, one entry per cascade."""

    of_event: np.ndarray  # each free event's cascade index (-1 for events not free)
    position: np.ndarray  # where the cascade falls in its class, in [0, 1)
    cls: np.ndarray  # class index
    words: np.ndarray  # (cascades, services) words the cascade writes inside the window
    # Records that follow cascades (``scenarios.catalogue``): each is kept when any cascade
    # in ``follow_pairs`` (follower, cascade) that refers to it is kept. For the fit, its
    # words are also counted in ``words`` of one referrer (see ``group_cascades``).
    follow_words: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    follow_pairs: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.int64))
    own_words: np.ndarray | None = None  # ``words`` without the followers' share
    # Per class: kept whole at every target where that leaves room (see ``fit_ladder``).
    whole: np.ndarray | None = None

    @property
    def n_classes(self) -> int:
        return int(self.cls.max(initial=-1)) + 1

    def by_class(self) -> np.ndarray:
        """(classes, services) words each class writes."""
        out = np.zeros((self.n_classes, self.words.shape[1]))
        for j, column in enumerate(self.words.T):
            # adds the cascades in the order np.add.at would, without its per-row overhead
            out[:, j] = np.bincount(self.cls, weights=column, minlength=self.n_classes)
        return out

    def kept(self, fraction: np.ndarray) -> np.ndarray:
        """Which cascades a vector of class fractions keeps."""
        return self.position < fraction[self.cls]

    def followers_kept(self, kept: np.ndarray) -> np.ndarray:
        """Which followers the kept cascades bring along."""
        out = np.zeros(len(self.follow_words), bool)
        out[self.follow_pairs[kept[self.follow_pairs[:, 1]], 0]] = True
        return out

    def kept_words(self, fraction: np.ndarray) -> np.ndarray:
        """Words per service that a vector of class fractions keeps, followers included.
        (Word counts are whole numbers, so a product with the 0/1 vector of kept cascades
        sums them exactly, in any order, without copying the kept rows out.)"""
        kept = self.kept(fraction)
        own = self.words if self.own_words is None else self.own_words
        out = kept.astype(np.float64) @ own
        if len(self.follow_words):
            out = out + self.followers_kept(kept).astype(np.float64) @ self.follow_words
        return out


def group_cascades(roots: np.ndarray, code: np.ndarray, words: np.ndarray, free: np.ndarray,
                   root_u: np.ndarray, n_services: int,
                   follow_words: np.ndarray | None = None,
                   follow_refs: np.ndarray | None = None,
                   whole: np.ndarray | None = None) -> Cascades:
    """Group the free events into cascades, and cascades into classes.

    ``roots`` is each event's root index, ``code`` its service, ``root_u`` the stable draw
    of its root; ``free`` marks the events thinning may drop (whole cascades are free or
    not: a protected root protects everything it caused). ``follow_words`` (followers,
    services) and ``follow_refs`` (follower, free event index) describe records kept when
    any cascade holding a referring event is kept. ``whole`` marks events whose cascades
    form classes of their own, kept whole wherever they fit (``fit_ladder``).
    """
    root_ids, of_free = np.unique(roots[free], return_inverse=True)
    n = len(root_ids)
    matrix = np.zeros((n, n_services))
    np.add.at(matrix, (of_free, code[free]), words[free])
    of_event = np.full(len(roots), -1, np.int64)
    of_event[free] = of_free
    own = None
    pairs = np.zeros((0, 2), np.int64)
    if follow_words is None or not len(follow_words):
        follow_words = np.zeros((0, n_services))
    else:
        pairs = np.unique(np.stack([follow_refs[:, 0], of_event[follow_refs[:, 1]]], axis=1),
                          axis=0)
        pairs = pairs[pairs[:, 1] >= 0]
        own = matrix.copy()
        # For the fit, a follower's words count with the referrer whose draw is lowest: the
        # one likeliest to be kept first as fractions rise (exact at the ends: all kept or
        # none). The kept words themselves are counted exactly (``kept_words``).
        u = root_u[root_ids][pairs[:, 1]]
        order = np.lexsort((u, pairs[:, 0]))
        first = order[np.r_[True, np.diff(pairs[order, 0]) > 0]]
        np.add.at(matrix, pairs[first, 1], follow_words[pairs[first, 0]])
    # A class: the service the cascade starts in, plus the services it writes words into.
    bits = (matrix > 0) @ (2 ** np.arange(n_services, dtype=np.int64)).astype(np.float64)
    signature = code[root_ids].astype(np.int64) * 2 ** n_services + bits.astype(np.int64)
    flag = np.zeros(n, np.int64) if whole is None else whole[root_ids].astype(np.int64)
    _, cls = np.unique(signature * 2 + flag, return_inverse=True)
    class_whole = np.zeros(int(cls.max(initial=-1)) + 1, bool)
    class_whole[cls] = flag > 0
    return Cascades(of_event=of_event, position=_positions(cls, root_u[root_ids],
                                                           matrix.sum(axis=1)),
                    cls=cls.astype(np.int64), words=matrix, follow_words=follow_words,
                    follow_pairs=pairs, own_words=own, whole=class_whole)


def _positions(cls: np.ndarray, u: np.ndarray, words: np.ndarray) -> np.ndarray:
    """Each cascade's place in its class: the share of the class's words held by cascades
    with a smaller stable draw, plus half its own.

    Keeping ``position < f`` keeps about ``f`` of a class's words, without the sampling
    noise of ``u < f`` (a class of 60 voicemails would otherwise miss by ~13%), and the
    order is still the stable draws', so a larger ``f`` keeps a superset. A class with no
    words falls back on the draws themselves.
    """
    order = np.lexsort((u, cls))
    c, w = cls[order], words[order]
    total = np.bincount(c, weights=w)
    before = np.cumsum(w) - w
    start = np.searchsorted(c, np.arange(len(total)))
    before -= (np.cumsum(w) - w)[start][c]  # restart the running sum at each class
    place = np.where(total[c] > 0, (before + w / 2) / np.maximum(total[c], 1e-9), u[order])
    out = np.empty(len(u))
    out[order] = place
    return out


def goals(target: float, sig_words: np.ndarray, fixed: np.ndarray, available: np.ndarray,
          weight: np.ndarray) -> np.ndarray:
    """Non-signal words each service should hold at ``target``.

    A service that carries signal aims at ``target`` times its own signal, bounded by what
    it cannot drop and by all it has. The others share what the overall target leaves, in
    proportion to weight and volume.
    """
    carries = sig_words > 0
    # Services without signal (the social feed) still get a slice: were every service with
    # signal exactly at the target, they would have to be empty. A tenth at most, within
    # the 25% each service may miss by, and no more than their natural share of life.
    natural = available[~carries].sum() / max(available.sum(), 1.0)
    quiet = min(QUIET_SHARE, float(natural))
    goal = np.clip(target * sig_words * (1 - quiet), fixed, fixed + available)
    rest = max(0.0, target * sig_words.sum() - goal[carries].sum() - fixed[~carries].sum())
    mass = np.where(carries, 0.0, weight * available)
    share = mass / mass.sum() if mass.sum() else np.zeros(len(mass))
    return np.where(carries, goal, fixed + rest * share)


def fit_ladder(cascades: Cascades, sig_words: np.ndarray, fixed: np.ndarray,
               weight: np.ndarray, aim: float) -> np.ndarray:
    """Class fractions at each rung, lowest first; row 0 keeps nothing.

    Each rung solves ``min sum_s ((fixed_s + (A^T f)_s - goal_s) / goal_s)^2`` over class
    fractions ``f`` between the rung below and 1 (relative errors, so a small service
    counts as much as a large one), with a faint pull towards one common fraction.
    """
    a = cascades.by_class()
    n_classes = a.shape[0]
    available = a.sum(axis=0)
    targets = [aim]
    while targets[-1] / RUNG >= LOWEST_RUNG:
        targets.append(targets[-1] / RUNG)
    ladder = [np.zeros(n_classes)]
    mass = a.sum(axis=1) / max(a.sum(), 1.0)
    carries = sig_words > 0
    whole = np.zeros(n_classes, bool) if cascades.whole is None else cascades.whole
    need = (a[whole][:, carries].sum(axis=0) / sig_words[carries]).max(initial=0.0)
    whole_from = np.where(whole, WHOLE_SHARE * need, np.inf)
    for target in reversed(targets):
        goal = goals(target, sig_words, fixed, available, weight)
        scale = np.maximum(goal, MIN_SCALE)
        common = float(np.clip((goal - fixed).sum() / max(available.sum(), 1.0), 0.0, 1.0))
        # No class falls far under the common fraction: a kind of record (saved items, a
        # feed) vanishing whole would make a life no one lives. ``common`` rises with the
        # target, so the bound keeps the ladder rising.
        low = np.maximum(ladder[-1], min(1.0, SOME * common))
        # Classes kept whole where they fit are all kept from the target at which together
        # they take at most 1/WHOLE_SHARE of any goal they write into.
        low = np.where(target >= whole_from, 1.0, low)
        # The fit is linear in the fractions; what they really keep is not quite (whole
        # cascades, and followers kept by whichever referrer is kept). Refit a few times
        # against the goals less that difference, so small services at low targets land
        # on their goal rather than on the linear estimate of it.
        miss = np.zeros_like(goal)
        m = a / scale
        system = _System.of(m, mass)  # the refits of a rung share it: only goals move
        for _ in range(REFITS):
            f = _bounded_least_squares(system, m, (goal - fixed - miss) / scale, mass,
                                       common, low=low)
            miss += 0.5 * (cascades.kept_words(f) + fixed - goal)
        ladder.append(f)
    return np.array(ladder)


@dataclass(frozen=True)
class _System:
    """The left side of a rung's normal equations, with the pull towards one common
    fraction, and its largest eigenvalue (the gradient steps' Lipschitz constant)."""

    gram: np.ndarray
    lipschitz: float

    @classmethod
    def of(cls, m: np.ndarray, mass: np.ndarray) -> _System:
        # Every class gets some pull, so a class without words is still determined.
        gram = m @ m.T + SMOOTH * np.diag(np.maximum(mass, 1e-6))
        return cls(gram, max(float(np.linalg.eigvalsh(gram)[-1]), 1e-12))


def _bounded_least_squares(system: _System, m: np.ndarray, b: np.ndarray, mass: np.ndarray,
                           common: float, low: np.ndarray) -> np.ndarray:
    """``argmin |m^T f - b|^2 + SMOOTH * sum(mass * (f - common)^2)`` with ``low <= f <= 1``
    (``system``: ``_System.of(m, mass)``).

    Projected Newton: guess which fractions sit at a bound, solve the rest exactly, and
    accept the step only if it lowers the objective (else fall back on projected gradient
    steps). Gradient methods alone need thousands of steps here: classes that write into
    the same services make the problem badly conditioned. It is tiny (classes x services).
    """
    n = len(low)
    gram, lipschitz = system.gram, system.lipschitz
    rhs = m @ b + SMOOTH * np.maximum(mass, 1e-6) * common

    def objective(f: np.ndarray) -> float:
        return float(0.5 * f @ gram @ f - rhs @ f)

    f = np.clip(np.full(n, common), low, 1.0)
    stuck = False
    for _ in range(NEWTON_STEPS):
        grad = gram @ f - rhs
        pinned = ((f <= low + 1e-12) & (grad > 0)) | ((f >= 1.0 - 1e-12) & (grad < 0))
        if np.abs(np.where(pinned, 0.0, grad)).max(initial=0.0) < 1e-10:
            break  # optimal: no free direction goes downhill
        loose = ~pinned
        x = f.copy()
        rows = gram[loose]
        x[loose] = np.linalg.solve(rows[:, loose] + 1e-12 * np.eye(loose.sum()),
                                   rhs[loose] - rows[:, pinned] @ f[pinned])
        # Along the projected arc: fractions that would cross a bound stop at it, and the
        # next round pins them.
        before = objective(f)
        step = 1.0
        while step > 1e-3 and objective(np.clip(f + step * (x - f), low, 1.0)) >= before:
            step /= 2
        if step > 1e-3:
            f = np.clip(f + step * (x - f), low, 1.0)
            stuck = False
        elif stuck:
            break  # neither Newton nor gradient steps make progress: as good as it gets
        else:  # the guess was wrong: let gradient steps find the bounds
            stuck = True
            for _ in range(20):
                f = np.clip(f - (gram @ f - rhs) / lipschitz, low, 1.0)
    return f


def walk(ladder: np.ndarray, cascades: Cascades, budget: float) -> np.ndarray:
    """Class fractions at the furthest point along the ladder whose kept words stay within
    ``budget``. Between rungs the fractions are interpolated, so they only ever rise."""
    def at(x: float) -> np.ndarray:
        k = min(int(x), len(ladder) - 2)
        return ladder[k] + (x - k) * (ladder[k + 1] - ladder[k])

    def kept(x: float) -> float:
        return float(cascades.kept_words(at(x)).sum())

    low, high = 0.0, float(len(ladder) - 1)
    if kept(high) <= budget:
        return at(high)
    for _ in range(40):
        mid = (low + high) / 2
        low, high = (mid, high) if kept(mid) <= budget else (low, mid)
    return at(low)
