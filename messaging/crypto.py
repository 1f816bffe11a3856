"""Secrets at rest (API key secrets, webhook secrets, platform credentials).

Encrypted with Fernet. `PARLEY_SECRETS_KEY` is a comma-separated list of
Fernet keys: the first encrypts, every one decrypts, so a key is rotated by
putting a new one first and running `manage.py rotatesecrets`. Without it a
key is derived from SECRET_KEY, so the embedded setup needs nothing.
"""

import base64
import functools
import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import models


MASK = "••••"


def mask_secrets(text: str, secrets) -> str:
    """`text` with every secret of `secrets` in it replaced by MASK: a
    platform's error or a receiver's answer may quote what it was sent.
    Secrets shorter than four characters are left (they would mask
    ordinary words)."""
    for secret in secrets:
        if isinstance(secret, str) and len(secret) >= 4:
            text = text.replace(secret, MASK)
    return text


@functools.cache
def _fernet(secrets_key: str, secret_key: str) -> MultiFernet:
    keys = [k.strip() for k in secrets_key.split(",") if k.strip()]
    if not keys:
        derived = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=b"parley-secrets", info=b"fernet"
        ).derive(secret_key.encode())
        keys = [base64.urlsafe_b64encode(derived).decode()]
    return MultiFernet([Fernet(k) for k in keys])


def fernet() -> MultiFernet:
    return _fernet(settings.PARLEY_SECRETS_KEY, settings.SECRET_KEY)


def encrypt(value: str) -> str:
    return fernet().encrypt(value.encode()).decode()


def decrypt(value: str) -> str:
    return fernet().decrypt(value.encode()).decode()


def rotate(value: str) -> str:
    return fernet().rotate(value.encode()).decode()


class EncryptedTextField(models.TextField):
    """A text column stored encrypted; Python code sees the plain value."""

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        try:
            return decrypt(value)
        except InvalidToken:
            raise ValueError(
                f"cannot decrypt {self.model.__name__}.{self.name}: PARLEY_SECRETS_KEY "
                "does not hold the key it was encrypted with"
            )

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(value)


class EncryptedJSONField(EncryptedTextField):
    """A JSON object stored encrypted (platform credentials)."""

    def from_db_value(self, value, expression, connection):
        text = super().from_db_value(value, expression, connection)
        return json.loads(text) if text else {}

    def to_python(self, value):
        if isinstance(value, dict):
            return value
        return json.loads(value) if value else {}

    def get_prep_value(self, value):
        # Serialise here: TextField.get_prep_value would call to_python and
        # turn the JSON text back into a dict.
        return encrypt(json.dumps(value or {}, sort_keys=True))
