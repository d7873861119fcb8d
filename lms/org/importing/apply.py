"""The import services the CLI and the import pages call.

``check_*`` reads the file and plans it (reads only: the preview and ``--dry-run``). ``write_*``
writes a plan without errors through ``lms.org.services``: every created or changed unit, person,
post and certificate gets its own audit entry (bulk-created units through ``audit.record_many``),
and the import itself one more entry with the file's digest and the counts. A service refusing a
row at write time (the data changed since the check) raises ``ImportFailed``; the caller rolls
back, so all rows are written or none. Flush only: the caller commits.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from flask import current_app

from lms import audit
from lms.auth.access import ROOT, Scope, scope_for
from lms.auth.perms import Perm
from lms.errors import DomainError
from lms.i18n import _
from lms.org import pii, services
from lms.org.importing import lookup, people, units
from lms.org.importing.columns import RowError
from lms.org.importing.decode import Table, read_table
from lms.org.importing.plan import CREATE, UNCHANGED, UPDATE, Plan, Progress, Ticker
from lms.org.models import LEVEL_RANK, Level, OrgUnit, PostStatus

#: Units created per statement batch.
BATCH = 500


class ImportFailed(DomainError):
    """A service refused a row while writing (the data changed since the check); ``str(exc)``
    is the row error, or the reason when a whole batch was refused. Nothing may be kept."""

    @classmethod
    def at(cls, line: int, column: str, exc: DomainError) -> ImportFailed:
        return cls(str(RowError(line, column, str(exc))))

    @classmethod
    def batch(cls, exc: DomainError) -> ImportFailed:
        return cls(_("导入中止：%(reason)s 请重新检查文件后再导入。", reason=str(exc)))


def scope_of(actor: Any, perm: Perm) -> Scope:
    """The actor's scope; the system actor (``None``, the CLI) covers everything."""
    return Scope(perm, (ROOT,)) if actor is None else scope_for(actor, perm)


def read(data: bytes) -> Table:
    """The file as rows, within the configured limits (``FileProblem`` otherwise)."""
    cfg = current_app.config
    max_bytes = cfg.get("MAX_IMPORT_BYTES") or cfg.get("MAX_CONTENT_LENGTH") or 20 * 1024 * 1024
    return read_table(data, max_rows=int(cfg["MAX_IMPORT_ROWS"]), max_bytes=int(max_bytes))


def _require_ok(plan: Plan) -> None:
    if not plan.ok:
        raise ValueError("a plan with errors cannot be written")


def _audit_import(actor: Any, action: str, plan: Plan, now: datetime, source: str,
                  **extra: Any) -> None:
    """One entry for the import as a whole; none when it changed nothing (a re-import)."""
    if not plan.count(CREATE) and not plan.count(UPDATE):
        return
    audit.record(actor, action, None, now=now, source=source[:200], sha256=plan.digest,
                 rows=plan.rows, **plan.counts, **extra)


# ---------------------------------------------------------------- units


def check_units(data: bytes, *, actor: Any, progress: Progress | None = None) -> Plan:
    parsed = units.parse(read(data))
    stored = lookup.units_by_code(parsed.codes_to_look_up())
    result = units.plan(parsed, stored, scope_of(actor, Perm.ORG_MANAGE), progress)
    result.digest = hashlib.sha256(data).hexdigest()
    return result


def write_units(plan: Plan, *, actor: Any, now: datetime, source: str = "",
                progress: Progress | None = None) -> None:
    """Parents first: per level, create the new units in batches, then move and update."""
    _require_ok(plan)
    known: dict[str, OrgUnit] = {}
    for change in plan.changes:
        for unit in (change.parent, change.unit):
            if unit is not None:
                known[unit.code] = unit
    ticker = Ticker(progress, "write", sum(1 for c in plan.changes if c.action != UNCHANGED))
    for level in sorted(Level, key=lambda lv: LEVEL_RANK[lv]):
        changes = [c for c in plan.changes if c.row.level == level]
        creates = [c for c in changes if c.action == CREATE]
        for i in range(0, len(creates), BATCH):
            _create_batch(creates[i:i + BATCH], known, actor, now)
            ticker.add(len(creates[i:i + BATCH]))
        for change in (c for c in changes if c.action == UPDATE):
            _update_unit(change, known, actor, now)
            ticker.add()
    _audit_import(actor, "unit.import", plan, now, source)


def _create_batch(batch: Sequence[units.UnitChange], known: dict[str, OrgUnit], actor: Any,
                  now: datetime) -> None:
    new = [services.NewUnit(c.row.code, c.row.name, c.row.level, c.row.parent_code,
                            c.row.resident_population, c.row.registered_population) for c in batch]
    try:
        created = services.create_units(new, known, actor=actor, now=now)
    except DomainError as exc:
        raise ImportFailed.batch(exc) from exc
    known.update((u.code, u) for u in created)


