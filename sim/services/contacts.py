import pyarrow as pa

from sim.services.base import ServiceSpec, TableSpec, col, text

SERVICE = ServiceSpec(
    name="contacts",
    description="The address book: people, their numbers, addresses and birthdays.",
    devices=("laptop", "phone", "web"),
    tables=(
        TableSpec(
            name="contacts",
            description="One row per version of a contact card.",
            id_prefix="ct_",
            columns=(
                col("full_name"),
                col("email"),
                col("phone_number"),
                col("company"),
                col("job_title"),
                col("relationship"),  # family, friend, coworker, manager, client, vendor...
                col("group"),
                col("birthday", pa.date32()),
                col("address"),
                text("notes"),
            ),
        ),
    ),
    event_kinds=("contact_added", "contact_updated"),
    feeds=("personal_email", "sms", "calendar"),
)
