"""Trainee accounts for imported people, in batches, with printable login slips.

Hashing one password at production argon2 parameters costs 50–100 ms, so a batch is at most
``BATCH`` people (about ten seconds). The passwords are hashed before the write transaction opens,
so a batch never holds the SQLite write lock while the CPU works.
"""

from __future__ import annotations

import math
import time
from functools import lru_cache
from typing import Any

from flask import current_app, g, render_template, request
from flask_login import current_user
from sqlalchemy import func, select

from lms.admin.forms import BulkAccountsForm, refused_choice, unit_choices
from lms.admin.views import bp
from lms.admin.views.common import Slip, render_slips, unit_labels
from lms.auth import passwords, services
from lms.auth.access import requires
from lms.auth.perms import Perm
from lms.db import utcnow
from lms.extensions import db
from lms.i18n import _
from lms.org.models import OrgUnit, Person

BATCH = 100
PREVIEW = 20


@bp.route("/accounts/bulk", methods=["GET", "POST"])
@requires(Perm.ACCOUNT_MANAGE)
def bulk_accounts() -> Any:
    if request.method == "POST":
        form = _form(BulkAccountsForm())
        if form.validate_on_submit():
            return _create_batch(db.session.get(OrgUnit, form.org_unit.data))
        return render_template("admin/bulk.html", form=form, plan=None), (
            403 if refused_choice(form.org_unit) else 200)
    form = _form(BulkAccountsForm(request.args, meta={"csrf": False}))
    plan = _plan(db.session.get(OrgUnit, form.org_unit.data)) if (
        "org_unit" in request.args and form.validate()) else None
    return render_template("admin/bulk.html", form=form, plan=plan)


def _form(form: BulkAccountsForm) -> BulkAccountsForm:
    form.org_unit.choices = unit_choices(g.scope)
    return form


def _pending(unit: OrgUnit) -> int:
    stmt = services.trainee_candidates(unit).order_by(None)
    return db.session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()


def _plan(unit: OrgUnit) -> dict[str, Any]:
    """How many people still need an account, a few names, and how long a batch takes."""
    pending = _pending(unit)
    batch = min(pending, BATCH)
    first = db.session.execute(services.trainee_candidates(unit).limit(PREVIEW)).scalars().all()
    return {"unit": unit, "pending": pending, "batch": batch, "batches": math.ceil(pending / BATCH),
            "seconds": math.ceil(batch * _hash_seconds() / services.hash_workers()),
            "first": first, "labels": unit_labels(p.org_unit for p in first)}


def _hash_seconds() -> float:
    cfg = current_app.config
    return _measure(cfg["ARGON2_TIME_COST"], cfg["ARGON2_MEMORY_KIB"], cfg["ARGON2_PARALLELISM"])


@lru_cache(maxsize=4)
def _measure(time_cost: int, memory_kib: int, parallelism: int) -> float:
    """Seconds for one hash with these parameters (measured once per process)."""
    ph = passwords.hasher({"ARGON2_TIME_COST": time_cost, "ARGON2_MEMORY_KIB": memory_kib,
                           "ARGON2_PARALLELISM": parallelism})
    start = time.perf_counter()
    ph.hash(passwords.generate_password())
    return time.perf_counter() - start


def _create_batch(unit: OrgUnit) -> Any:
    ids = list(db.session.execute(
        services.trainee_candidates(unit).with_only_columns(Person.id).limit(BATCH)).scalars())
    unit_id = unit.id
    db.session.rollback()  # end the read transaction: no lock is held while hashing
    start = time.perf_counter()
    credentials = services.new_credentials(len(ids))
    people = _people_in_order(ids)
    created = services.create_trainee_accounts(people, actor=current_user, now=utcnow(),
                                               credentials=credentials)
    db.session.commit()
    unit = db.session.get(OrgUnit, unit_id)
    labels = unit_labels(a.person.org_unit for a in created)
    slips = [Slip(name=a.person.name, unit=labels.get(a.person.org_unit_id, ""),
                  username=a.user.username, password=a.password) for a in created]
    return render_slips(slips, title=_("学员账号登录单"), unit=unit, remaining=_pending(unit),
                        seconds=round(time.perf_counter() - start, 1), bulk=True)


def _people_in_order(ids: list[int]) -> list[Person]:
    by_id = {p.id: p for p in db.session.execute(
        select(Person).where(Person.id.in_(ids))).scalars()} if ids else {}
    return [by_id[i] for i in ids if i in by_id]
