"""Password policy (spec decision 15) and argon2id hashing. Pure functions plus the hasher."""

from __future__ import annotations

import secrets
import string
from functools import lru_cache
from importlib import resources
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from lms.i18n import _

CONTEXT_WORDS = ("minzheng", "mingzheng", "linyi", "shandong", "民政", "临沂", "山东")
_SEQUENCES = ("0123456789", "9876543210", "abcdefghijklmnopqrstuvwxyz", "qwertyuiop",
              "asdfghjkl", "zxcvbnm", "1qaz2wsx3edc")


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    text = resources.files("lms.auth").joinpath("data/common-passwords.txt").read_text("utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip())


def _classes(pw: str) -> int:
    return sum((
        any(c.islower() for c in pw),
        any(c.isupper() for c in pw),
        any(c.isdigit() for c in pw),
        any(not c.isalnum() for c in pw),
    ))


def _has_run(pw: str, length: int = 6) -> bool:
    low = pw.lower()
    for seq in _SEQUENCES:
        for i in range(len(seq) - length + 1):
            if seq[i:i + length] in low:
                return True
    return any(low[i] * length in low for i in range(len(low)))


def password_problems(pw: str, *, username: str = "", min_length: int = 8,
                      max_length: int = 128) -> list[str]:
    """Every reason the password is refused (empty list = acceptable)."""
    problems = []
    if len(pw) < min_length:
        problems.append(_("密码至少需要 %(n)s 个字符。", n=min_length))
    if len(pw) > max_length:
        problems.append(_("密码不能超过 %(n)s 个字符。", n=max_length))
    if _classes(pw) < 3:
        problems.append(_("密码需包含大写字母、小写字母、数字、符号中的至少三类。"))
    low = pw.lower()
    if low in common_passwords() or _has_run(pw):
        problems.append(_("这个密码太常见或太容易猜到，请换一个。"))
    elif any(w in low for w in CONTEXT_WORDS) or (username and username.lower() in low):
        problems.append(_("密码不能包含用户名、单位或地名。"))
    return problems


def generate_password(length: int = 12) -> str:
    """A random one-time password meeting the policy, without look-alike characters."""
    alphabet = [c for c in string.ascii_letters + string.digits if c not in "0OoIl1"]
    while True:
        pw = "".join(secrets.choice(alphabet) for _ in range(length - 1)) + secrets.choice("#%+=@")
        if _classes(pw) == 4 and not _has_run(pw):
            return pw


def hasher(config: Any) -> PasswordHasher:
    return PasswordHasher(
        time_cost=config["ARGON2_TIME_COST"],
        memory_cost=config["ARGON2_MEMORY_KIB"],
        parallelism=config["ARGON2_PARALLELISM"],
    )


def verify(ph: PasswordHasher, stored: str, pw: str) -> bool:
    try:
        return ph.verify(stored, pw)
    except (VerificationError, InvalidHashError):
        return False
