"""Routine life, one module per area; each ``install(life)`` registers its processes.

The order is part of the determinism contract: processes that wake at the same instant run
in installation order. Money comes first because other routines hand it their charges;
device activity comes last because it looks at what the others produced.
"""

from personas.routines import (
    calendar,
    calls,
    commerce,
    contacts,
    device,
    feed,
    mail,
    messaging,
    money,
    notes,
    travel,
)

ROUTINES = (money, contacts, mail, calendar, messaging, calls, commerce, travel, feed, notes,
            device)
