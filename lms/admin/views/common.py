"""Small helpers shared by the admin views: paging, form errors, unit labels, login slips."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask import current_app, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import Select, func, select

from lms.errors import DomainError
from lms.extensions import db
from lms.org.models import LEVEL_RANK, Level, OrgUnit

MAX_PAGE = 1_000_000


def page_number() -> int:
    try:
        return max(1, min(int(request.args.get("page", "1")), MAX_PAGE))
    except ValueError:
        return 1


def paginate(stmt: Select[Any]) -> tuple[int, int, int, list[Any]]:
    """(total, page, size, rows of that page) for an ordered select."""
    size = int(current_app.config["PAGE_SIZE"])
    total = db.session.execute(select(func.count()).select_from(stmt.order_by(None).subquery())
                               ).scalar_one()
    page = page_number()
    rows = db.session.execute(stmt.limit(size).offset((page - 1) * size)).unique().scalars().all()
    return total, page, size, list(rows)


def form_error(form: FlaskForm, exc: DomainError) -> None:
    """Put a service error next to its field, or above the form when it names none."""
    field = getattr(form, getattr(exc, "field", None) or "", None)
    if field is not None:
        field.errors = [*field.errors, str(exc)]
    else:
        form.form_errors.append(str(exc))


def unit_labels(units: Iterable[OrgUnit | None]) -> dict[int, str]:
    """'兰山区 兰山街道 金雀山社区' per unit: its path from the county down (one query)."""
    units = [u for u in units if u is not None]
    ids = {i for u in units for i in u.ancestor_ids}
    if not ids:
        return {}
    by_id = {u.id: u for u in db.session.execute(
        select(OrgUnit).where(OrgUnit.id.in_(ids))).scalars()}
    county = LEVEL_RANK[Level.COUNTY]
    out = {}
    for u in units:
        chain = [by_id[i] for i in u.ancestor_ids if i in by_id]
        names = [a.name for a in chain if LEVEL_RANK[Level(a.level)] >= county] or [u.name]
        out[u.id] = " ".join(names)
    return out


@dataclass(frozen=True)
class Slip:
    """One login slip: who, where, how to log in; the password appears only on this page."""

    name: str
    unit: str
    username: str
    password: str


def render_slips(slips: list[Slip], *, title: str, **extra: Any) -> str:
    return render_template("admin/slips.html", slips=slips, title=title,
                           login_url=url_for("auth.login", _external=True), **extra)
