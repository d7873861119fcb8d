"""ID-card numbers: keyed hash for matching, Fernet encryption for audited reveal (decision 22)."""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app


def _derive(purpose: bytes) -> bytes:
    key = str(current_app.config.get("PII_KEY") or current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, purpose, hashlib.sha256).digest()


def id_hash(normalized: str) -> str:
    return hmac.new(_derive(b"id-hash"), normalized.encode(), hashlib.sha256).hexdigest()


def encrypt(normalized: str) -> str:
    return Fernet(base64.urlsafe_b64encode(_derive(b"id-encrypt"))).encrypt(
        normalized.encode()).decode()


def decrypt(token: str) -> str | None:
    try:
        return Fernet(base64.urlsafe_b64encode(_derive(b"id-encrypt"))).decrypt(
            token.encode()).decode()
    except InvalidToken:
        return None
