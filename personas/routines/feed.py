"""What arrives unasked: the news and social feed, newsletters, promotions and spam."""

from __future__ import annotations

from functools import partial

import numpy as np

from personas.life import DAY_PROFILE, Life
from personas.pools import pick
from personas.routines.notify import inbox_of, org_mail
from sim.clock import DAY

# Publishers post around the clock, peaking in the morning.
_PUBLISHING = np.roll(DAY_PROFILE, -1) + 0.3


def install(life: Life) -> None:
    if life.world.has("social"):
        life.world.every(partial(_feed_period, life))
    if inbox_of(life):
        life.world.every(partial(_mail_period, life))


def _feed_period(life: Life, *, days: range) -> None:
    rng = life.world.rng.stream("social")
    item_days = life.item_days("feed", days, rng)
    n = len(item_days)
    if n == 0:
        return
    ts = life.at_hours(item_days, rng, profile=_PUBLISHING)
    c, pools = life.person.contacts, life.pools
    article = rng.random(n) < 0.6
    friends = c.of_kind("friends", "family", "coworkers")
    who = friends[rng.integers(0, len(friends), n)]
    source = np.where(article, pick(rng, pools.news_sources, n), "Social")
    topic = np.where(rng.random(n) < 0.5, pick(rng, np.array(life.person.interests, dtype=object),
                                                n), pick(rng, pools.personal_topics, n))
    slots = {"source": source, "topic": topic, "place": pick(rng, pools.places, n),
             "company": pick(rng, pools.companies, n), "first": c.first_name[who],
             "product": pick(rng, pools.products.title, n)}
    g = life.grammar
    headline = np.where(article, g.sentences("feed_article", rng, slots, n, pool="subjects")
                        .to_numpy(zero_copy_only=False), "")
    body = np.empty(n, dtype=object)
    if article.any():
        body[article] = g.documents("feed_article", rng, {k: v[article] for k, v in slots.items()},
                                    rng.integers(2, 5, int(article.sum()))).to_numpy(
            zero_copy_only=False)
    if (~article).any():
        body[~article] = g.documents("feed_post", rng, {k: v[~article] for k, v in slots.items()},
                                     rng.integers(1, 3, int((~article).sum()))).to_numpy(
            zero_copy_only=False)
    life.world.emit(
        "feed_posts", np.where(article, "article_published", "post_published"), ts,
        {"source": source, "author": np.where(article, source, c.full_name[who]),
         "post_type": np.where(article, "article", "post"), "headline": headline, "text": body,
         "posted_at": ts},
        actor=np.where(article, source, c.full_name[who]).tolist(),
    )


def _mail_period(life: Life, *, days: range) -> None:
    rng = life.world.rng.stream("mail/bulk")
    pools = life.pools
    for volume, intent, folder in (("newsletters", "newsletter", "updates"),
                                   ("promotions", "promotion", "promotions"),
                                   ("spam", "spam", "spam")):
        item_days = life.item_days(volume, days, rng)
        n = len(item_days)
        if n == 0:
            continue
        ts = life.at_hours(item_days, rng, profile=_PUBLISHING)
        prod = rng.integers(0, len(pools.products), n)
        if intent == "newsletter":
            org = pick(rng, pools.news_sources, n)
        elif intent == "spam":
            org = np.array([f"{c.split()[0].strip(',.')} Rewards Center" for c in
                            pick(rng, pools.companies, n)], dtype=object)
        else:
            org = pools.products.merchant[prod]
        book = life.state.get("prices")  # the shop's price at that moment, if it has one
        price = book.at(prod, ts) if book is not None else pools.products.price_minor[prod]
        slots = {"source": org, "topic": pick(rng, np.array(life.person.interests, dtype=object),
                                              n),
                 "product": pools.products.title[prod], "amount": life.money(price),
                 "date": life.dates(ts + rng.integers(2, 10, n) * DAY), "merchant": org,
                 "percent": rng.choice(["10%", "15%", "20%", "25%", "30%", "40%"], n)
                 .astype(object),
                 "code": np.array([f"SAVE{x}" for x in rng.integers(10, 99, n)], dtype=object)}
        org_mail(life, rng, ts, org=org, intent=intent, slots=slots, folder=folder,
                 greet=intent != "newsletter", sentences=(3, 6))
    if days.start == 0:  # drawn for the whole window at once
        _notices(life, range(0, life.world.days))


# Kinds of business a one-off sender may be (with a company's name in front).
_ONE_OFF = np.array(["Tickets", "Events", "Parking", "Rentals", "Dental", "Learning", "Hotels",
                     "Repairs", "Surveys", "Cloud", "Photo", "Books", "Fitness", "Travel",
                     "Insurance", "Home Services"], dtype=object)


def _notices(life: Life, days: range) -> None:
    """Mail from services the user dealt with once or twice: accounts, tickets, surveys."""
    rng = life.world.rng.stream("mail/notices")
    item_days = life.item_days("promotions", days, rng, scale=0.3)
    n = len(item_days)
    if n == 0:
        return
    ts = life.at_hours(item_days, rng, profile=_PUBLISHING)
    org = np.array([f"{c.split()[0].strip(',.')} {k}" for c, k in zip(
        pick(rng, life.pools.companies, n), pick(rng, _ONE_OFF, n), strict=True)], dtype=object)
    slots = {"org": org, "date": life.dates(ts + rng.integers(1, 20, n) * DAY, weekday=True),
             "code": np.array([f"{x:08d}" for x in rng.integers(0, 10**8, n)], dtype=object)}
    org_mail(life, rng, ts, org=org, intent="account_notice", slots=slots, folder="updates",
             greet=True, sentences=(2, 4))
