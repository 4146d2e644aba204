"""The shared shape of a mailbox; personal and work email are two services with it."""

from __future__ import annotations

from sim.services.base import TS, TableSpec, col, ref, text


def mailbox_table(name: str, prefix: str, description: str) -> TableSpec:
    return TableSpec(
        name=name,
        description=description,
        id_prefix=prefix,
        created_column="sent_at",
        columns=(
            col("thread_id"),
            col("folder"),  # inbox, sent, promotions, spam, updates
            col("from_name"),
            col("from_address"),
            col("to_addresses"),  # as the To header shows them, comma separated
            col("cc_addresses"),
            text("subject"),
            text("body"),
            col("sent_at", TS),
            ref("in_reply_to", name),  # the message answered or forwarded
            ref("related_id"),  # record_id in another service this mail is about
        ),
    )
