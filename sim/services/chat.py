import pyarrow as pa

from sim.services.base import TS, ServiceSpec, TableSpec, col, ref, text

SERVICE = ServiceSpec(
    name="chat",
    description="Team chat: channels and direct messages with colleagues.",
    devices=("laptop", "phone"),
    tables=(
        TableSpec(
            name="chat_channels",
            description="Channels and DMs the user belongs to.",
            id_prefix="cc_",
            columns=(
                col("name"),
                text("topic"),
                col("is_dm", pa.bool_()),
                col("member_count", pa.int32()),
                col("created_at", TS),
            ),
        ),
        TableSpec(
            name="chat_messages",
            description="Messages in channels and DMs.",
            id_prefix="cm_",
            created_column="sent_at",
            columns=(
                ref("channel_id", "chat_channels"),
                col("sender_name"),
                col("sender_handle"),
                text("text"),
                col("sent_at", TS),
                ref("reply_to", "chat_messages"),
            ),
        ),
    ),
    event_kinds=("chat_message_received", "chat_message_sent", "chat_channel_joined"),
    requires=("contacts",),
    feeds=("calendar", "todos", "device_activity"),
)
