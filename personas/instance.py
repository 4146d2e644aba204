"""PersonaInstance: a spec plus a variation seed becomes one concrete, fictional person.

The instance depends only on (spec, variation), never on the world seed: the same person can
live many worlds, and a split that must not share people compares instance ids. Variation 0
is the canonical persona. People come from seeded Faker into pools drawn once here; nothing
downstream calls Faker per message.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass

import networkx as nx
import numpy as np

from personas.spec import PersonaSpec
from sim.rng import RngTree

# Ranges set aside for fiction by national regulators (NANP 555-0100..0199, Ofcom's 07700
# 900xxx, ACMA's 02 5550 xxxx), so no generated number belongs to anyone.
_US_AREAS = ("206", "212", "312", "415", "503", "617", "702", "808")
_CA_AREAS = ("416", "604", "613", "514")


def fictional_phone(country: str, i: int) -> str:
    """The ``i``-th number of the fictional range used for ``country``; unique for i < 800."""
    if country in ("US", "CA"):
        areas = _US_AREAS if country == "US" else _CA_AREAS
        return f"+1 ({areas[i % len(areas)]}) 555-01{(i // len(areas)) % 100:02d}"
    if country == "AU":
        return f"+61 2 5550 {i % 10000:04d}"
    return f"+44 7700 900{i % 1000:03d}"


KINDS = ("family", "friends", "coworkers", "clients", "vendors", "services")
_RELATION = {
    "family": ("mother", "father", "sister", "brother", "cousin", "aunt", "uncle", "in-law"),
    "friends": ("friend", "close friend", "neighbour", "old classmate"),
    "coworkers": ("coworker",),
    "clients": ("client",),
    "vendors": ("vendor",),
    "services": ("dentist", "doctor's office", "landlord", "mechanic", "accountant",
                 "hairdresser", "vet", "plumber"),
}


@dataclass(frozen=True)
class Contacts:
    """The address book as parallel arrays (one entry per contact)."""

    full_name: np.ndarray
    first_name: np.ndarray
    email: np.ndarray
    phone: np.ndarray
    company: np.ndarray
    job_title: np.ndarray
    kind: np.ndarray  # one of KINDS
    relationship: np.ndarray
    birthday: list[dt.date]
    address: np.ndarray
    closeness: np.ndarray  # tie strength; personal messages are drawn in proportion to it
    graph: nx.Graph  # who knows whom (communities = kinds), for CCs and group threads

    def __len__(self) -> int:
        return len(self.full_name)

    def of_kind(self, *kinds: str) -> np.ndarray:
        return np.flatnonzero(np.isin(self.kind, kinds))


@dataclass(frozen=True)
class PersonaInstance:
    spec: PersonaSpec
    variation: int
    instance_id: str
    full_name: str
    first_name: str
    personal_email: str
    work_email: str
    phone: str
    city: str
    employer: str
    work_domain: str
    budget_factor: float
    interests: tuple[str, ...]
    contacts: Contacts
    manager: int  # index into contacts


def instance_id(spec_id: str, variation: int) -> str:
    return "pi_" + hashlib.blake2b(f"{spec_id}\x1f{variation}".encode(), digest_size=6).hexdigest()


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", text.lower()) or "mail"


def instantiate(spec: PersonaSpec, variation: int = 0) -> PersonaInstance:
    """The concrete person for ``spec`` and ``variation`` (0 = canonical)."""
    if variation < 0:
        raise ValueError(f"variation must be non-negative, got {variation}")
    tree = RngTree(int.from_bytes(hashlib.blake2b(spec.id.encode(), digest_size=4).digest(),
                                  "little")).child(f"variation/{variation}")
    rng = tree.stream("persona")
    fake = tree.faker("people", spec.locale)
    first, last = fake.first_name(), fake.last_name()
    employer = spec.employer or fake.company()
    if employer == "self":
        employer = f"{last} {spec.occupation.split()[-1].title()}"
    domain = slug(employer)[:20] + ".example"
    factor = 1.0 if variation == 0 else float(rng.uniform(0.8, 1.2))
    k = max(3, len(spec.interests) - (0 if variation == 0 else int(rng.integers(0, 2))))
    interests = tuple(spec.interests[:k] if variation == 0 else
                      rng.permutation(spec.interests)[:k].tolist())
    contacts = _contacts(spec, tree, fake, rng, employer, domain, variation)
    coworkers = contacts.of_kind("coworkers")
    manager = int(coworkers[0]) if len(coworkers) else 0
    return PersonaInstance(
        spec=spec,
        variation=variation,
        instance_id=instance_id(spec.id, variation),
        full_name=f"{first} {last}",
        first_name=first,
        personal_email=f"{slug(first)}.{slug(last)}@example.com",
        work_email=f"{slug(first)[0]}{slug(last)}@{domain}",
        phone=fictional_phone(spec.country, 799),
        city=spec.cities[0] if variation == 0 else str(rng.choice(spec.cities)),
        employer=employer,
        work_domain=domain,
        budget_factor=factor,
        interests=interests,
        contacts=contacts,
        manager=manager,
    )


def _contacts(spec, tree, fake, rng, employer, domain, variation) -> Contacts:
    mix = spec.contacts
    sizes = [getattr(mix, kind) for kind in KINDS]
    if variation:
        sizes = [int(round(s * rng.uniform(0.8, 1.2))) for s in sizes]
    total = sum(sizes)
    if total < 40 or total > 150:  # keep the address book inside its documented range
        scale = (40 if total < 40 else 150) / total
        sizes = [max(1 if s else 0, int(round(s * scale))) for s in sizes]
        sizes[2 if sizes[2] else 1] += (40 if total < 40 else 150) - sum(sizes)
    kind = np.repeat(np.array(KINDS, dtype=object), sizes)
    n = len(kind)
    # Communities: dense inside a kind, sparse across (friends know family, coworkers meet).
    p = np.full((len(KINDS), len(KINDS)), 0.02)
    np.fill_diagonal(p, [0.8, 0.35, 0.3, 0.1, 0.05, 0.0])
    p[0, 1] = p[1, 0] = 0.08
    graph = nx.stochastic_block_model(sizes, p.tolist(), seed=int(rng.integers(2**31)))
    graph = nx.relabel_nodes(graph, {i: int(i) for i in graph.nodes})

    firsts = np.array([fake.first_name() for _ in range(n)], dtype=object)
    lasts = np.array([fake.last_name() for _ in range(n)], dtype=object)
    family_name = fake.last_name()
    is_family = kind == "family"
    lasts[is_family & (rng.random(n) < 0.6)] = family_name
    full = np.array([f"{a} {b}" for a, b in zip(firsts, lasts, strict=True)], dtype=object)
    companies = np.array([fake.company() for _ in range(n)], dtype=object)
    company = np.where(kind == "coworkers", employer,
                       np.where(np.isin(kind, ["clients", "vendors"]), companies, ""))
    domains = np.array([slug(c)[:20] + ".example" if c else "example.com" for c in company],
                       dtype=object)
    domains[kind == "coworkers"] = domain
    email = np.array([f"{slug(a)}.{slug(b)}{i % 7 or ''}@{d}" for i, (a, b, d)
                      in enumerate(zip(firsts, lasts, domains, strict=True))], dtype=object)
    phone = np.array([fictional_phone(spec.country, i) for i in range(n)], dtype=object)
    titles = np.array([fake.job() if k in ("coworkers", "clients", "vendors") else ""
                       for k in kind], dtype=object)
    relationship = np.array([_RELATION[k][int(rng.integers(len(_RELATION[k])))] for k in kind],
                            dtype=object)
    addresses = np.array([fake.street_address() + ", " + spec.cities[i % len(spec.cities)]
                          if k in ("family", "friends", "services") else ""
                          for i, k in enumerate(kind)], dtype=object)
    years = rng.integers(1950, 2004, n)
    doy = rng.integers(0, 365, n)
    birthday = [dt.date(int(y), 1, 1) + dt.timedelta(days=int(d)) for y, d in zip(years, doy,
                                                                                   strict=True)]
    # Tie strength: a heavy tail, strongest for family and friends, so that a handful of
    # people carry most personal messages (as in real phone logs). The landlord, the
    # doctor's office and the garage are called and booked far more than a client is.
    base = rng.lognormal(0.0, 1.0, n)
    boost = np.select([kind == "family", kind == "friends", kind == "services"],
                      [6.0, 3.0, 1.0], 0.2)
    closeness = base * boost
    return Contacts(
        full_name=full, first_name=firsts, email=email, phone=phone, company=company,
        job_title=titles, kind=kind, relationship=relationship, birthday=birthday,
        address=addresses, closeness=closeness, graph=graph,
    )
