import pyarrow as pa

from sim.services.base import TS, ServiceSpec, TableSpec, col, ref, text

SERVICE = ServiceSpec(
    name="price_tracker",
    description="Watches products and alerts when a price crosses a target.",
    devices=("phone", "web"),
    tables=(
        TableSpec(
            name="price_watches",
            description="Products the user watches, with a target price.",
            id_prefix="pw_",
            columns=(
                ref("product_id", "shop_products"),
                text("product_title"),
                col("target_price_minor", pa.int64()),
                col("currency"),
                col("created_at", TS),
            ),
        ),
        TableSpec(
            name="price_history",
            description="Observed prices of watched products.",
            id_prefix="ph_",
            created_column="observed_at",
            columns=(
                ref("product_id", "shop_products"),
                col("price_minor", pa.int64()),
                col("currency"),
                col("observed_at", TS),
            ),
        ),
        TableSpec(
            name="price_alerts",
            description="Alerts sent when a watched price moved.",
            id_prefix="pa_",
            created_column="alerted_at",
            columns=(
                ref("product_id", "shop_products"),
                col("old_price_minor", pa.int64()),
                col("new_price_minor", pa.int64()),
                col("currency"),
                text("message"),
                col("alerted_at", TS),
            ),
        ),
    ),
    event_kinds=("watch_created", "price_changed", "price_dropped"),
    requires=("shopping",),
    feeds=("personal_email", "shopping", "device_activity"),
)
