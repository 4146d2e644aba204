import pyarrow as pa

from sim.services.base import TS, ServiceSpec, TableSpec, col, ref, text

SERVICE = ServiceSpec(
    name="todos",
    description="A to-do list with due dates; completing an item is a new version.",
    devices=("laptop", "phone", "web"),
    tables=(
        TableSpec(
            name="todos",
            description="One row per version of a to-do item.",
            id_prefix="td_",
            columns=(
                col("list"),
                text("title"),
                col("due_date", pa.date32()),
                col("status"),  # open, done
                col("completed_at", TS),
                ref("related_id"),
            ),
        ),
    ),
    event_kinds=("todo_created", "todo_completed"),
    feeds=("calendar", "device_activity"),
)
