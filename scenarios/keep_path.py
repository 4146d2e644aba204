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
raise the rung below it. Low rungs are different: where a service's goal is a record or
two, a fraction of a class in draw order is too coarse (the next record may be twice the
goal), so below ``PICKED_BELOW`` the rungs are closer together and filled by picking whole
cascades, each the one that brings the services closest to their goals among the next of
every class and size band; the picked cascades then come first in their classes. Any
target walks the ladder to the point where the total meets its goal. Because every class
fraction only rises along the ladder and a cascade is kept when its place in its class
falls under its class fraction, a lower target keeps a subset of what a higher one keeps.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

RUNG = 2 ** 0.5  # each rung of the ladder is this factor below the one above
LOWEST_RUNG = 0.5  # ratios below this are reached by interpolating towards keeping nothing
# Below this target a service's goal is a few records, and a fraction of a class is too
# coarse to meet it (the next cascade in draw order may be twice the goal): these rungs are
# closer together and are filled cascade by cascade (``_pick_path``).
PICKED_BELOW = 8.0
PICKED_RUNG = 2 ** (1 / 8)  # so a target between two picked rungs is at most 9% from one
BANDS_PER_DOUBLING = 4  # size bands of the picked rungs: 8-9, 10-11, 12-13, 14-15 words...
SMOOTH = 1e-3  # pull towards one common fraction, so classes no goal pins stay even
SOME = 0.1  # no class keeps less than this share of what it and its services keep
QUIET_SHARE = 0.1  # of the noise, kept for services that carry no signal
MIN_SCALE = 20.0  # words: a goal smaller than this is weighed as if it were this big
NEWTON_STEPS = 60
WHOLE_SHARE = 2.0  # classes kept whole once together at most 1/this of their services' goals
REFITS = 4  # fits per rung, each against the goals less the last fits' real misses


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


def _positions(cls: np.ndarray, u: np.ndarray, words: np.ndarray,
               rank: np.ndarray | None = None) -> np.ndarray:
    """Each cascade's place in its class: the share of the class's words held by cascades
    earlier in the class (by ``rank``, default the stable draws), plus half its own.

    Keeping ``position < f`` keeps about ``f`` of a class's words, without the sampling
    noise of ``u < f`` (a class of 60 voicemails would otherwise miss by ~13%), and the
    order is fixed, so a larger ``f`` keeps a superset. A class with no words falls back on
    the draws themselves.
    """
    order = np.lexsort((u, u if rank is None else rank, cls))
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
               weight: np.ndarray, aim: float) -> tuple[np.ndarray, Cascades]:
    """Class fractions at each rung, lowest first (row 0 keeps nothing), and the cascades
    placed in the order the ladder keeps them (``walk`` and ``Cascades.kept`` take both).

    The rungs below ``PICKED_BELOW`` are filled cascade by cascade (``_pick_path``). Each
    rung above solves ``min sum_s ((fixed_s + (A^T f)_s - goal_s) / goal_s)^2`` over class
    fractions ``f`` between the rung below and 1 (relative errors, so a small service
    counts as much as a large one), with a faint pull towards one common fraction.
    """
    a = cascades.by_class()
    available = a.sum(axis=0)
    mass = a.sum(axis=1) / max(a.sum(), 1.0)
    carries = sig_words > 0
    whole = np.zeros(a.shape[0], bool) if cascades.whole is None else cascades.whole
    need = (a[whole][:, carries].sum(axis=0) / sig_words[carries]).max(initial=0.0)
    whole_from = np.where(whole, WHOLE_SHARE * need, np.inf)

    def rung(target: float) -> tuple[np.ndarray, float, np.ndarray]:
        """The goals at ``target``, the common fraction, and each class's least fraction."""
        goal = goals(target, sig_words, fixed, available, weight)
        common = float(np.clip((goal - fixed).sum() / max(available.sum(), 1.0), 0.0, 1.0))
        # No class falls far under what its services keep: a kind of record (saved items,
        # a feed) vanishing whole would make a life no one lives. The bound is a share of
        # the common fraction, or of the smallest share a service the class writes into
        # keeps of its own words, if less: a busy service with little signal (a chat full
        # of banter around one message that matters) keeps a small part of its life, and
        # the bound must not hold its classes above that. Both rise with the target, so
        # the bound keeps the ladder rising. Classes kept whole where they fit are all
        # kept from the target at which together they take at most 1/WHOLE_SHARE of any
        # goal they write into.
        share = np.clip((goal - fixed) / np.maximum(available, 1.0), 0.0, 1.0)
        own = np.where(a > 0, share, 1.0).min(axis=1, initial=1.0)
        least = np.where(target >= whole_from, 1.0, SOME * np.minimum(common, own))
        return goal, common, least

    targets = rungs(aim)
    picked = [t for t in targets if t < PICKED_BELOW]
    ladder, cascades = _pick_path(cascades, [(goal, least) for goal, _, least in
                                             map(rung, picked)], fixed)
    for target in targets[len(picked):]:
        goal, common, least = rung(target)
        scale = np.maximum(goal, MIN_SCALE)
        low = np.maximum(ladder[-1], least)
        # The fit is linear in the fractions; what they really keep is not quite (whole
        # cascades, and followers kept by whichever referrer is kept). Refit a few times
        # against the goals less half the last real miss, so small services at low targets
        # land on their goal rather than on the linear estimate of it, and keep the refit
        # that really came nearest: where services trade words (a draft is written into
        # both the chat and ``device_activity``), the refits can swing past the best one
        # (before 0.22.0 the PhD student's drafts reached 74 at a target of 100: the last
        # of four refits kept 0.82 of their goal, though the third had kept 1.02).
        miss = np.zeros_like(goal)
        m = a / scale
        system = _System.of(m, mass)  # the refits of a rung share it: only goals move
        best, best_error = low, np.inf
        for _ in range(REFITS):
            f = _bounded_least_squares(system, m, (goal - fixed - miss) / scale, mass,
                                       common, low=low)
            error = cascades.kept_words(f) + fixed - goal
            if (size := float(((error / scale) ** 2).sum())) < best_error:
                best, best_error = f, size
            miss += 0.5 * error
        ladder.append(best)
    return np.array(ladder), cascades


