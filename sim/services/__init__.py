"""The service catalogue: every app lifeloom can install, one module each."""

from __future__ import annotations

from sim.services import (
    bank,
    calendar,
    calls,
    chat,
    contacts,
    deliveries,
    device_activity,
    notes,
    personal_email,
    price_tracker,
    shopping,
    sms,
    social,
    subscriptions,
    todos,
    travel,
    work_email,
)
from sim.services.base import ServiceSpec, TableSpec

CATALOGUE: dict[str, ServiceSpec] = {
    m.SERVICE.name: m.SERVICE
    for m in (
        personal_email, work_email, calendar, chat, sms, calls, contacts, notes, todos,
        bank, shopping, price_tracker, deliveries, travel, subscriptions, social,
        device_activity,
    )
}

TABLES: dict[str, TableSpec] = {t.name: t for s in CATALOGUE.values() for t in s.tables}
TABLE_SERVICE: dict[str, str] = {t.name: s.name for s in CATALOGUE.values() for t in s.tables}

__all__ = ["CATALOGUE", "TABLES", "TABLE_SERVICE", "ServiceSpec", "TableSpec"]
