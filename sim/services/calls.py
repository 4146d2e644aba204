import pyarrow as pa

from sim.services.base import TS, ServiceSpec, TableSpec, col, text

SERVICE = ServiceSpec(
    name="calls",
    description="The phone's call log and voicemail transcripts.",
    devices=("phone",),
    tables=(
        TableSpec(
            name="call_log",
            description="One row per call; missed calls may carry a voicemail transcript.",
            id_prefix="cl_",
            created_column="started_at",
            columns=(
                col("phone_number"),
                col("contact_name"),
                col("direction"),  # incoming, outgoing, missed
                col("started_at", TS),
                col("duration_seconds", pa.int32()),
                text("voicemail_transcript"),
            ),
        ),
    ),
    event_kinds=("call_received", "call_placed", "call_missed"),
    requires=("contacts",),
    feeds=("sms", "device_activity"),
)
