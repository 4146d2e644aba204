from sim.services.base import TS, ServiceSpec, TableSpec, col, text

SERVICE = ServiceSpec(
    name="social",
    description="A news and social feed: articles from outlets, posts from people followed.",
    devices=("phone", "web"),
    tables=(
        TableSpec(
            name="feed_posts",
            description="Posts and articles shown in the feed.",
            id_prefix="fp_",
            created_column="posted_at",
            columns=(
                col("source"),
                col("author"),
                col("post_type"),  # article, post
                text("headline"),
                text("text"),
                col("posted_at", TS),
            ),
        ),
    ),
    event_kinds=("article_published", "post_published"),
    feeds=("device_activity", "notes"),
)
