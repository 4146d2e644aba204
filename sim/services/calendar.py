import pyarrow as pa

from sim.services.base import TS, ServiceSpec, TableSpec, col, text

SERVICE = ServiceSpec(
    name="calendar",
    description="Meetings, appointments, trips and all-day reminders; invitations arrive by mail.",
    devices=("laptop", "phone", "web"),
    tables=(
        TableSpec(
            name="calendar_events",
            description="One row per version of an event; a reschedule is a new version.",
            id_prefix="ce_",
            columns=(
                col("series_id"),
                text("title"),
                text("description"),
                col("location"),
                col("start", TS),
                col("end", TS),
                col("all_day", pa.bool_()),
                col("start_date", pa.date32()),  # local dates, set for all-day events
                col("end_date", pa.date32()),
                col("organizer"),
                col("attendees"),
                col("status"),  # confirmed, tentative, cancelled
                col("calendar"),  # work, personal, family
            ),
        ),
    ),
    event_kinds=("event_invited", "event_created", "event_rescheduled", "event_cancelled"),
    requires=("contacts",),
    feeds=("work_email", "notes", "todos", "device_activity"),
)
