"""Per-world pools of things to talk about: products, merchants, places, topics.

Drawn once per world from seeded Faker and the shipped word lists; routines sample indices
from these arrays and never call Faker themselves.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

from personas.instance import PersonaInstance, slug
from sim.rng import RngTree

# Which catalogue categories an interest pulls in (substring match on the interest).
_INTEREST_CATEGORIES = {
    "keyboard": "electronics", "audio": "electronics", "music": "music", "guitar": "music",
    "coffee": "kitchen", "cook": "kitchen", "bak": "kitchen", "run": "sports", "cycl": "sports",
    "yoga": "sports", "climb": "sports", "hik": "sports", "garden": "garden", "book": "books",
    "read": "books", "game": "toys", "kid": "toys", "craft": "home", "design": "home",
    "fashion": "clothing", "travel": "books", "photo": "electronics", "film": "electronics",
    "tech": "electronics", "skin": "beauty", "wine": "kitchen", "food": "kitchen",
}
# Of the shops a person pays at in person, the share that are chains (``pools.toml``
# ``chains``): a statement mixes "CARD PURCHASE Freshway" with "CARD PURCHASE Hanna Cafe",
# so how long a card line is says little about what it was for.
_CHAIN_SHARE = 0.5
_MERCHANT_SUFFIX = ("Outfitters", "Supply Co", "Market", "Goods", "Store", "Emporium", "Direct",
                    "Depot", "House", "& Sons")


@cache
def word_pools() -> dict:
    with (resources.files("personas.text") / "pools.toml").open("rb") as fh:
        return tomllib.load(fh)


@dataclass(frozen=True)
class Products:
    title: np.ndarray
    brand: np.ndarray
    category: np.ndarray
    merchant: np.ndarray
    price_minor: np.ndarray  # list price at the start of the window
    interest: np.ndarray  # bool: matches one of the person's interests

    def __len__(self) -> int:
        return len(self.title)


@dataclass(frozen=True)
class Pools:
    products: Products
    merchants: np.ndarray  # shops for card purchases (cafes, groceries, fuel...)
    merchant_category: np.ndarray
    places: np.ndarray
    eateries: np.ndarray  # restaurants and cafes, where friends meet
    work_topics: np.ndarray
    personal_topics: np.ndarray
    news_sources: np.ndarray
    companies: np.ndarray
    carriers: np.ndarray
    airlines: np.ndarray
    bank: str
    subscriptions: list
    fx: float  # local currency per US dollar, for catalogue prices


def build_pools(person: PersonaInstance, rng_tree: RngTree, *, fx: float) -> Pools:
    """``fx`` converts the catalogue's major-unit prices into the persona's currency."""
    words = word_pools()
    rng = rng_tree.stream("pools")
    fake = rng_tree.faker("pools", person.spec.locale)
    liked = {c for i in person.interests for k, c in _INTEREST_CATEGORIES.items()
             if k in i.lower()}
    titles, brands, cats, merchants, prices, interest = [], [], [], [], [], []
    shop_for = {c: f"{fake.last_name()} {_MERCHANT_SUFFIX[i % len(_MERCHANT_SUFFIX)]}"
                for i, c in enumerate(sorted(words["catalogue"]))}
    for cat, items in sorted(words["catalogue"].items()):
        for noun, low, high in items:
            for _ in range(2):
                brand = fake.last_name()
                titles.append(f"{brand} {noun}")
                brands.append(brand)
                cats.append(cat)
                merchants.append(shop_for[cat])
                major = rng.uniform(low, high) * fx
                prices.append(int(round(major)) * 100 - 1)  # x.99 pricing
                interest.append(cat in liked)
    products = Products(
        title=np.array(titles, dtype=object), brand=np.array(brands, dtype=object),
        category=np.array(cats, dtype=object), merchant=np.array(merchants, dtype=object),
        price_minor=np.array(prices, dtype=np.int64), interest=np.array(interest, bool),
    )
    local_shops = []
    local_cat = []
    for cat, names in (("groceries", ("Market", "Grocer", "Foods")),
                       ("dining", ("Cafe", "Kitchen", "Bistro", "Noodle Bar")),
                       ("transport", ("Fuel", "Transit")), ("pharmacy", ("Pharmacy",)),
                       ("shopping", ("Books", "Hardware"))):
        chains = list(words["chains"][cat])
        for _ in range(4 if cat in ("groceries", "dining") else 2):
            if rng.random() < _CHAIN_SHARE:
                local_shops.append(chains.pop(int(rng.integers(len(chains)))))
            else:
                local_shops.append(f"{fake.last_name()} {names[int(rng.integers(len(names)))]}")
            local_cat.append(cat)
    places = [*words["venues"], *person.spec.cities]
    # Where friends meet: a few well-known places and the cafes the user pays at.
    eateries = [*words["eateries"], *(shop for shop, cat in zip(local_shops, local_cat, strict=True)
                                      if cat == "dining")]
    return Pools(
        products=products,
        merchants=np.array(local_shops, dtype=object),
        merchant_category=np.array(local_cat, dtype=object),
        places=np.array(places, dtype=object),
        eateries=np.array(eateries, dtype=object),
        work_topics=np.array(words["work_topics"], dtype=object),
        personal_topics=np.array(words["personal_topics"], dtype=object),
        news_sources=np.array(words["news_sources"], dtype=object),
        companies=np.array([fake.company() for _ in range(12)], dtype=object),
        carriers=np.array(words["carriers"], dtype=object),
        airlines=np.array(words["airlines"], dtype=object),
        bank=words["banks"][int(rng.integers(len(words["banks"])))],
        subscriptions=words["subscription_providers"],
        fx=fx,
    )


def pick(rng: np.random.Generator, pool: np.ndarray, n: int) -> np.ndarray:
    return pool[rng.integers(0, len(pool), n)]


def pick_weighted(rng: np.random.Generator, weights: Mapping[str, float], n: int) -> np.ndarray:
    """``n`` of the names in ``weights``, each drawn with its weight's share."""
    p = np.array(list(weights.values()), dtype=float)
    return np.array(list(weights), dtype=object)[rng.choice(len(p), n, p=p / p.sum())]


def sender_address(name: str) -> str:
    return f"hello@{slug(name)[:40]}.example"
