from sim.services._mail import mailbox_table
from sim.services.base import ServiceSpec

SERVICE = ServiceSpec(
    name="work_email",
    description="The employer's mailbox: threads with colleagues, clients and vendors.",
    devices=("laptop", "phone", "web"),
    tables=(mailbox_table("work_emails", "wm_", "Messages in the work mailbox."),),
    event_kinds=("email_received", "email_sent", "email_forwarded"),
    requires=("contacts", "calendar"),
    feeds=("calendar", "notes", "todos", "device_activity"),
)
