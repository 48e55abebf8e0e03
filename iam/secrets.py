"""Encryption of stored access-key secrets (Fernet, key from settings) and generation of secrets."""

import secrets
import string
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

_ALNUM_UPPER = string.ascii_uppercase + string.digits


@lru_cache(maxsize=4)
def _fernet(key: str) -> Fernet:
    return Fernet(key.encode("ascii"))


def encrypt_secret(plain: str) -> str:
    return _fernet(settings.IAM_SECRET_ENCRYPTION_KEY).encrypt(plain.encode("utf-8")).decode("ascii")


def decrypt_secret(token: str) -> str:
    """The plain secret of a stored token. Every signed call needs its key's secret: decrypted ones are kept per
    process (a token always decrypts to the same secret under one key; a reset secret is a new token)."""
    try:
        return _decrypt(settings.IAM_SECRET_ENCRYPTION_KEY, token)
    except InvalidToken:
        # Never include the token: it is the stored secret.
        raise ValueError("stored secret cannot be decrypted with the configured IAM_SECRET_ENCRYPTION_KEY") from None


@lru_cache(maxsize=10_000)  # failures raise, so they are never kept
def _decrypt(encryption_key: str, token: str) -> str:
    return _fernet(encryption_key).decrypt(token.encode("ascii")).decode("utf-8")


def new_access_key(prefix: str = "") -> str:
    return prefix + "".join(secrets.choice(_ALNUM_UPPER) for _ in range(20))


def new_secret_key() -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(40))


_SPECIALS = "!@#$%^&*()-_=+"


def generate_password(length: int = 14) -> str:
    """A random password satisfying the sub account password rules (upper, lower, digit, special)."""
    alphabet = string.ascii_letters + string.digits + _SPECIALS
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(length))
        if (
            any(c.isupper() for c in candidate)
            and any(c.islower() for c in candidate)
            and any(c.isdigit() for c in candidate)
            and any(c in _SPECIALS for c in candidate)
        ):
            return candidate
