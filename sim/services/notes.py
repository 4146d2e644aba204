from sim.services.base import TS, ServiceSpec, TableSpec, col, ref, text

SERVICE = ServiceSpec(
    name="notes",
    description="Free-form notes: meeting notes, lists, plans, reminders to self.",
    devices=("laptop", "phone", "web"),
    tables=(
        TableSpec(
            name="notes",
            description="One row per version of a note; an edit is a new version.",
            id_prefix="nt_",
            columns=(
                col("folder"),
                text("title"),
                text("body"),
                col("updated_at", TS),
                ref("related_id"),
            ),
        ),
    ),
    event_kinds=("note_created", "note_edited"),
    feeds=("todos", "device_activity"),
)
