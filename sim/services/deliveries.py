import pyarrow as pa

from sim.services.base import TS, ServiceSpec, TableSpec, col, ref, text

SERVICE = ServiceSpec(
    name="deliveries",
    description="Parcel tracking: shipments and their status updates.",
    devices=("phone", "web"),
    tables=(
        TableSpec(
            name="shipments",
            description="One row per status update of a shipment.",
            id_prefix="sh_",
            columns=(
                ref("order_id", "shop_orders"),
                col("carrier"),
                col("tracking_number"),
                col("status"),  # label_created, in_transit, out_for_delivery, delivered
                text("status_detail"),
                col("location"),
                col("estimated_delivery", pa.date32()),
                col("updated_at", TS),
            ),
        ),
    ),
    event_kinds=("shipment_created", "shipment_scanned", "shipment_dispatched",
                 "shipment_delivered"),
    requires=("shopping",),
    feeds=("sms", "personal_email", "shopping"),
)
