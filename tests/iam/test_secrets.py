"""Stored secrets: encrypted at rest, decrypted once per process and token."""

import pytest
from cryptography.fernet import Fernet

from iam import secrets


@pytest.fixture
def fernet_decrypts(monkeypatch):
    """How many times Fernet really decrypted (the per-process cache emptied first)."""
    secrets._decrypt.cache_clear()
    calls = []
    real = Fernet.decrypt

    def counting(self, token, *args, **kwargs):
        calls.append(token)
        return real(self, token, *args, **kwargs)

    monkeypatch.setattr(Fernet, "decrypt", counting)
    yield calls
    secrets._decrypt.cache_clear()


def test_a_token_is_decrypted_once_per_process(fernet_decrypts):
    token = secrets.encrypt_secret("first-secret")
    assert secrets.decrypt_secret(token) == "first-secret"
    assert secrets.decrypt_secret(token) == "first-secret"
    assert len(fernet_decrypts) == 1


def test_a_new_token_is_decrypted_afresh(fernet_decrypts):
    # A reset secret is stored as a new token: the old one's cached secret never answers for it.
    old, new = secrets.encrypt_secret("old-secret"), secrets.encrypt_secret("new-secret")
    assert secrets.decrypt_secret(old) == "old-secret"
    assert secrets.decrypt_secret(new) == "new-secret"
    assert len(fernet_decrypts) == 2


def test_another_encryption_key_does_not_reuse_what_the_first_decrypted(fernet_decrypts, settings):
    token = secrets.encrypt_secret("keyed-secret")
    assert secrets.decrypt_secret(token) == "keyed-secret"
    settings.IAM_SECRET_ENCRYPTION_KEY = Fernet.generate_key().decode()
    for _ in range(2):  # refused every time: a failure is not kept
        with pytest.raises(ValueError) as refused:
            secrets.decrypt_secret(token)
        assert token not in str(refused.value) and "keyed-secret" not in str(refused.value)
    assert len(fernet_decrypts) == 3
