from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from messaging.crypto import EncryptedTextField, rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt every secret at rest with the first key of PARLEY_SECRETS_KEY "
        "(run after putting a new key first; then the old key can be dropped)."
    )

    def handle(self, **options):
        total = 0
        for model in apps.get_app_config("messaging").get_models():
            fields = [f for f in model._meta.fields if isinstance(f, EncryptedTextField)]
            if not fields:
                continue
            table = connection.ops.quote_name(model._meta.db_table)
            pk = connection.ops.quote_name(model._meta.pk.column)
            with transaction.atomic(), connection.cursor() as cursor:
                for field in fields:
                    column = connection.ops.quote_name(field.column)
                    cursor.execute(f"SELECT {pk}, {column} FROM {table}")
                    for row_pk, stored in cursor.fetchall():
                        if not stored:
                            continue
                        cursor.execute(
                            f"UPDATE {table} SET {column} = %s WHERE {pk} = %s", [rotate(stored), row_pk]
                        )
                        total += 1
        self.stdout.write(f"re-encrypted {total} secrets")