def rungs(aim: float) -> list[float]:
    """The ladder's targets, lowest first, ending at ``aim``: ``RUNG`` apart from ``aim``
    down to ``PICKED_BELOW``; under it, the same grid for every aim (``LOWEST_RUNG`` times
    powers of ``PICKED_RUNG``), so a world's low rungs do not depend on its aim."""
    fitted = [aim]
    while fitted[-1] / RUNG >= PICKED_BELOW:
        fitted.append(fitted[-1] / RUNG)
    grid, k = [], 0
    while (t := LOWEST_RUNG * PICKED_RUNG ** k) < min(PICKED_BELOW, fitted[-1]):
        grid.append(t)
        k += 1
    return grid + fitted[::-1]


def _pick_path(cascades: Cascades, rungs: list[tuple[np.ndarray, np.ndarray]],
               fixed: np.ndarray) -> tuple[list[np.ndarray], Cascades]:
    """The low rungs, one cascade at a time: a row of zeros, then per rung ``(goal,
    least)`` the class fractions that keep what was picked so far; and the cascades with
    the picked ones first in their class, in the order they were picked.

    At each rung every class first gets the cascades its least fraction asks for, in draw
    order; then, while one brings the kept words closer to the goals (relative errors, as
    in the fitted rungs), the one that brings them closest is picked. The candidates are,
    per class and per size band (``BANDS_PER_DOUBLING``), the next cascade in draw order:
    a service whose goal is one short record always has one of about the right size to
    choose, and within a band the draws decide. Picks are never undone, so each rung keeps
    a superset of the one below.
    """
    cls, n_classes = cascades.cls, cascades.n_classes
    size = cascades.words.sum(axis=1)
    class_total = np.bincount(cls, weights=size, minlength=n_classes)
    # What keeping each cascade adds: its own words and those of the followers it would be
    # the first to bring along (``Cascades.followers_kept``), updated as followers come in.
    gain = (cascades.words if cascades.own_words is None else cascades.own_words).copy()
    pairs, follow_words = cascades.follow_pairs, cascades.follow_words
    np.add.at(gain, pairs[:, 1], follow_words[pairs[:, 0]])
    follower_of, follower_start = _grouped(pairs[:, 1], pairs[:, 0], len(cls))
    referrer_of, referrer_start = _grouped(pairs[:, 0], pairs[:, 1], len(follow_words))
    follower_in = np.zeros(len(follow_words), bool)
    # Queues: cascades by class, size band and draw; ``head`` is each queue's next one.
    band = (BANDS_PER_DOUBLING * np.log2(np.maximum(size, 1.0))).astype(np.int64)
    queue = np.lexsort((cascades.position, band, cls))
    key = cls[queue] * (int(band.max(initial=0)) + 1) + band[queue]
    head = np.flatnonzero(np.r_[True, np.diff(key) != 0])
    end = np.r_[head[1:], len(queue)]
    queue_class = cls[queue[head]]
    rank = np.full(len(cls), -1, np.int64)
    class_words = np.zeros(n_classes)
    kept = fixed.astype(np.float64)
    n_picked = 0
    counts, bounds = [], []

    def pick(q: int) -> None:
        nonlocal kept, n_picked
        i = queue[head[q]]
        head[q] += 1
        rank[i] = n_picked
        n_picked += 1
        class_words[cls[i]] += size[i]
        kept = kept + gain[i]
        for f in follower_of[follower_start[i]:follower_start[i + 1]]:
            if not follower_in[f]:
                follower_in[f] = True
                gain[referrer_of[referrer_start[f]:referrer_start[f + 1]]] -= follow_words[f]

    def next_in_draw(c: int) -> int | None:
        """The queue of class ``c`` whose next cascade comes first in draw order."""
        mine = np.flatnonzero((queue_class == c) & (head < end))
        if not len(mine):
            return None
        return int(mine[np.argmin(cascades.position[queue[head[mine]]])])

    for goal, least in rungs:
        # As ``Cascades.kept`` would at the least fraction: while the next cascade's
        # midpoint falls under it.
        for c in np.flatnonzero(class_words < least * class_total):
            while (q := next_in_draw(int(c))) is not None and (
                    class_words[c] + size[queue[head[q]]] / 2 < least[c] * class_total[c]):
                pick(q)
        scale = np.maximum(goal, MIN_SCALE)
        while len(open_ := np.flatnonzero(head < end)):
            miss = (kept - goal) / scale
            scaled = gain[queue[head[open_]]] / scale
            # The change in the squared relative error were each candidate kept.
            change = scaled @ (2 * miss) + (scaled ** 2).sum(axis=1)
            best = int(np.argmin(change))
            if change[best] >= -1e-12:
                break
            pick(int(open_[best]))
        counts.append(np.bincount(cls[rank >= 0], minlength=n_classes))
        bounds.append(least)
    # Picked cascades first in their class, in pick order; the rest after them in draw
    # order. Each rung's fractions keep exactly the cascades picked up to it. (The old
    # positions follow the draws within a class, and are the draws in a class with no
    # words, so they stand in for the draws here.)
    position = _positions(cls, cascades.position, size,
                          np.where(rank >= 0, rank, n_picked + cascades.position))
    by_class = np.lexsort((position, cls))
    sorted_position = np.r_[position[by_class], 1.0]
    start = np.searchsorted(cls[by_class], np.arange(n_classes))
    everything = np.bincount(cls, minlength=n_classes)
    ladder = [np.zeros(n_classes)]
    for count, least in zip(counts, bounds, strict=True):
        last = np.where(count > 0, sorted_position[start + count - 1], 0.0)
        exact = (last + sorted_position[start + count]) / 2
        exact = np.where(count == everything, 1.0, exact)
        # Classes without words are never picked: they follow their least fraction.
        ladder.append(np.maximum(ladder[-1], np.where(class_total > 0, exact, least)))
    return ladder, replace(cascades, position=position)