def _update_unit(change: units.UnitChange, known: dict[str, OrgUnit], actor: Any,
                 now: datetime) -> None:
    unit, updates = change.unit, change.updates
    assert unit is not None
    try:
        if change.move:
            services.move_unit(unit, known[change.row.parent_code or ""], actor=actor, now=now)
        if updates:
            services.update_unit(unit, actor=actor, now=now, name=updates.get("name"),
                                 resident_population=updates.get("resident_population"),
                                 registered_population=updates.get("registered_population"))
    except DomainError as exc:
        column = {"parent": "parent_code"}.get(getattr(exc, "field", None) or "", "code")
        raise ImportFailed.at(change.line, column, exc) from exc


# ---------------------------------------------------------------- people


def check_people(data: bytes, *, actor: Any, now: datetime, legacy: bool = False,
                 progress: Progress | None = None) -> Plan:
    parsed = people.parse(read(data), now=now, legacy=legacy)
    hashes = {row.id_number: pii.id_hash(row.id_number) for row in parsed.rows if row.id_number}
    stored = lookup.people_by_keys(hashes.values(), {r.phone for r in parsed.rows if r.phone})
    by_name_phone: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for person in stored:
        if person.phone:
            by_name_phone[(person.name, person.phone)].append(person)
    snap = people.Snapshot(
        units=lookup.units_by_code(parsed.unit_codes), hashes=hashes,
        by_hash={p.id_hash: p for p in stored if p.id_hash}, by_name_phone=by_name_phone)
    result = people.plan(parsed, snap, scope_of(actor, Perm.PERSON_MANAGE), progress)
    result.digest = hashlib.sha256(data).hexdigest()
    return result


#: Service field → import column title, for a refusal at write time.
PERSON_FIELD_COLUMNS = {"name": "姓名", "gender": "性别", "birth_year": "出生年份",
                        "phone": "手机号", "education": "学历", "id_number": "身份证号",
                        "post_type": "岗位"}


def write_people(plan: Plan, *, actor: Any, now: datetime, legacy: bool = False,
                 source: str = "", progress: Progress | None = None) -> None:
    """New people in batches (person, post and certificate together), then the stored ones."""
    _require_ok(plan)
    creates = [c for c in plan.changes if c.action == CREATE]
    updates = [c for c in plan.changes if c.action == UPDATE]
    ticker = Ticker(progress, "write", len(creates) + len(updates))
    for i in range(0, len(creates), BATCH):
        batch = creates[i:i + BATCH]
        try:
            services.create_people([_new_person(c) for c in batch], actor=actor, now=now)
        except DomainError as exc:
            raise ImportFailed.batch(exc) from exc
        ticker.add(len(batch))
    for change in updates:
        try:
            _update_person(change, actor, now)
        except DomainError as exc:
            column = PERSON_FIELD_COLUMNS.get(getattr(exc, "field", None) or "", "姓名")
            raise ImportFailed.at(change.line, column, exc) from exc
        ticker.add()
    _audit_import(actor, "person.import", plan, now, source, legacy=legacy)


def _new_person(change: people.PersonChange) -> services.NewPerson:
    row = change.row
    return services.NewPerson(
        unit=change.unit, data={**row.person_data(), "id_number": row.id_number},
        post_type=row.post_type, status=row.status, legacy=row.status == PostStatus.IN_POST,
        qualification=row.qualification, certificate_no=row.certificate_no,
        obtained_on=row.obtained_on)


def _update_person(change: people.PersonChange, actor: Any, now: datetime) -> None:
    row, person = change.row, change.person
    assert person is not None
    if change.updates:
        services.update_person(person, change.updates, actor=actor, now=now)
    if change.new_post:
        services.open_post(person, change.unit, row.post_type, actor=actor, now=now,
                           status=row.status, legacy=row.status == PostStatus.IN_POST)
    if change.new_qualification:
        assert row.qualification is not None
        services.add_qualification(person, row.qualification, actor=actor, now=now,
                                   certificate_no=row.certificate_no, obtained_on=row.obtained_on)


def summary(plan: Plan) -> str:
    """What a written import did, e.g. "导入 4,186 条，跳过 0 条…" (skipped: unchanged)."""
    counts = plan.counts
    return _("导入 %(done)s 条，跳过 %(skipped)s 条，错误 %(errors)s 条",
             done=f"{counts['created'] + counts['updated']:,}", skipped=f"{counts['unchanged']:,}",
             errors=f"{counts['errors']:,}")
