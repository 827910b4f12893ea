"""Leave room on each wallet page so balance updates stay HOT (heap-only tuples).

Every ledger movement rewrites its wallet row (the running balance); with free space on the
page PostgreSQL keeps the new version there without touching the wallet's indexes, and prunes
old versions in place. Set-wise jobs (expire_credit) update a wallet once per batch that holds
one of its lots, so this keeps the table from bloating. Affects pages written from now on.
"""

from django.db import migrations


def _on_postgresql(sql):
    def run(apps, schema_editor):
        # A storage parameter of PostgreSQL; the embedded SQLite first look has no such thing.
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0003_expiry_keyset_index"),
    ]

    operations = [
        migrations.RunPython(
            _on_postgresql("ALTER TABLE billing_wallet SET (fillfactor = 50)"),
            _on_postgresql("ALTER TABLE billing_wallet RESET (fillfactor)"),
        ),
    ]
