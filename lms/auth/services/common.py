"""Shared helpers of the account services."""

from __future__ import annotations

import hashlib
import unicodedata
from typing import Any

from flask import current_app

from lms.auth import passwords
from lms.auth.models import User
from lms.auth.perms import ADMIN_ROLES, Role


def settings() -> Any:
    return current_app.config


def normalize_username(raw: str) -> str:
    return unicodedata.normalize("NFKC", raw).strip().casefold()


def hash_password(pw: str) -> str:
    return passwords.hasher(settings()).hash(pw)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def is_admin(user: User) -> bool:
    return any(Role(r.role) in ADMIN_ROLES for r in user.roles)


class LoginFailed(Exception):
    """Generic: the same message whether the user exists, the password is wrong or it is locked."""
