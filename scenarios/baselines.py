"""Baseline agents: fixed strategies that act only through a task's tools.

They anchor the benchmark's scale (issue 5): ``oracle`` replays the reference solution and
should pass everything, ``null`` does nothing and should pass almost nothing, and
``naive`` is an honest, simple assistant that never reads gold data:

1. its view of the world is the prompt and each app's recent records: the first page each
   service's list tool shows (``PAGE`` records: newest first; the calendar's agenda from
   today, soonest first), as a phone screen or a context budget would hold them. It
   builds a keyword query from the prompt (stop words dropped; names, numbers and long
   words first) and searches that view with the three most distinctive words, dropping
   the least distinctive while nothing matches (the search tools' rule: every word a
   token of a searched field); it looks in the services
   the prompt names ("my bank account", "my texts": ``SERVICE_WORDS``) when it names any
   and they match, else in every installed service; if no query matches, it keeps the
   recent records sharing any prompt word. More noise pushes a story's records off that
   page. ``window=None`` searches each service's whole default window with its search
   tool instead: the distinctive names a prompt gives keep that variant on the story's
   records at any noise (``benchmarks/README.md`` measures both);
2. it reads the newest match of each of the (up to) three services with the most recent
   matches, most recent first;
3. for each action the prompt asks for as a command (a verb opening a clause: pay, cancel,
   reply, send, ask, tell, delete, mark done...), it calls that verb once, on the most
   recent record whose service has the tool, with only the arguments the tool's JSON
   Schema requires, filled from the record (a message's body is the prompt itself);
4. it answers with those records' readable text;
5. at heartbeats (proactive episodes) it first notifies the user about the most recent
   alert-like record (due, overdue, failed, declined...) among each service's recent ones.

Agents hold no state between calls and use no randomness or clock, so a run is a pure
function of the prompt and the workspace. Nothing here reads or writes files.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sim.services import TABLES
from sim.tools import PAGE, Toolbox
from sim.tools.reading import searched_columns

AGENTS = ("naive", "null", "oracle")
QUERY_WORDS = 3  # the most distinctive words tried together first
_TOKEN = re.compile(r"[\w']+")
_WORD = re.compile(r"\w+")
# A word standing on its own, not part of a hyphenated compound: "cross" in "cross it off"
# asks for something, in "cross-lingual" it does not.
_FREE_WORD = re.compile(r"(?<![\w-])\w+(?![\w-])")
# Words that say nothing about which record is meant (dates are written many ways).
STOP_WORDS = frozenset({
    "a", "about", "after", "again", "all", "also", "am", "an", "and", "any", "anything", "are",
    "as", "ask", "at", "be", "because", "been", "before", "being", "both", "but", "by", "can",
    "could", "did", "do", "does", "done", "don't", "each", "even", "every", "for", "from",
    "get", "give", "go", "going", "got", "had", "has", "have", "having", "he", "her", "here",
    "him", "his", "how", "i", "i'd", "i'll", "i'm", "if", "in", "into", "is", "it", "it's",
    "its", "just", "keep", "know", "let", "like", "look", "make", "may", "me", "might", "more",
    "most", "much", "my", "need", "no", "not", "now", "of", "off", "on", "once", "one", "only",
    "or", "other", "our", "out", "over", "please", "pull", "really", "right", "said", "say",
    "see", "she", "should", "so", "some", "something", "still", "sure", "take", "tell", "than",
    "thank", "thanks", "that", "that's", "the", "their", "them", "then", "there", "these",
    "they", "thing", "things", "this", "those", "through", "to", "today", "too", "up", "us",
    "very", "want", "was", "way", "we", "well", "were", "what", "what's", "when", "where",
    "whether", "which", "while", "who", "why", "will", "with", "would", "yes", "you", "your",
    "yours", "morning", "good", "day", "week", "month", "year", "monday",
    "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "january", "february",
    "march", "april", "june", "july", "august", "september", "october", "november", "december",
})
# Prompt verbs the naive agent acts on, and the tool verbs each maps to (first that exists).
ACTIONS = {
    "pay": ("pay",), "cancel": ("cancel",), "stop": ("cancel",), "book": ("book",),
    "delete": ("delete",), "remove": ("delete",),
    "reply": ("reply", "send"), "answer": ("reply", "send"), "respond": ("reply", "send"),
    "send": ("send", "reply"), "text": ("send", "reply"), "message": ("send", "reply"),
    "email": ("reply", "send"), "write": ("reply", "send"), "ask": ("reply", "send"),
    "contact": ("reply", "send"), "tell": ("reply", "send"), "let": ("reply", "send"),
    "warn": ("reply", "send"),
}
# Words anywhere in the prompt that ask for a to-do to be ticked off ("mark it done").
DONE_WORDS = frozenset({"done", "complete", "cross", "tick"})
# Words after which a verb is an instruction ("and send", "please pay", "can you reply").
_OPENERS = frozenset({"and", "then", "please", "also", "just", "to", "you", "pls", "now",
                      "so"})
# Words by which a user says where to look, and the services they name.
SERVICE_WORDS = {
    "bank": ("bank",), "card": ("bank",), "statement": ("bank",), "transactions": ("bank",),
    "checking": ("bank",), "autopay": ("bank",),
    "calendar": ("calendar",), "texts": ("sms",), "sms": ("sms",), "texted": ("sms",),
    "text messages": ("sms",), "text message": ("sms",),
    "inbox": ("personal_email", "work_email"), "email": ("personal_email", "work_email"),
    "emails": ("personal_email", "work_email"), "mail": ("personal_email", "work_email"),
    "emailed": ("personal_email", "work_email"), "chat": ("chat",), "notes": ("notes",),
    "note": ("notes",), "to-do": ("todos",), "to-dos": ("todos",), "tracker": ("price_tracker",),
    "subscriptions": ("subscriptions",), "deliveries": ("deliveries",),
    "tracking": ("deliveries",), "contacts": ("contacts",), "voicemail": ("calls",),
    "voicemails": ("calls",),
    "calls": ("calls",), "bookings": ("travel",), "drafts": ("device_activity",),
}
# An email word after one of these names that inbox only ("my work email").
INBOX_WORDS = {"personal": "personal_email", "work": "work_email"}
# Words that say where to look, not what: they stay out of search queries.
PLACE_WORDS = frozenset(SERVICE_WORDS) | {"personal", "account", "app", "messages"}
ALERT_WORDS = frozenset({"due", "overdue", "failed", "declined", "alert", "reminder",
                         "moved", "delayed", "cancelled", "price", "refund"})


class Agent(Protocol):
    """What the baseline runner drives: one prompt, one toolbox, one reply. Tool calls go
    through ``box.call`` so ``box.log`` records them."""

    name: str

    def act(self, prompt: str, box: Toolbox, *, heartbeat: bool) -> str: ...


@dataclass(frozen=True)
class OracleAgent:
    """Replays the reference solution's calls for one episode and gives its reply."""

    calls: Sequence[Mapping[str, Any]] = ()
    reply: str = ""
    name: str = "oracle"

    def act(self, prompt: str, box: Toolbox, *, heartbeat: bool) -> str:
        for call in self.calls:
            box.call(call["tool"], dict(call.get("args", {})))
        return self.reply


