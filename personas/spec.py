"""PersonaSpec: who the user is, as a TOML file validated on load.

Every model forbids unknown keys, so a typo is an error naming the file and key rather than
a silently ignored setting. Rates are per local day; shares are fractions in [0, 1].
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sim.clock import UnknownTimezoneError, zone
from sim.services import CATALOGUE

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
Share = Annotated[float, Field(ge=0.0, le=1.0)]
Rate = Annotated[float, Field(ge=0.0, le=500.0)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def digest(data: Any) -> str:
    """A digest of JSON-able spec data (models as ``model_dump(mode="json")``), the same
    whatever the key order or hash seed: what a manifest keeps to say which specs made it."""
    text = json.dumps(data, sort_keys=True)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


class WorkBlockSpec(Strict):
    """A recurring stretch of work; ``end`` before ``start`` means it runs past midnight."""

    days: list[Weekday] = Field(min_length=1)
    start: str
    end: str
    description: str = ""

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, v: str) -> str:
        if not _HHMM.match(v):
            raise ValueError(f"expected HH:MM, got {v!r}")
        return v

    @property
    def overnight(self) -> bool:
        return minutes(self.end) <= minutes(self.start)


class WorkSpec(Strict):
    description: str = ""
    blocks: list[WorkBlockSpec] = Field(default_factory=list)
    in_calendar: bool = False  # each block appears in the calendar (rotas, gigs, lessons)
    works_public_holidays: bool = False
    mail_outside_hours: Share = 0.03  # share of user-sent work mail outside work blocks
    # User-sent work mail on a public holiday as a share of what would otherwise go out.
    holiday_mail_share: Annotated[float, Field(ge=0.0, le=0.2)] = 0.1


class VolumeSpec(Strict):
    """Expected items per working day (other days are scaled by ``weekend_factor``)."""

    work_email: Rate = 0
    personal_email: Rate = 0
    chat: Rate = 0
    sms: Rate = 0
    calls: Rate = 0
    meetings: Rate = 0
    personal_events: Rate = 0
    notes: Rate = 0
    todos: Rate = 0
    card_purchases: Rate = 0
    orders: Rate = 0
    feed: Rate = 0
    newsletters: Rate = 0
    promotions: Rate = 0
    spam: Rate = 0
    trips_per_month: Rate = 0
    device_sessions: Rate = 0
    weekend_factor: Annotated[float, Field(ge=0.0, le=5.0)] = 0.3


class ContactMixSpec(Strict):
    """How many contacts of each kind the address book holds (before the +-20% variation)."""

    family: int = Field(ge=0, le=60)
    friends: int = Field(ge=0, le=80)
    coworkers: int = Field(ge=0, le=80)
    clients: int = Field(0, ge=0, le=80)
    vendors: int = Field(0, ge=0, le=40)
    services: int = Field(0, ge=0, le=40)  # doctor, landlord, mechanic, school...

    @model_validator(mode="after")
    def _total(self) -> ContactMixSpec:
        total = self.family + self.friends + self.coworkers + self.clients
        total += self.vendors + self.services
        if not 34 <= total <= 125:
            raise ValueError(f"contacts must total 34-125 before variation, got {total}")
        return self


class BillSpec(Strict):
    """A bill the user pays every month, by AutoPay or by hand."""

    payee: str
    amount_minor: int = Field(gt=0)
    day_of_month: int = Field(ge=1, le=28)
    autopay: bool = True
    # What the user calls it ("water bill", "car insurance premium"): storylines about the
    # bill say it this way. Without it, "<payee> bill".
    what: str | None = Field(None, min_length=1)

    @property
    def called(self) -> str:
        return self.what or f"{self.payee} bill"


class MoneySpec(Strict):
    """Amounts in integer minor units of ``currency``."""

    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    salary_minor: int = Field(ge=0)
    salary_cadence: Literal["monthly", "biweekly", "weekly", "none"] = "monthly"
    pension_minor: int = Field(0, ge=0)
    rent_minor: int = Field(ge=0)
    opening_balance_minor: int = Field(ge=0)
    typical_purchase_minor: int = Field(gt=0)
    bills: list[BillSpec] = Field(default_factory=list)


class IntegrationSpec(Strict):
    """An extra install-time dependency the user set up (e.g. todos synced to calendar)."""

    service: str
    requires: str
    description: str = ""


class PersonaSpec(Strict):
    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    description: str
    occupation: str
    locale: str = "en_US"
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
    subdivision: str | None = None
    timezone: str
    cities: list[str] = Field(min_length=1)
    # The IATA code of the airport trips leave from (the first city may have none: Yonkers
    # flies from White Plains); without it a departure is at "<city> airport".
    airport: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None = None
    employer: str | None = None  # None: a generated company name; "self" for self-employed
    household: str = ""
    interests: list[str] = Field(min_length=3)
    projects: list[str] = Field(min_length=2)
    services: list[str] = Field(min_length=4)
    integrations: list[IntegrationSpec] = Field(default_factory=list)
    work: WorkSpec
    volume: VolumeSpec
    contacts: ContactMixSpec
    money: MoneySpec

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            zone(v)
        except UnknownTimezoneError as exc:
            raise ValueError(str(exc)) from None
        return v

    @field_validator("services")
    @classmethod
    def _services(cls, v: list[str]) -> list[str]:
        for name in v:
            if name not in CATALOGUE:
                raise ValueError(
                    f"unknown service {name!r}; known: {', '.join(sorted(CATALOGUE))}"
                )
        if len(set(v)) != len(v):
            raise ValueError("a service is listed twice")
        return v

    def cross_field_problems(self) -> list[tuple[str, str]]:
        """Checks that span several keys, as (key, why) pairs; empty when the spec is sound."""
        out = []
        c = self.contacts
        if c.family + c.friends < 5:
            out.append(("contacts", "needs at least 5 family and friends to write to"))
        works = {"work_email", "chat"} & set(self.services)
        if works and c.coworkers + c.clients + c.vendors < 3:
            out.append(("contacts", f"{sorted(works)[0]} needs at least 3 coworkers, clients "
                                    "or vendors"))
        for name, rate in self.volume.model_dump().items():
            service = _VOLUME_SERVICE.get(name)
            if rate and service and service not in self.services:
                out.append((f"volume.{name}", f"is {rate:g} but {service} is not installed"))
        return out

    @field_validator("locale")
    @classmethod
    def _locale(cls, v: str) -> str:
        if not re.match(r"^[a-z]{2}_[A-Z]{2}$", v):
            raise ValueError(f"expected a locale like en_US, got {v!r}")
        return v


# Which service a volume rate drives (rates for services the persona lacks are mistakes).
_VOLUME_SERVICE = {
    "work_email": "work_email", "personal_email": "personal_email", "chat": "chat",
    "sms": "sms", "calls": "calls", "meetings": "calendar", "personal_events": "calendar",
    "notes": "notes", "todos": "todos", "card_purchases": "bank", "orders": "shopping",
    "feed": "social", "trips_per_month": "travel", "device_sessions": "device_activity",
}


def default_start() -> dt.date:
    return dt.date(2026, 1, 5)


# Beyond these, a window's date arithmetic (a few days either side of it) overflows.
FIRST_DAY, LAST_DAY = dt.date(1, 1, 10), dt.date(9998, 12, 31)


def window_error(start: dt.date, days: int) -> str | None:
    """Why a world of ``days`` days from ``start`` cannot be lived (None when it can)."""
    if start < FIRST_DAY:
        return f"{start} is before {FIRST_DAY}, the first day a world can hold"
    if start > LAST_DAY - dt.timedelta(days=days):
        return f"{start} plus {days} days runs past {LAST_DAY}, the last day a world can hold"
    return None
