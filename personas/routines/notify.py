"""Messages that organisations send: receipts, shipping notices, newsletters, invitations.

Shared by every routine whose events feed the user's inbox or phone, so a shop's order
confirmation and an airline's booking confirmation are built the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from personas.life import Life
from personas.pools import sender_address
from personas.routines.compose import join
from sim.clock import MINUTE

_FOOTER = ("You are receiving this email because you have an account with {org}.\n"
           "Manage your preferences or unsubscribe at any time.")


def inbox_of(life: Life) -> str | None:
    """The mailbox that organisation mail goes to (personal, else work), or None."""
    if life.world.has("personal_email"):
        return "personal_emails"
    if life.world.has("work_email"):
        return "work_emails"
    return None


def org_mail(
    life: Life,
    rng: np.random.Generator,
    ts: np.ndarray,
    *,
    org: np.ndarray,
    intent: str,
    slots: Mapping[str, np.ndarray],
    folder: str | np.ndarray = "updates",
    kind: str = "email_received",
    related: Sequence[str | None] | None = None,
    cause: Sequence[str | None] | None = None,
    sentences: tuple[int, int] = (2, 4),
    greet: bool = True,
    subject_templates: np.ndarray | None = None,
) -> tuple[list[str], list[str]]:
    """Mail from organisations ``org`` to the user; returns (record ids, event ids).

    ``subject_templates`` picks each mail's subject template (by index) instead of a draw.
    """
    table = inbox_of(life)
    n = len(ts)
    if table is None or n == 0:
        return [], []
    g = life.grammar
    person = life.person
    counts = rng.integers(sentences[0], sentences[1] + 1, n)
    paragraph = g.documents(intent, rng, slots, counts)
    # Sign-off, footer and address per organisation (a batch names few of them).
    names, which = np.unique(np.asarray(org, dtype=str), return_inverse=True)
    footer = np.array([_FOOTER.format(org=o) for o in names], dtype=object)[which]
    team = np.array([f"{o} team" if o.startswith("The ") else f"The {o} team" for o in names],
                    dtype=object)[which]
    address_of = np.array([sender_address(o) for o in names], dtype=object)[which]
    parts = []
    if greet:
        parts += [g.sentences("greeting", rng, {"first": np.full(n, person.first_name,
                                                                 dtype=object)}, n), "\n\n"]
    parts += [paragraph, "\n\n", team, "\n-- \n", footer]
    body = join(*parts)
    variants = None
    if subject_templates is not None:
        pool = g.intent(intent).subjects
        variants = pool.variant_of(rng, subject_templates)
    subject = g.sentences(intent, rng, slots, n, pool="subjects", variants=variants)
    address = person.personal_email if table == "personal_emails" else person.work_email
    ts = np.asarray(ts, dtype=np.int64)
    return life.world.emit(
        table,
        kind,
        ts,
        {
            "thread_id": life.world.ids.mint(f"threads/{table}", "th_", n),
            "folder": folder,
            "from_name": org,
            "from_address": address_of,
            "to_addresses": address,
            "cc_addresses": "",
            "subject": subject,
            "body": body,
            "sent_at": ts,
            "related_id": related,
        },
        actor=list(org),
        cause=cause,
    )


def after(rng: np.random.Generator, ts: np.ndarray, low_minutes: float,
          high_minutes: float) -> np.ndarray:
    """Instants a uniform delay after ``ts`` (follow-ups always come after their cause)."""
    delay = rng.uniform(low_minutes * MINUTE, high_minutes * MINUTE, len(ts)).astype(np.int64)
    return np.asarray(ts, dtype=np.int64) + np.maximum(delay, 1)
