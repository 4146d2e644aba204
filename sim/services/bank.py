import pyarrow as pa

from sim.services.base import TS, ServiceSpec, TableSpec, col, ref, text

# How the user's own transfers to and from savings read: while money is away on savings
# (a storyline holding the balance down, ``personas.routines.ledger.Hold``) the checking
# account may run low, even below zero; at any other time it never does (``sim.check``).
TO_SAVINGS, FROM_SAVINGS = "ONLINE TRANSFER TO SAVINGS", "ONLINE TRANSFER FROM SAVINGS"
# How a card charge reads: "ONLINE <shop>" when paid on a web shop (an order in the shopping
# app, or the shop's own site), "CARD PURCHASE <merchant>" when paid in person. Storyline
# files write the same words in their templates ("ONLINE {product.merchant}").
ONLINE, IN_PERSON = "ONLINE ", "CARD PURCHASE "

SERVICE = ServiceSpec(
    name="bank",
    description="Accounts, card and transfer transactions, recurring bills and salary.",
    devices=("phone", "web"),
    tables=(
        TableSpec(
            name="bank_accounts",
            description="Accounts; a new version each day the balance changes.",
            id_prefix="ba_",
            columns=(
                col("name"),
                col("account_type"),  # checking, savings, credit_card
                col("masked_number"),
                col("currency"),
                col("balance_minor", pa.int64()),
            ),
        ),
        TableSpec(
            name="bank_transactions",
            description="Posted transactions; amounts in integer minor units, debits negative.",
            id_prefix="bt_",
            created_column="posted_at",
            columns=(
                ref("account_id", "bank_accounts"),
                col("posted_at", TS),
                text("description"),
                col("merchant"),
                col("category"),
                col("amount_minor", pa.int64()),
                col("currency"),
                col("balance_after_minor", pa.int64()),
                ref("related_id"),
            ),
        ),
        TableSpec(
            name="bank_recurring",
            description="Recurring bills and incomes the bank knows about.",
            id_prefix="br_",
            columns=(
                ref("account_id", "bank_accounts"),
                col("payee"),
                col("amount_minor", pa.int64()),
                col("currency"),
                col("cadence"),  # monthly, weekly, biweekly
                col("next_due", pa.date32()),
                col("autopay", pa.bool_()),
            ),
        ),
    ),
    event_kinds=("salary_deposited", "card_charged", "bill_paid", "transfer_made",
                 "balance_updated", "recurring_scheduled", "refund_received"),
    feeds=("personal_email", "sms", "device_activity"),
)
