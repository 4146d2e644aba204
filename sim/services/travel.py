import pyarrow as pa

from sim.services.base import TS, ServiceSpec, TableSpec, col, text

SERVICE = ServiceSpec(
    name="travel",
    description="Flight and hotel bookings with status changes, and fare alerts.",
    devices=("laptop", "phone", "web"),
    tables=(
        TableSpec(
            name="travel_bookings",
            description="One row per version of a booking; a delay or change is a new version.",
            id_prefix="tb_",
            columns=(
                col("booking_type"),  # flight, hotel
                col("confirmation_code"),
                col("provider"),
                col("origin"),
                col("destination"),
                col("depart_at", TS),
                col("arrive_at", TS),
                col("check_in", pa.date32()),
                col("check_out", pa.date32()),
                col("status"),  # confirmed, delayed, cancelled, completed
                col("total_minor", pa.int64()),
                col("currency"),
                text("details"),
            ),
        ),
        TableSpec(
            name="travel_alerts",
            description="Fare alerts on the routes the user watches: the fare moved.",
            id_prefix="ta_",
            created_column="alerted_at",
            columns=(
                col("origin"),
                col("destination"),
                col("provider"),  # the airline
                col("usual_price_minor", pa.int64()),  # the route's usual fare
                col("price_minor", pa.int64()),  # the fare now
                col("currency"),
                text("message"),
                col("alerted_at", TS),
            ),
        ),
    ),
    event_kinds=("flight_booked", "hotel_booked", "flight_delayed", "booking_cancelled",
                 "fare_changed"),
    requires=("bank",),
    feeds=("calendar", "personal_email", "bank", "sms"),
)
