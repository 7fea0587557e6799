"""Accounts: users, device sign-ins (refresh families) and their tokens, rate windows,
login lockouts. Frozen copies of the models as they were when this migration was written."""

import peewee


def up(migrator, db):
    class Base(peewee.Model):
        class Meta:
            database = db
            legacy_table_names = False

    class User(Base):
        id = peewee.CharField(primary_key=True, max_length=36)
        username = peewee.CharField(max_length=64, unique=True)
        email = peewee.CharField(max_length=254, unique=True)
        password_hash = peewee.TextField()
        role = peewee.CharField(max_length=16, default="student", index=True)
        display_name = peewee.CharField(max_length=100, default="")
        bio = peewee.TextField(default="")
        avatar_url = peewee.CharField(max_length=2048, default="")
        timezone = peewee.CharField(max_length=64, default="UTC")
        token_version = peewee.IntegerField(default=0)
        disabled = peewee.BooleanField(default=False)
        created_at = peewee.BigIntegerField()
        updated_at = peewee.BigIntegerField()

    class Family(Base):
        id = peewee.CharField(primary_key=True, max_length=36)
        user = peewee.ForeignKeyField(User, on_delete="CASCADE")
        name = peewee.CharField(max_length=100, default="")
        user_agent = peewee.CharField(max_length=256, default="")
        created_at = peewee.BigIntegerField()
        expires_at = peewee.BigIntegerField(index=True)
        last_used_at = peewee.BigIntegerField()
        revoked_at = peewee.BigIntegerField(null=True)
        revoke_reason = peewee.CharField(max_length=32, null=True)

    class RefreshToken(Base):
        digest = peewee.CharField(primary_key=True, max_length=64)
        family = peewee.ForeignKeyField(Family, on_delete="CASCADE")
        parent = peewee.CharField(max_length=64, null=True, index=True)
        issued_at = peewee.BigIntegerField()
        used_at = peewee.BigIntegerField(null=True)
        consumed_by = peewee.CharField(max_length=16, null=True)

    class RateWindow(Base):
        key = peewee.CharField(max_length=200)
        window = peewee.BigIntegerField()
        count = peewee.IntegerField(default=0)
        expires_at = peewee.BigIntegerField(index=True)

        class Meta:
            primary_key = peewee.CompositeKey("key", "window")

    class LoginState(Base):
        name = peewee.CharField(primary_key=True, max_length=254)
        failures = peewee.IntegerField(default=0)
        locked_until = peewee.BigIntegerField(default=0)
        updated_at = peewee.BigIntegerField()

    db.create_tables([User, Family, RefreshToken, RateWindow, LoginState])


def down(migrator, db):
    for name in ("login_state", "rate_window", "refresh_token", "family", "user"):
        db.execute_sql(f'DROP TABLE IF EXISTS "{name}"')
