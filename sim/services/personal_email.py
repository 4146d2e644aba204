from sim.services._mail import mailbox_table
from sim.services.base import ServiceSpec

SERVICE = ServiceSpec(
    name="personal_email",
    description="The user's private mailbox: friends, family, receipts, newsletters, spam.",
    devices=("laptop", "phone", "web"),
    tables=(mailbox_table("personal_emails", "pm_", "Messages in the personal mailbox."),),
    event_kinds=("email_received", "email_sent", "email_forwarded"),
    requires=("contacts",),
    feeds=("calendar", "todos", "device_activity"),
)
