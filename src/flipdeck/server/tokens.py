"""Provides access tokens (short-lived JWTs) and refresh tokens (opaque, stored as digests).

Access tokens (security.md rules 1–5): HS256 only, header ``typ: at+jwt`` and a ``kid`` naming
the key by exact lookup; claims ``iss aud sub sid ver jti iat exp``. Decoding pins the
algorithm, requires every claim, checks issuer, audience and ``typ``, and checks times against
the injected clock (PyJWT's own time checks read the wall clock). Refresh tokens are 256 random
bits; only their SHA-256 digest is ever stored.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid

import jwt

from flipdeck.core.ids import uuid7
from flipdeck.server.config import Config

ALGORITHM = "HS256"
TOKEN_TYPE = "at+jwt"
_REQUIRED = ["exp", "iat", "sub", "jti", "iss", "aud"]
_CACHE_SIZE = 4096


class InvalidToken(Exception):
    """The access token must be refused (the reason is logged, never told to the client)."""


def key_id(key: bytes) -> str:
    """A short public name for a signing key."""
    return hashlib.sha256(b"flipdeck-kid:" + key).hexdigest()[:16]


class TokenIssuer:
    """Issues and checks the tokens of one configuration."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._keys = {key_id(k): k for k in (config.secret_key, *config.old_secret_keys)}
        self._kid = key_id(config.secret_key)
        self._verified: dict[str, dict] = {}

    def access_token(self, user_id: str, family_id: str, version: int) -> str:
        """A signed access token for a user's device sign-in."""
        now = int(self.config.clock())
        claims = {
            "iss": self.config.issuer,
            "aud": self.config.audience,
            "sub": user_id,
            "sid": family_id,
            "ver": version,
            "jti": uuid7(),
            "iat": now,
            "exp": now + self.config.access_ttl,
        }
        headers = {"typ": TOKEN_TYPE, "kid": self._kid}
        return jwt.encode(claims, self.config.secret_key, algorithm=ALGORITHM, headers=headers)

    def decode(self, token: str) -> dict:
        """The claims of a valid access token, or :class:`InvalidToken`.

        A token whose signature and shape were verified before is not verified again (a client
        sends the same token for up to 15 minutes); its times are checked on every call.
        """
        claims = self._verified.get(token)
        if claims is None:
            claims = self._verify(token)
            if len(self._verified) >= _CACHE_SIZE:
                self._verified.pop(next(iter(self._verified)))
            self._verified[token] = claims
        now = self.config.clock()
        leeway = self.config.leeway
        if claims["exp"] <= now - leeway:
            raise InvalidToken("expired")
        if claims["iat"] > now + leeway:
            raise InvalidToken("issued in the future")
        if "nbf" in claims and claims["nbf"] > now + leeway:
            raise InvalidToken("not yet valid")
        return claims

    def _verify(self, token: str) -> dict:
        """Signature, header and claim shapes (everything that never changes for a token)."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise InvalidToken(f"unreadable header: {type(error).__name__}") from None
        if header.get("alg") != ALGORITHM or header.get("typ") != TOKEN_TYPE:
            raise InvalidToken("wrong alg or typ")
        kid = header.get("kid", self._kid)
        key = self._keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise InvalidToken("unknown kid")
        try:
            decoded = jwt.decode_complete(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self.config.audience,
                issuer=self.config.issuer,
                options={
                    "require": _REQUIRED,
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                    "enforce_minimum_key_length": True,
                },
            )
        except jwt.PyJWTError as error:
            raise InvalidToken(type(error).__name__) from None
        if decoded["header"].get("typ") != TOKEN_TYPE:
            raise InvalidToken("wrong typ")
        claims = decoded["payload"]
        # the exact shape we issue, nothing looser: NumericDate times, string ids, integer ver
        # (bool is an int in Python, and "1" or 1.5 would pass int() or float())
        times = [claims.get("exp"), claims.get("iat"), claims.get("nbf", 0)]
        if not all(type(value) in (int, float) for value in times):
            raise InvalidToken("malformed times")
        if type(claims.get("ver")) is not int or not all(
            _is_uuid(claims.get(name)) for name in ("sub", "sid")
        ):
            raise InvalidToken("malformed claims")
        if not isinstance(claims.get("jti"), str):
            raise InvalidToken("malformed jti")
        return claims


def _is_uuid(value) -> bool:
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def new_refresh_token() -> tuple[str, str]:
    """``(token, digest)``: the value for the client and what the database keeps."""
    token = secrets.token_urlsafe(32)
    return token, digest(token)


def digest(token: str) -> str:
    """The stored form of a refresh token."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