@dataclass(frozen=True)
class NullAgent:
    """No tool calls, an empty reply."""

    name: str = "null"

    def act(self, prompt: str, box: Toolbox, *, heartbeat: bool) -> str:
        return ""


@dataclass(frozen=True)
class Match:
    service: str
    table: str
    record: Mapping[str, Any]

    @functools.cached_property
    def words(self) -> frozenset[str]:
        """The words a search tool matches in the record (its searched fields)."""
        return frozenset(w.lower() for c in searched_columns(self.table)
                         for w in _WORD.findall(str(self.record.get(c) or "")))

    @property
    def at(self) -> str:
        """When the record happened, as the tools order it: an instant in UTC (shown with
        the user's offset, which changes with daylight saving), so ISO strings sort in time."""
        column = "start" if self.table == "calendar_events" else TABLES[self.table].created_column
        value = str(self.record.get(column) or "") if column else ""
        if "T" not in value:  # a day, or nothing
            return value
        return dt.datetime.fromisoformat(value).astimezone(dt.UTC).isoformat()


@dataclass(frozen=True)
class NaiveAgent:
    """Keyword search, the most recent matches, the actions asked for, their text as the
    answer. ``words`` is how many keywords the first query holds; ``per_service`` how
    many services' newest matches it reads and reports (1: the most recent match only);
    ``window`` how many recent records of each service it sees (None: it searches each
    service's whole default window with the search tools)."""

    name: str = "naive"
    words: int = QUERY_WORDS
    per_service: int = 3
    alert_words: frozenset[str] = field(default=ALERT_WORDS)
    window: int | None = PAGE

    def act(self, prompt: str, box: Toolbox, *, heartbeat: bool) -> str:
        said = []
        recent = recent_records(box, self.window or PAGE)
        if heartbeat:
            alert = self._alert(recent)
            if alert is not None:
                text = readable(alert)
                box.call("notify_user", {"title": f"Heads-up from {alert.service}",
                                         "body": text, "refs": [alert.record["record_id"]]})
                said.append(text)
        found = []
        for match in self._find(prompt, box, recent)[: self.per_service]:
            read = box.call(f"{match.service}_read", {"id": match.record["record_id"]})
            found.append(Match(match.service, read.get("table", match.table),
                               read.get("record", match.record)))
        if found:
            done = self._act(prompt, box, found)
            said += [readable(m) for m in found]
            if done:
                said.append(f"Done: {', '.join(done)}.")
        return "\n\n".join(said)

    # -- finding ---------------------------------------------------------------------------

    def _find(self, prompt: str, box: Toolbox, recent: Sequence[Match]) -> list[Match]:
        """The newest match of each service for the most distinctive query that matches
        anything, most recent first (in the services the prompt names, if they match);
        else recent records sharing a prompt word."""
        ranked = [w for w in keywords(prompt) if w not in PLACE_WORDS][: self.words]
        installed = services(box)
        named = [s for s in named_services(prompt) if s in installed]
        for where in ([named] if named else []) + [installed]:
            for size in range(len(ranked), 0, -1):  # back off: drop the least distinctive
                query = ranked[:size]
                hits = (self._search(box, query, where) if self.window is None else
                        [m for m in recent if m.service in where and set(query) <= m.words])
                if hits:
                    return newest_first(hits, per_service=True)
        words = set(keywords(prompt))
        return newest_first([m for m in recent if words & m.words], per_service=True)

    def _search(self, box: Toolbox, query: Sequence[str], where: Sequence[str]) -> list[Match]:
        """Each service's newest hit for ``query`` from its search tool."""
        hits = []
        for service in where:
            result = box.call(f"{service}_search", {"query": " ".join(query)})
            hits += [Match(service, result["table"], r) for r in result.get("results", [])[:1]]
        return hits

    def _alert(self, recent: Sequence[Match]) -> Match | None:
        alerts = [m for m in recent if self.alert_words & m.words]
        return newest_first(alerts)[0] if alerts else None

    # -- acting ----------------------------------------------------------------------------

    def _act(self, prompt: str, box: Toolbox, found: Sequence[Match]) -> list[str]:
        """For each command in the prompt, one call on the most recent record whose service
        has a tool for it, with only the required arguments; the tools that succeeded."""
        wanted = [ACTIONS[w] for w in commands(prompt)]
        if asks_done(prompt):
            wanted.append(("update",))
        done: list[str] = []
        for verbs in dict.fromkeys(wanted):  # each command once
            call = _first_call(box, verbs, found, prompt)
            if call is not None and "error" not in box.call(*call):
                done.append(call[0])
        return done


