import pyarrow as pa

from sim.services.base import TS, ServiceSpec, TableSpec, col, ref, text

SERVICE = ServiceSpec(
    name="shopping",
    description="An online store: catalogue, browsing history, cart and wishlist, orders.",
    devices=("laptop", "phone", "web"),
    tables=(
        TableSpec(
            name="shop_products",
            description="The catalogue items the user has seen; a price change is a new version.",
            id_prefix="pr_",
            columns=(
                text("title"),
                col("brand"),
                col("category"),
                col("merchant"),
                col("price_minor", pa.int64()),
                col("currency"),
            ),
        ),
        TableSpec(
            name="shop_saved_items",
            description="Cart and wishlist entries.",
            id_prefix="si_",
            columns=(
                ref("product_id", "shop_products"),
                text("product_title"),  # as the list shows it
                col("list"),  # cart, wishlist
                col("quantity", pa.int32()),
                col("added_at", TS),
            ),
        ),
        TableSpec(
            name="shop_views",
            description="Product pages the user opened (where a noise profile adds them).",
            id_prefix="vw_",
            created_column="viewed_at",
            columns=(
                ref("product_id", "shop_products"),
                text("product_title"),  # as the history shows it
                col("viewed_at", TS),
            ),
        ),
        TableSpec(
            name="shop_orders",
            description="Orders; a status change is a new version.",
            id_prefix="or_",
            created_column="placed_at",
            columns=(
                col("order_number"),
                ref("product_id", "shop_products"),
                text("items"),
                col("quantity", pa.int32()),
                col("total_minor", pa.int64()),
                col("currency"),
                col("status"),  # placed, shipped, delivered, cancelled
                col("placed_at", TS),
            ),
        ),
    ),
    event_kinds=("product_listed", "product_repriced", "product_viewed", "item_saved",
                 "order_placed", "order_shipped", "order_delivered", "order_cancelled",
                 "order_returned"),
    requires=("bank",),
    feeds=("personal_email", "bank", "deliveries", "price_tracker"),
)
