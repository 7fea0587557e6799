"""``Config.from_env``: the secret key rules, the development key, limits that may only get
stricter, and error messages that name the variable at fault (security.md rules 2, 18–21).

No database is involved; the autouse ``hermetic`` fixture gives each test its own
``FLIPDECK_HOME``.
"""

from __future__ import annotations

import ipaddress
import os
import stat

import pytest

from flipdeck.server.config import Config, ConfigError, Limits, PasswordPolicy

KEY = "0123456789abcdef" * 4  # 64 bytes, as `openssl rand -hex 32` prints


def env(home, **values) -> dict[str, str]:
    return {"FLIPDECK_HOME": str(home), "FLIPDECK_SECRET_KEY": KEY, **values}


def test_the_defaults_are_the_secure_values(hermetic):
    """With only a key set, every setting is the secure default of security.md."""
    config = Config.from_env(env(hermetic))
    assert config.secret_key == KEY.encode()
    assert config.database_url == f"sqlite:///{hermetic / 'server.db'}"
    assert config.limits == Limits()
    assert config.password == PasswordPolicy(17, 8, 1)
    assert (config.access_ttl, config.refresh_ttl, config.refresh_grace) == (900, 604_800, 30)
    assert (config.issuer, config.audience, config.leeway) == ("flipdeck", "flipdeck-api", 5)
    assert (config.max_body, config.page_size_cap) == (1 << 20, 100)
    assert config.trusted_proxies == () and config.cors_origins == ()
    assert config.redis_url is None and config.log_level == "INFO" and not config.dev


@pytest.mark.parametrize("values", [{}, {"FLIPDECK_SECRET_KEY": ""}])
def test_a_missing_key_is_refused_outside_development(hermetic, values):
    """Rule 2: no key, no start (and no key file is made behind the operator's back)."""
    given = {"FLIPDECK_HOME": str(hermetic), **values}
    with pytest.raises(ConfigError, match="FLIPDECK_SECRET_KEY"):
        Config.from_env(given)
    assert not (hermetic / "server-dev-secret.key").exists()


@pytest.mark.parametrize(("length", "ok"), [(16, False), (31, False), (32, True)])
def test_the_key_must_have_32_bytes(hermetic, length, ok):
    """Rule 2: fewer than 32 bytes is refused, naming the variable and the minimum."""
    given = env(hermetic, FLIPDECK_SECRET_KEY="k" * length)
    if ok:
        assert len(Config.from_env(given).secret_key) == 32
    else:
        with pytest.raises(ConfigError, match=r"FLIPDECK_SECRET_KEY.*32"):
            Config.from_env(given)


def test_a_short_key_is_refused_however_the_config_is_built():
    """The check is in ``Config`` itself, not only in ``from_env``."""
    with pytest.raises(ConfigError, match="FLIPDECK_SECRET_KEY"):
        Config(database_url="sqlite:///x.db", secret_key=b"k" * 16)


@pytest.mark.parametrize(("leeway", "ok"), [(0, True), (5, True), (6, False), (-1, False)])
def test_the_token_leeway_is_at_most_five_seconds(leeway, ok):
    """Rule 3: a test or embedding that builds a Config directly cannot widen it either."""
    build = lambda: Config(database_url="sqlite:///x.db", secret_key=b"k" * 32, leeway=leeway)  # noqa: E731
    if ok:
        assert build().leeway == leeway
    else:
        with pytest.raises(ConfigError, match="leeway"):
            build()


def test_retired_keys_must_be_as_long(hermetic):
    """Rule 2: rotation keys verify tokens too, so they meet the same minimum."""
    both = Config.from_env(env(hermetic, FLIPDECK_OLD_SECRET_KEYS=f"{'a' * 32} {'b' * 40}"))
    assert both.old_secret_keys == (b"a" * 32, b"b" * 40)
    with pytest.raises(ConfigError, match="FLIPDECK_OLD_SECRET_KEYS"):
        Config.from_env(env(hermetic, FLIPDECK_OLD_SECRET_KEYS=f"{'a' * 32} short"))


def test_development_generates_a_key_once_and_keeps_it(tmp_path, capsys):
    """``serve --dev`` persists one key (0600) so tokens survive a restart, and warns."""
    home = tmp_path / "not-yet-there"
    first = Config.from_env({"FLIPDECK_HOME": str(home)}, dev=True)
    path = home / "server-dev-secret.key"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert len(first.secret_key) >= 32 and first.dev
    content = path.read_bytes()
    second = Config.from_env({"FLIPDECK_HOME": str(home)}, dev=True)
    assert second.secret_key == first.secret_key
    assert path.read_bytes() == content
    assert str(path) in capsys.readouterr().err  # it warns each time


def test_development_uses_a_configured_key(hermetic):
    """A configured key wins over the generated one, even in development."""
    config = Config.from_env(env(hermetic), dev=True)
    assert config.secret_key == KEY.encode()
    assert not (hermetic / "server-dev-secret.key").exists()


