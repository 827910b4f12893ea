"""Leave room on each wallet page so balance updates stay HOT (heap-only tuples).

Every ledger movement rewrites its wallet row (the running balance); with free space on the
page PostgreSQL keeps the new version there without touching the wallet's indexes, and prunes
old versions in place. Set-wise jobs (expire_credit) update a wallet once per batch that holds
one of its lots, so this keeps the table from bloating. Affects pages written from now on.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0003_expiry_keyset_index"),
    ]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE billing_wallet SET (fillfactor = 50)",
            reverse_sql="ALTER TABLE billing_wallet RESET (fillfactor)",
        ),
    ]
