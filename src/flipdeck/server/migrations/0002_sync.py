"""Sync: each user's append-only change log with its head, and idempotency keys. Frozen copies
of the models as they were when this migration was written."""

import peewee


def up(migrator, db):
    class Base(peewee.Model):
        class Meta:
            database = db
            legacy_table_names = False

    class User(Base):
        id = peewee.CharField(primary_key=True, max_length=36)

    class SyncHead(Base):
        user = peewee.ForeignKeyField(User, primary_key=True, on_delete="CASCADE")
        seq = peewee.BigIntegerField(default=0)

    class SyncChange(Base):
        user = peewee.ForeignKeyField(User, on_delete="CASCADE")
        seq = peewee.BigIntegerField()
        change_id = peewee.CharField(max_length=64)
        device = peewee.CharField(max_length=64)
        entity = peewee.CharField(max_length=32)
        row_id = peewee.CharField(max_length=64)
        hlc = peewee.CharField(max_length=32)
        data = peewee.TextField()
        received_at = peewee.BigIntegerField()

        class Meta:
            primary_key = peewee.CompositeKey("user", "seq")
            indexes = ((("user", "change_id"), True),)

    class IdempotencyKey(Base):
        user = peewee.ForeignKeyField(User, on_delete="CASCADE")
        route = peewee.CharField(max_length=64)
        key = peewee.CharField(max_length=255)
        fingerprint = peewee.CharField(max_length=64)
        status = peewee.IntegerField(null=True)
        body = peewee.TextField(null=True)
        created_at = peewee.BigIntegerField(index=True)

        class Meta:
            primary_key = peewee.CompositeKey("user", "route", "key")

    db.create_tables([SyncHead, SyncChange, IdempotencyKey], safe=False)


def down(migrator, db):
    for name in ("idempotency_key", "sync_change", "sync_head"):
        db.execute_sql(f'DROP TABLE IF EXISTS "{name}"')
