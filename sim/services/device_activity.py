from sim.services.base import TS, ServiceSpec, TableSpec, col, ref, text

SERVICE = ServiceSpec(
    name="device_activity",
    description="What the user did on their own devices: opened, searched, viewed, drafted.",
    devices=("laptop", "phone"),
    tables=(
        TableSpec(
            name="device_activity",
            description="One row per user action an always-on assistant would observe.",
            id_prefix="da_",
    created_column="occurred_at",
            columns=(
                col("occurred_at", TS),
                col("device"),
                col("app"),
                col("action"),  # opened, searched, viewed, drafted_discarded
                ref("target_id"),
                col("query"),
                text("draft_text"),
            ),
        ),
    ),
    event_kinds=("app_opened", "search_performed", "item_viewed", "draft_discarded"),
    feeds=("personal_email", "work_email", "sms"),
)
