"""The inbox's indexes (F2 at 100,000 ratings a merchant; bench/ratings.py): every sort reads
the first page straight from an index, and the counters count from partial indexes.

Raw SQL rather than Meta.indexes: two of them are partial with an expression Django's state
cannot express on both databases alike, and none changes the models' state. SQLite and
PostgreSQL both accept this syntax.
"""

from django.db import migrations

INDEXES = {
    # Newest (or oldest) first, with the id that breaks ties: no sort, whatever the ties.
    "rating_inbox_date": "ratings_rating (merchant_id, created_at, id)",
    "rating_inbox_branch_date": "ratings_rating (merchant_id, branch_id, created_at, id)",
    "rating_inbox_score": "ratings_rating (merchant_id, score, created_at, id)",
    # Sorted by customer: walk the customers by name and each one's ratings here, so the first
    # page reads a few dozen rows, not a join of every rating (8 ms instead of 540 ms).
    "customer_inbox_name": "customers_customer (first_name, last_name, id)",
    "rating_inbox_customer": "ratings_rating (customer_id, merchant_id, created_at, id)",
    # Comments, and the comments the merchant has not read (the counters, "Inbox" first).
    "rating_inbox_comments": "ratings_rating (merchant_id, created_at) WHERE comment <> ''",
    "rating_inbox_unread": (
        "ratings_rating (merchant_id, created_at, id) "
        "WHERE comment <> '' AND comment_read_at IS NULL"
    ),
    # The customer's messages not read yet: few, looked up by rating.
    "message_inbox_unread": (
        "ratings_message (rating_id) WHERE author = 'customer' AND read_at IS NULL"
    ),
}


class Migration(migrations.Migration):
    dependencies = [("ratings", "0001_initial")]

    operations = [
        migrations.RunSQL(
            f"CREATE INDEX IF NOT EXISTS {name} ON {definition}",
            f"DROP INDEX IF EXISTS {name}",
        )
        for name, definition in INDEXES.items()
    ]