STRICTER = [
    ("FLIPDECK_RATE_AUTH_PER_MINUTE", lambda c: c.limits.auth_per_minute, 20),
    ("FLIPDECK_RATE_ANONYMOUS_PER_HOUR", lambda c: c.limits.anonymous_per_hour, 100),
    ("FLIPDECK_RATE_USER_PER_HOUR", lambda c: c.limits.user_per_hour, 1000),
    ("FLIPDECK_ACCESS_TOKEN_SECONDS", lambda c: c.access_ttl, 900),
    ("FLIPDECK_REFRESH_TOKEN_SECONDS", lambda c: c.refresh_ttl, 604_800),
    ("FLIPDECK_REFRESH_GRACE_SECONDS", lambda c: c.refresh_grace, 30),
    ("FLIPDECK_MAX_BODY_BYTES", lambda c: c.max_body, 1 << 20),
    ("FLIPDECK_MAX_SYNC_BODY_BYTES", lambda c: c.max_sync_body, 8 << 20),
]


@pytest.mark.parametrize(("name", "read", "default"), STRICTER, ids=[s[0] for s in STRICTER])
def test_limits_may_only_get_stricter(hermetic, name, read, default):
    """Defaults are ceilings: lower is accepted, higher is refused by name."""
    assert read(Config.from_env(env(hermetic, **{name: str(default // 2)}))) == default // 2
    assert read(Config.from_env(env(hermetic, **{name: str(default)}))) == default
    assert read(Config.from_env(env(hermetic, **{name: ""}))) == default
    with pytest.raises(ConfigError, match=name):
        Config.from_env(env(hermetic, **{name: str(default + 1)}))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("FLIPDECK_RATE_USER_PER_HOUR", "lots"),
        ("FLIPDECK_RATE_AUTH_PER_MINUTE", "-1"),
        ("FLIPDECK_ACCESS_TOKEN_SECONDS", "1.5"),
        ("FLIPDECK_HASH_SLOTS", "many"),
        ("FLIPDECK_DB_POOL_SIZE", "x"),
        ("FLIPDECK_PASSWORD_PROFILE", "fast"),
        ("FLIPDECK_LOG_LEVEL", "LOUD"),
        ("FLIPDECK_TRUSTED_PROXIES", "10.0.0.300"),
        ("FLIPDECK_TRUSTED_PROXIES", "10.0.0.0/8 proxy.internal"),
    ],
)
def test_a_bad_value_names_its_variable(hermetic, name, value):
    """Every unusable value fails start-up with the variable's name in the message."""
    with pytest.raises(ConfigError, match=name):
        Config.from_env(env(hermetic, **{name: value}))


def test_trusted_proxies_are_parsed_as_networks(hermetic):
    """Rule 20: addresses and CIDRs, IPv4 and IPv6, commas or spaces."""
    config = Config.from_env(
        env(hermetic, FLIPDECK_TRUSTED_PROXIES="10.0.0.5/8, 192.168.1.1 ::1,2001:db8::/32")
    )
    assert config.trusted_proxies == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("192.168.1.1/32"),
        ipaddress.ip_network("::1/128"),
        ipaddress.ip_network("2001:db8::/32"),
    )


def test_the_other_settings_are_read(hermetic):
    """The remaining variables reach the configuration as given."""
    config = Config.from_env(
        env(
            hermetic,
            FLIPDECK_CORS_ORIGINS="https://a.example, https://b.example",
            FLIPDECK_PASSWORD_PROFILE="low-memory",
            FLIPDECK_LOG_LEVEL="debug",
            FLIPDECK_REDIS_URL="redis://cache:6379/2",
            FLIPDECK_HASH_SLOTS="3",
            FLIPDECK_ISSUER="flipdeck-staging",
            FLIPDECK_DATABASE_URL="postgresql://app@db/flipdeck",
        )
    )
    assert config.cors_origins == ("https://a.example", "https://b.example")
    assert config.password == PasswordPolicy(14, 8, 5)
    assert config.log_level == "DEBUG"
    assert config.redis_url == "redis://cache:6379/2"
    assert config.hash_slots == 3 and config.issuer == "flipdeck-staging"
    assert config.database_url == "postgresql://app@db/flipdeck"


@pytest.mark.parametrize("url", ["mysql://db/flipdeck", "sqlite://relative.db", "server.db"])
def test_an_unsupported_database_url_names_the_variable(hermetic, url):
    """Only sqlite:///PATH and postgresql:// URLs are understood."""
    from flipdeck.server.db import open_database

    config = Config.from_env(env(hermetic, FLIPDECK_DATABASE_URL=url))
    with pytest.raises(ConfigError, match="FLIPDECK_DATABASE_URL"):
        open_database(config)