def _first_call(box: Toolbox, verbs: Sequence[str], found: Sequence[Match],
                prompt: str) -> tuple[str, dict] | None:
    """The first tool (by verb preference, then recency) whose required arguments the
    found records can fill, with those arguments."""
    for verb in verbs:
        for match in found:
            tool = box.tools.get(f"{match.service}_{verb}")
            if tool is None:
                continue
            args = fill(tool.parameters, match.record, prompt, done=verb == "update")
            if args is not None:
                return tool.name, args
    return None


def make_agent(name: str, *, calls: Sequence[Mapping[str, Any]] = (), reply: str = "",
               **options: Any) -> Agent:
    """A baseline by name (``AGENTS``); ``calls`` and ``reply`` are the oracle's."""
    if name == "oracle":
        return OracleAgent(tuple(calls), reply)
    if name == "null":
        return NullAgent()
    if name == "naive":
        return NaiveAgent(**options)
    raise ValueError(f"unknown agent {name!r}; known: {', '.join(AGENTS)}")


# -- helpers --------------------------------------------------------------------------------


def services(box: Toolbox) -> list[str]:
    """Installed services that can be searched, in name order (the tools' own order)."""
    return sorted(name.removesuffix("_search") for name in box.tools if name.endswith("_search"))


def named_services(prompt: str) -> list[str]:
    """The services the prompt says to look in, in prompt order ("my personal inbox",
    "my bank account and my texts", "my text messages": a name may be two words)."""
    words = [w.lower() for w in re.findall(r"[\w'-]+", prompt)]
    out: list[str] = []
    inboxes = {INBOX_WORDS.get(before) for before, word in itertools.pairwise(words)
               if "personal_email" in SERVICE_WORDS.get(word, ())} - {None}
    for before, word in itertools.pairwise(["", *words]):
        named = SERVICE_WORDS.get(f"{before} {word}") or SERVICE_WORDS.get(word, ())
        if inboxes and len(named) > 1:  # "my work email" narrows every mention of mail
            named = tuple(s for s in named if s in inboxes)
        out += [s for s in named if s not in out]
    return out


