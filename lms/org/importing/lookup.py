"""Batched reads for the import plans: stored units by code, people by key (no per-row query)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from lms.extensions import db
from lms.org.models import OrgUnit, Person, Post

#: Values per IN (...) list, well under every database's bind-parameter limit.
CHUNK = 500


def _chunks(values: Iterable[Any]) -> Iterable[list[Any]]:
    items = sorted(set(values))
    for i in range(0, len(items), CHUNK):
        yield items[i:i + CHUNK]


def units_by_code(codes: Iterable[str]) -> dict[str, OrgUnit]:
    found: dict[str, OrgUnit] = {}
    for chunk in _chunks(codes):
        for unit in db.session.execute(select(OrgUnit).where(OrgUnit.code.in_(chunk))).scalars():
            found[unit.code] = unit
    return found


def people_by_keys(hashes: Iterable[str], phones: Iterable[str]) -> list[Person]:
    """People whose ID hash or phone is among the given ones, with their posts and certificates."""
    found: dict[int, Person] = {}
    for column, values in ((Person.id_hash, hashes), (Person.phone, phones)):
        for chunk in _chunks(values):
            stmt = (select(Person).where(column.in_(chunk))
                    .options(selectinload(Person.posts).joinedload(Post.org_unit),
                             selectinload(Person.qualifications)))
            for person in db.session.execute(stmt).unique().scalars():
                found[person.id] = person
    return list(found.values())
