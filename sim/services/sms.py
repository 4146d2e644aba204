from sim.services.base import TS, ServiceSpec, TableSpec, col, text

SERVICE = ServiceSpec(
    name="sms",
    description="Text messages: family, friends, one-time codes, delivery and appointment texts.",
    devices=("phone",),
    tables=(
        TableSpec(
            name="sms_messages",
            description="One row per text message.",
            id_prefix="sm_",
            created_column="sent_at",
            columns=(
                col("conversation_id"),
                col("phone_number"),
                col("contact_name"),
                col("direction"),  # incoming, outgoing
                text("text"),
                col("sent_at", TS),
            ),
        ),
    ),
    event_kinds=("sms_received", "sms_sent"),
    requires=("contacts",),
    feeds=("calls", "calendar", "device_activity"),
)