def keywords(prompt: str) -> list[str]:
    """The prompt's words without stop words, most distinctive first: capitalised names
    (not opening a sentence), words with digits, then longer words; ties keep prompt order.
    A possessive ("Sabrina's") counts as its name."""
    seen: dict[str, tuple] = {}
    for i, found in enumerate(_TOKEN.finditer(prompt)):
        token = re.sub(r"'s$", "", found.group()).strip("'")
        word = token.lower()
        if len(word) < 3 or word in STOP_WORDS or not _WORD.fullmatch(word):
            continue
        before = prompt[: found.start()].rstrip()
        opens = not before or before[-1] in ".!?:;-"
        rank = (0 if token[:1].isupper() and not opens else
                1 if any(ch.isdigit() for ch in word) else 2, -len(word), i)
        seen.setdefault(word, rank)
    return sorted(seen, key=seen.__getitem__)


def asks_done(prompt: str) -> bool:
    """Whether the prompt asks for something to be ticked off ("mark it done", "cross it
    off"); a word inside a compound ("cross-lingual") asks for nothing."""
    return bool(DONE_WORDS & {w.lower() for w in _FREE_WORD.findall(prompt)})


def commands(prompt: str) -> list[str]:
    """The action verbs (``ACTIONS``) the prompt uses as commands, in order: a verb opens
    a clause (after punctuation, "and", "please"... or "to") and stands on its own, so "my
    text messages", "from my email" or "a pay-as-you-go plan" ask for nothing."""
    out = []
    for found in _FREE_WORD.finditer(prompt):
        word = found.group().lower()
        if word not in ACTIONS:
            continue
        before = prompt[: found.start()].rstrip()
        previous = _WORD.findall(before)[-1:]
        following = _WORD.findall(prompt[found.end():])[:1]
        if following and following[0].lower() in ("me", "us"):
            continue  # "tell me", "let me know": the answer, not a message
        if not before or before[-1] in ".,;:!?-(" or (
                previous and previous[0].lower() in _OPENERS):
            out.append(word)
    return out


def recent_records(box: Toolbox, size: int) -> list[Match]:
    """The ``size`` newest records each installed service lists (its default window)."""
    out = []
    for service in services(box):
        page, pages, rows = 1, 1, []
        while len(rows) < size and page <= pages:
            result = box.call(f"{service}_list", {"page": page})
            rows += [Match(service, result["table"], r) for r in result.get("results", [])]
            page, pages = page + 1, result.get("pages", 1)
        out += rows[:size]
    return out


def newest_first(matches: Sequence[Match], *, per_service: bool = False) -> list[Match]:
    """Matches latest first by the tools' time order (ties by service, then record id);
    ``per_service`` keeps each service's latest only."""
    ordered = sorted(matches, key=lambda m: (m.at, m.service, str(m.record.get("record_id"))),
                     reverse=True)
    if not per_service:
        return ordered
    seen: set[str] = set()
    return [m for m in ordered if not (m.service in seen or seen.add(m.service))]


def readable(match: Match) -> str:
    """A record as an app would show it: its text and values, amounts with two decimals
    and their currency, no internal ids."""
    record, lines = match.record, []
    for key, value in record.items():
        if key == "record_id" or key.endswith("_id") or value in (None, "") or isinstance(
                value, bool):
            continue
        if key.endswith("_minor") and isinstance(value, int):
            value = f"{abs(value) / 100:.2f} {record.get('currency') or ''}".strip()
        lines.append(f"{key.replace('_', ' ')}: {value}")
    return "\n".join(lines)


def fill(schema: Mapping[str, Any], record: Mapping[str, Any], prompt: str, *,
         done: bool = False) -> dict | None:
    """The required arguments of a tool, from the record (and the prompt for a message
    body); None when one cannot be filled."""
    properties = schema.get("properties", {})
    args: dict[str, Any] = {}
    for name in schema.get("required", []):
        value = _argument(name, properties.get(name, {}), record, prompt)
        if value is None:
            return None
        args[name] = value
    if done:
        if "done" not in properties.get("status", {}).get("enum", []):
            return None
        args["status"] = "done"
    return args


def _argument(name: str, spec: Mapping[str, Any], record: Mapping[str, Any],
              prompt: str) -> Any:
    if name == "id":
        return record.get("record_id")
    if name in ("body", "text"):
        return prompt
    if name == "to":
        who = record.get("from_address") or record.get("phone_number")
        return ([who] if spec.get("type") == "array" else who) if who else None
    if name == "channel":
        return record.get("channel_id")
    if name == "amount_minor":
        amount = record.get("amount_minor")
        return abs(amount) if isinstance(amount, int) and amount else None
    if name in ("payee", "provider"):
        return record.get(name) or record.get("merchant")
    if name == "subject":
        return record.get("subject") or "Re:"
    if "enum" in spec:
        return spec["enum"][0]
    value = record.get(name)
    return value if value not in (None, "") else None
