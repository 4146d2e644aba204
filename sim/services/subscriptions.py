import pyarrow as pa

from sim.services.base import ServiceSpec, TableSpec, col

SERVICE = ServiceSpec(
    name="subscriptions",
    description="Paid plans (streaming, software, gym) and their renewals.",
    devices=("laptop", "phone", "web"),
    tables=(
        TableSpec(
            name="subscriptions",
            description="One row per version of a subscription; a renewal moves next_renewal.",
            id_prefix="sb_",
            columns=(
                col("provider"),
                col("plan"),
                col("price_minor", pa.int64()),
                col("currency"),
                col("cadence"),
                col("next_renewal", pa.date32()),
                col("status"),  # active, cancelled
            ),
        ),
    ),
    event_kinds=("subscription_renewed", "subscription_price_changed", "subscription_started"),
    requires=("bank",),
    feeds=("bank", "personal_email"),
)
