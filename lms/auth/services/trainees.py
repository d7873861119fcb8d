"""Trainee accounts in bulk for imported people, with one-time passwords."""

from __future__ import annotations

import os
import re
import secrets
import unicodedata
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import aliased

from lms.auth import passwords
from lms.auth.models import User
from lms.auth.services.accounts import create_user
from lms.auth.services.common import settings
from lms.auth.services.roles import ensure_covers
from lms.extensions import db
from lms.org.models import OrgUnit, Person, Post, PostStatus

_MOBILE = re.compile(r"1\d{10}")


@dataclass(frozen=True)
class NewAccount:
    """A created account with its one-time password (shown once on a login slip, never stored)."""

    user: User
    person: Person
    password: str


def trainee_candidates(unit: OrgUnit) -> Select[Any]:
    """People in *unit*'s subtree who hold an open post and have no account yet."""
    home = aliased(OrgUnit)
    open_post = select(Post.id).where(
        Post.person_id == Person.id, Post.status != PostStatus.REMOVED.value).exists()
    has_account = select(User.id).where(User.person_id == Person.id).exists()
    return (select(Person).join(home, Person.org_unit_id == home.id)
            .where(home.path.startswith(unit.path, autoescape=True), open_post, ~has_account)
            .order_by(home.code, Person.name, Person.id))


def hash_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def new_credentials(n: int) -> list[tuple[str, str]]:
    """*n* random one-time passwords with their argon2id hashes, hashed on a few threads.

    No database work: callers hash before opening the write transaction, so a large batch never
    holds the SQLite write lock while the CPU works.
    """
    ph = passwords.hasher(settings())
    otps = [passwords.generate_password() for _i in range(n)]
    if n <= 1:
        return [(pw, ph.hash(pw)) for pw in otps]
    with ThreadPoolExecutor(max_workers=hash_workers()) as pool:
        return list(zip(otps, pool.map(ph.hash, otps), strict=True))


def create_trainee_accounts(people: Sequence[Person], *, actor: Any, now: datetime,
                            credentials: Sequence[tuple[str, str]] | None = None,
                            ) -> list[NewAccount]:
    """One trainee account per person who has none: username = mobile number if it is free and
    nobody else's, else ``mz`` + 8 digits; a random one-time password each, changed at first
    login. The account's unit is the person's unit."""
    with_account = _people_with_accounts([p.id for p in people])
    todo = [p for p in people if p.id not in with_account]
    for person in todo:
        ensure_covers(actor, person.org_unit)
    creds = list(credentials) if credentials is not None else new_credentials(len(todo))
    if len(creds) < len(todo):
        raise ValueError("not enough credentials for the people given")
    taken = _taken_logins({m for p in todo if (m := _mobile(p.phone))}) | _shared_phones(todo)
    created = []
    for person, (otp, pw_hash) in zip(todo, creds, strict=False):
        phone = _mobile(person.phone)
        phone = phone if phone and phone not in taken else None
        username = phone or _generated_username(taken)
        taken.add(username)
        user = create_user(username, person.name, org_unit=person.org_unit, actor=actor, now=now,
                           phone=phone, person_id=person.id, password_hash=pw_hash)[0]
        created.append(NewAccount(user, person, otp))
    return created


def _mobile(raw: str | None) -> str | None:
    digits = "".join(ch for ch in unicodedata.normalize("NFKC", raw or "") if ch not in " -")
    return digits if _MOBILE.fullmatch(digits) else None


def _shared_phones(people: Sequence[Person]) -> set[str]:
    """Mobile numbers of more than one person: ambiguous, so nobody logs in with them."""
    counts = Counter(m for p in people if (m := _mobile(p.phone)))
    shared = {m for m, n in counts.items() if n > 1}
    if counts:
        shared |= set(db.session.execute(select(Person.phone).where(
            Person.phone.in_(set(counts)), Person.id.not_in([p.id for p in people]))).scalars())
    return shared


def _people_with_accounts(person_ids: list[int]) -> set[int]:
    if not person_ids:
        return set()
    return set(db.session.execute(
        select(User.person_id).where(User.person_id.in_(person_ids))).scalars())


def _taken_logins(values: set[str]) -> set[str]:
    if not values:
        return set()
    rows = db.session.execute(select(User.username, User.phone).where(
        or_(User.username.in_(values), User.phone.in_(values)))).all()
    return {v for row in rows for v in row if v in values}


def _generated_username(taken: set[str]) -> str:
    while True:
        name = f"mz{secrets.randbelow(10 ** 8):08d}"
        if name not in taken and not db.session.execute(select(User.id).where(
                or_(User.username == name, User.phone == name))).first():
            return name