def _grouped(key: np.ndarray, value: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``value`` grouped by ``key`` in ``range(n)``: the values paired with k are
    ``values[start[k]:start[k + 1]]`` of the returned ``(values, start)``."""
    order = np.argsort(key, kind="stable")
    return value[order], np.searchsorted(key[order], np.arange(n + 1))


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
    accept the step only if it lowers the objective (else take projected gradient steps,
    which move the guess, and guess again). Gradient methods alone need thousands of steps
    here: classes that write into the same services make the problem badly conditioned. It
    is tiny (classes x services). Until 0.27.0 it gave up at the second failed guess: on
    the PhD student's top rung that left the objective at -5.887 against -5.988, and its
    notes at 69.6 of a target of 100, though a class that writes only notes could rise.
    """
    n = len(low)
    gram, lipschitz = system.gram, system.lipschitz
    rhs = m @ b + SMOOTH * np.maximum(mass, 1e-6) * common

    def objective(f: np.ndarray) -> float:
        return float(0.5 * f @ gram @ f - rhs @ f)

    f = np.clip(np.full(n, common), low, 1.0)
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
        else:  # the guess was wrong: let gradient steps find the bounds
            for _ in range(20):
                f = np.clip(f - (gram @ f - rhs) / lipschitz, low, 1.0)
    return f


def walk(ladder: np.ndarray, cascades: Cascades, budget: float) -> np.ndarray:
    """Class fractions at the point along the ladder whose kept words come nearest
    ``budget``: the furthest point within it, or the next step past it when that lands
    closer. Between rungs the fractions are interpolated, so they only ever rise.

    The next step may overshoot because stopping short of it always undershoots: at a low
    target one step is one cascade, and a service whose goal is a record or two can sit a
    quarter under its goal for want of the record the step would add (before 0.21.0 the
    musician's work mail kept 0.75 of a target of 1). The nearer of the two is monotone in
    ``budget``, so a lower target still keeps a subset of a higher one."""
    def at(x: float) -> np.ndarray:
        k = min(int(x), len(ladder) - 2)
        return ladder[k] + (x - k) * (ladder[k + 1] - ladder[k])

    def kept(x: float) -> float:
        return float(cascades.kept_words(at(x)).sum())

    low, high = 0.0, float(len(ladder) - 1)
    if (above := kept(high)) <= budget:
        return at(high)
    below = kept(low)  # the words each end of the bisection keeps
    for _ in range(40):
        mid = (low + high) / 2
        if (words := kept(mid)) <= budget:
            low, below = mid, words
        else:
            high, above = mid, words
    return at(high) if above - budget < budget - below else at(low)
