"""Org tree and people: every change goes through here and is audited. Flush, never commit."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import String, func, literal, select, update
from sqlalchemy.orm.attributes import set_committed_value

from lms import audit
from lms.auth.access import ensure
from lms.auth.perms import Perm
from lms.errors import InvalidState, ValidationFailed
from lms.extensions import db
from lms.i18n import _
from lms.labels import label, level_label
from lms.org import pii
from lms.org.models import (
    LEVEL_RANK, POST_LEVEL, Gender, Level, OrgUnit, Person, Post, PostStatus, PostType,
    Qualification, QualificationLevel,
)
from lms.org.rules import PARENT_LEVEL, code_ok, kind_from_name, mask_id_number, normalize_id_number

# ---------------------------------------------------------------- units


def validate_unit(code: str, name: str, level: Level, parent: OrgUnit | None) -> None:
    if not name.strip() or len(name) > 100:
        raise ValidationFailed(_("单位名称应为 1–100 个字符。"), "name")
    if not code_ok(code, level):
        raise ValidationFailed(_("区划代码应为 %(n)s 位数字。", n=len_for(level)), "code")
    if parent is None:
        if level not in (Level.PROVINCE, Level.CITY):
            raise ValidationFailed(_("该级别的单位必须有上级单位。"), "parent")
        return
    if PARENT_LEVEL.get(level) != Level(parent.level):
        raise ValidationFailed(_("上级单位的级别不对：%(level)s 的上级应为 %(parent)s。",
                                 level=level.value, parent=PARENT_LEVEL[level].value), "parent")
    if not code.startswith(parent.code):
        raise ValidationFailed(_("区划代码应以上级单位代码 %(code)s 开头。", code=parent.code), "code")


def len_for(level: Level) -> int:
    from lms.org.models import CODE_LENGTH

    return CODE_LENGTH[level]


def create_unit(code: str, name: str, level: Level, parent: OrgUnit | None, *, actor: Any,
                now: datetime, resident_population: int | None = None,
                registered_population: int | None = None) -> OrgUnit:
    ensure(actor, Perm.ORG_MANAGE, parent)
    validate_unit(code, name, level, parent)
    if db.session.execute(select(OrgUnit.id).where(OrgUnit.code == code)).first():
        raise ValidationFailed(_("区划代码 %(code)s 已存在。", code=code), "code")
    unit = OrgUnit(code=code, name=name.strip(), level=level.value,
                   kind=(k.value if (k := kind_from_name(name.strip(), level)) else None),
                   parent_id=parent.id if parent else None, path="/tmp-" + code + "/",
                   resident_population=resident_population,
                   registered_population=registered_population, created_at=now, updated_at=now)
    db.session.add(unit)
    db.session.flush()
    unit.path = (parent.path if parent else "/") + f"{unit.id}/"
    db.session.flush()
    audit.record(actor, "unit.create", unit, now=now, code=code, name=unit.name)
    return unit


@dataclass(frozen=True)
class NewUnit:
    """One unit for ``create_units``; ``parent_code`` names a unit that exists by then."""

    code: str
    name: str
    level: Level
    parent_code: str | None
    resident_population: int | None = None
    registered_population: int | None = None


def create_units(new: list[NewUnit], parents: dict[str, OrgUnit], *, actor: Any,
                 now: datetime) -> list[OrgUnit]:
    """``create_unit`` for many units of one level (bulk imports): same checks, one audit entry
    per unit, a handful of statements in all. *parents* maps codes to existing parent units."""
    if not new:
        return []
    taken = _existing_codes([n.code for n in new])
    units = []
    for n in new:
        parent = parents.get(n.parent_code) if n.parent_code else None
        ensure(actor, Perm.ORG_MANAGE, parent)
        validate_unit(n.code, n.name, n.level, parent)
        if n.code in taken:
            raise ValidationFailed(_("区划代码 %(code)s 已存在。", code=n.code), "code")
        kind = kind_from_name(n.name.strip(), n.level)
        units.append(OrgUnit(
            code=n.code, name=n.name.strip(), level=n.level.value,
            kind=kind.value if kind else None,
            parent_id=parent.id if parent else None, path="/tmp-" + n.code + "/",
            resident_population=n.resident_population,
            registered_population=n.registered_population, created_at=now, updated_at=now))
    db.session.add_all(units)
    db.session.flush()
    paths = [{"id": u.id, "path": (parents[n.parent_code].path if n.parent_code else "/")
              + f"{u.id}/"} for u, n in zip(units, new, strict=True)]
    db.session.execute(update(OrgUnit), paths)  # one executemany, whatever the dialect
    for unit, row in zip(units, paths, strict=True):
        set_committed_value(unit, "path", row["path"])
    audit.record_many(actor, "unit.create",
                      [(u, {"code": u.code, "name": u.name}) for u in units], now=now)
    return units


def _existing_codes(codes: list[str]) -> set[str]:
    found: set[str] = set()
    for i in range(0, len(codes), 500):
        found.update(db.session.execute(
            select(OrgUnit.code).where(OrgUnit.code.in_(codes[i:i + 500]))).scalars())
    return found


def update_unit(unit: OrgUnit, *, actor: Any, now: datetime, name: str | None = None,
                resident_population: int | None = None,
                registered_population: int | None = None) -> dict[str, Any]:
    """Change name or populations; ``None`` keeps the stored value. Returns the changes."""
    ensure(actor, Perm.ORG_MANAGE, unit)
    changes: dict[str, Any] = {}
    if name is not None and name.strip() != unit.name:
        if not name.strip() or len(name) > 100:
            raise ValidationFailed(_("单位名称应为 1–100 个字符。"), "name")
        changes["name"] = [unit.name, name.strip()]
        unit.name = name.strip()
        kind = kind_from_name(unit.name, Level(unit.level))
        unit.kind = kind.value if kind else None
    for field, value in (("resident_population", resident_population),
                         ("registered_population", registered_population)):
        if value is not None and value != getattr(unit, field):
            if value < 0:
                raise ValidationFailed(_("人口数不能为负数。"), field)
            changes[field] = [getattr(unit, field), value]
            setattr(unit, field, value)
    if changes:
        unit.updated_at = now
        db.session.flush()
        audit.record(actor, "unit.update", unit, now=now, changes=changes)
    return changes


def move_unit(unit: OrgUnit, new_parent: OrgUnit, *, actor: Any, now: datetime) -> None:
    """Re-parent a unit; the whole subtree's paths are rewritten in one statement."""
    ensure(actor, Perm.ORG_MANAGE, unit)
    ensure(actor, Perm.ORG_MANAGE, new_parent)
    if new_parent.path.startswith(unit.path):
        raise ValidationFailed(_("不能把单位移动到它自己或它的下级单位之下。"), "parent")
    if PARENT_LEVEL.get(Level(unit.level)) != Level(new_parent.level):
        raise ValidationFailed(_("新的上级单位级别不对。"), "parent")
    if unit.parent_id == new_parent.id:
        return
    old_path, new_path = unit.path, new_parent.path + f"{unit.id}/"
    old_parent_code = unit.parent.code if unit.parent else None
    db.session.execute(
        update(OrgUnit).where(OrgUnit.path.startswith(old_path, autoescape=True))
        .values(path=literal(new_path, String) + func.substr(OrgUnit.path, len(old_path) + 1))
        .execution_options(synchronize_session=False))
    unit.parent_id = new_parent.id
    unit.updated_at = now
    db.session.flush()
    db.session.expire_all()
    audit.record(actor, "unit.move", unit, now=now, old_parent=old_parent_code,
                 new_parent=new_parent.code)


def breadcrumbs(unit: OrgUnit) -> list[OrgUnit]:
    """Ancestors from the root down to *unit* (one query)."""
    ids = unit.ancestor_ids
    rows = {u.id: u for u in db.session.execute(
        select(OrgUnit).where(OrgUnit.id.in_(ids))).scalars()}
    return [rows[i] for i in ids if i in rows]


# ---------------------------------------------------------------- people


def set_id_number(person: Person, raw: str | None) -> None:
    """Store hash + masked + encrypted form; refuse an invalid or already used number."""
    if not raw or not raw.strip():
        person.id_hash = person.id_masked = person.id_encrypted = None
        return
    value = normalize_id_number(raw)
    if value is None:
        raise ValidationFailed(_("身份证号码无效：应为18位，且校验位正确。"), "id_number")
    digest = pii.id_hash(value)
    other = db.session.execute(select(Person.id).where(Person.id_hash == digest)).scalar()
    if other is not None and other != person.id:
        raise ValidationFailed(_("该身份证号码已登记在其他人员名下。"), "id_number")
    person.id_hash, person.id_masked, person.id_encrypted = digest, mask_id_number(value), pii.encrypt(
        value)


PERSON_FIELDS = ("name", "gender", "birth_year", "phone", "education", "note")
#: Longest value per text field (the column sizes).
PERSON_TEXT_MAX = {"name": 50, "phone": 20, "education": 30, "note": 500}


def has_control_chars(value: str, allowed: str = "") -> bool:
    """True when *value* holds control characters (other than *allowed*) or lone surrogates."""
    return any(unicodedata.category(ch) in ("Cc", "Cs") and ch not in allowed for ch in value)


def validate_person_data(data: dict[str, Any], *, now: datetime) -> None:
    """Refuse values the columns cannot hold: the last line of defence behind forms and imports."""
    if "name" in data and not (data["name"] or "").strip():
        raise ValidationFailed(_("请填写姓名。"), "name")
    for key, limit in PERSON_TEXT_MAX.items():
        value = data.get(key)
        if value is not None and len(value) > limit:
            raise ValidationFailed(_("不能超过 %(n)s 个字符。", n=limit), key)
        if value is not None and has_control_chars(value, "\r\n\t" if key == "note" else ""):
            raise ValidationFailed(_("不能包含控制字符，请删除后重试。"), key)
    if data.get("gender") not in (None, *(g.value for g in Gender)):
        raise ValidationFailed(_("请选择性别。"), "gender")
    year = data.get("birth_year")
    if year is not None and not 1900 <= year <= now.year:
        raise ValidationFailed(_("出生年份应为 1900 年到今年之间的四位数字。"), "birth_year")


def create_person(unit: OrgUnit, data: dict[str, Any], *, actor: Any, now: datetime) -> Person:
    ensure(actor, Perm.PERSON_MANAGE, unit)
    validate_person_data({"name": data.get("name"), **data}, now=now)
    person = Person(org_unit_id=unit.id, created_at=now, updated_at=now,
                    **{k: data.get(k) for k in PERSON_FIELDS})
    db.session.add(person)
    set_id_number(person, data.get("id_number"))
    db.session.flush()
    audit.record(actor, "person.create", person, now=now, name=person.name)
    return person


def update_person(person: Person, data: dict[str, Any], *, actor: Any,
                  now: datetime) -> dict[str, Any]:
    ensure(actor, Perm.PERSON_MANAGE, person.org_unit)
    validate_person_data(data, now=now)
    changes = {k: [getattr(person, k), data[k]] for k in PERSON_FIELDS
               if k in data and data[k] != getattr(person, k)}
    for k, (_old, new) in changes.items():
        setattr(person, k, new)
    if data.get("id_number"):
        set_id_number(person, data["id_number"])
        changes["id_number"] = ["***", person.id_masked]
    if changes:
        person.updated_at = now
        db.session.flush()
        audit.record(actor, "person.update", person, now=now, changes=sorted(changes))
    return changes


def reveal_id_number(person: Person, *, actor: Any, now: datetime, reason: str) -> str | None:
    """The clear ID-card number; every reveal is audited with its reason."""
    ensure(actor, Perm.PERSON_REVEAL_ID, person.org_unit)
    if not reason.strip():
        raise ValidationFailed(_("请填写查看原因。"), "reason")
    audit.record(actor, "person.reveal_id", person, now=now, reason=reason.strip()[:200])
    return pii.decrypt(person.id_encrypted) if person.id_encrypted else None


def add_qualification(person: Person, level: QualificationLevel, *, actor: Any, now: datetime,
                      certificate_no: str | None = None,
                      obtained_on: date | None = None) -> Qualification:
    ensure(actor, Perm.PERSON_MANAGE, person.org_unit)
    if any(q.level == level and (q.certificate_no or "") == (certificate_no or "")
           for q in person.qualifications):
        raise InvalidState(_("该证书已登记。"))
    q = Qualification(level=level.value, certificate_no=certificate_no, obtained_on=obtained_on)
    person.qualifications.append(q)
    db.session.flush()
    audit.record(actor, "person.qualification_add", person, now=now, level=level.value,
                 certificate_no=certificate_no)
    return q


def remove_qualification(person: Person, qualification: Qualification, *, actor: Any,
                         now: datetime) -> None:
    ensure(actor, Perm.PERSON_MANAGE, person.org_unit)
    if qualification not in person.qualifications:
        raise InvalidState(_("该证书不属于此人员。"))
    person.qualifications.remove(qualification)
    db.session.flush()
    audit.record(actor, "person.qualification_remove", person, now=now,
                 level=qualification.level, certificate_no=qualification.certificate_no)


# ---------------------------------------------------------------- posts

#: Allowed status moves. The onboarding gate (issue 5) adds its checks on top.
TRANSITIONS: dict[PostStatus, frozenset[PostStatus]] = {
    PostStatus.NOMINATED: frozenset({PostStatus.PENDING_ONBOARDING, PostStatus.REMOVED}),
    PostStatus.PENDING_ONBOARDING: frozenset({PostStatus.ONBOARDED, PostStatus.REMOVED}),
    PostStatus.ONBOARDED: frozenset({PostStatus.IN_POST, PostStatus.REMOVED}),
    PostStatus.IN_POST: frozenset({PostStatus.SUSPENDED, PostStatus.REMOVED}),
    PostStatus.SUSPENDED: frozenset({PostStatus.IN_POST, PostStatus.REMOVED}),
    PostStatus.REMOVED: frozenset(),
}


def open_post(person: Person, unit: OrgUnit, post_type: PostType, *, actor: Any, now: datetime,
              status: PostStatus = PostStatus.NOMINATED, legacy: bool = False,
              started_on: date | None = None) -> Post:
    """A new post for a person. Only the legacy go-live import may open one directly in post."""
    ensure(actor, Perm.PERSON_MANAGE, unit)
    check_post_level(unit, post_type)
    if status == PostStatus.IN_POST and not legacy:
        raise InvalidState(_("新岗位须先完成岗前培训并通过考试，不能直接设为已上岗。"))
    if status not in (PostStatus.NOMINATED, PostStatus.IN_POST):
        raise InvalidState(_("新岗位只能以“已提名”状态创建。"))
    if any(p.is_open and p.org_unit_id == unit.id and p.post_type == post_type
           for p in person.posts):
        raise InvalidState(_("此人在该单位已有相同岗位。"))
    post = Post(person=person, org_unit_id=unit.id, post_type=post_type.value,
                status=status.value, is_legacy=legacy, started_on=started_on or now.date(),
                status_changed_at=now, created_at=now)
    db.session.add(post)
    person.org_unit_id = unit.id
    db.session.flush()
    audit.record(actor, "post.open", post, now=now, person_id=person.id, post_type=post_type.value,
                 status=status.value, legacy=legacy)
    return post


def check_post_level(unit: OrgUnit, post_type: PostType) -> None:
    """A director or staff post sits at a township, an assistant post at a village."""
    if LEVEL_RANK[Level(unit.level)] != LEVEL_RANK[POST_LEVEL[post_type]]:
        raise ValidationFailed(_("该岗位只能设在%(level)s。", level=_level_name(
            POST_LEVEL[post_type])), "post_type")


@dataclass(frozen=True)
class NewPerson:
    """One new person for ``create_people``, with the post to open and an optional certificate."""

    unit: OrgUnit
    #: PERSON_FIELDS values, and optionally "id_number".
    data: dict[str, Any]
    post_type: PostType
    status: PostStatus = PostStatus.NOMINATED
    legacy: bool = False
    qualification: QualificationLevel | None = None
    certificate_no: str | None = None
    obtained_on: date | None = None


def create_people(new: list[NewPerson], *, actor: Any, now: datetime) -> list[Person]:
    """``create_person`` + ``open_post`` (+ ``add_qualification``) for many new people (bulk
    imports): the same checks, one audit entry per change, a handful of statements in all."""
    ids = _check_new_people(new, actor=actor, now=now)
    digests = [pii.id_hash(v) if v else None for v in ids]
    given = [d for d in digests if d]
    if len(set(given)) != len(given) or (given and db.session.execute(
            select(Person.id).where(Person.id_hash.in_(given)).limit(1)).first()):
        raise ValidationFailed(_("该身份证号码已登记在其他人员名下。"), "id_number")
    people = [Person(org_unit_id=n.unit.id, created_at=now, updated_at=now, posts=[],
                     qualifications=[], id_hash=d, id_masked=v and mask_id_number(v),
                     id_encrypted=v and pii.encrypt(v), **{k: n.data.get(k) for k in PERSON_FIELDS})
              for n, v, d in zip(new, ids, digests, strict=True)]
    db.session.add_all(people)
    db.session.flush()
    posts = [Post(person=p, org_unit_id=n.unit.id, post_type=n.post_type.value,
                  status=n.status.value, is_legacy=n.legacy, started_on=now.date(),
                  status_changed_at=now, created_at=now)
             for p, n in zip(people, new, strict=True)]
    quals = [(p, Qualification(person=p, level=n.qualification.value,
                               certificate_no=n.certificate_no, obtained_on=n.obtained_on))
             for p, n in zip(people, new, strict=True) if n.qualification is not None]
    db.session.add_all([*posts, *(q for _p, q in quals)])
    db.session.flush()
    audit.record_many(actor, "person.create", [(p, {"name": p.name}) for p in people], now=now)
    audit.record_many(actor, "post.open", [(post, {
        "person_id": post.person_id, "post_type": post.post_type, "status": post.status,
        "legacy": post.is_legacy}) for post in posts], now=now)
    audit.record_many(actor, "person.qualification_add", [(p, {
        "level": q.level, "certificate_no": q.certificate_no}) for p, q in quals], now=now)
    return people


def _check_new_people(new: list[NewPerson], *, actor: Any, now: datetime) -> list[str | None]:
    """The checks of create_person and open_post; returns the normalised ID-card numbers."""
    ids = []
    for n in new:
        ensure(actor, Perm.PERSON_MANAGE, n.unit)
        validate_person_data({"name": n.data.get("name"), **n.data}, now=now)
        check_post_level(n.unit, n.post_type)
        if n.status != PostStatus.NOMINATED and not (n.status == PostStatus.IN_POST and n.legacy):
            raise InvalidState(_("新岗位须先完成岗前培训并通过考试，不能直接设为已上岗。"))
        value = normalize_id_number(n.data["id_number"]) if n.data.get("id_number") else None
        if n.data.get("id_number") and value is None:
            raise ValidationFailed(_("身份证号码无效：应为18位，且校验位正确。"), "id_number")
        ids.append(value)
    return ids


def set_acting(post: Post, acting: bool, *, actor: Any, now: datetime) -> bool:
    """Mark or unmark a post as held by an acting person (代理); returns whether it changed."""
    ensure(actor, Perm.PERSON_MANAGE, post.org_unit)
    if not post.is_open:
        raise InvalidState(_("已免职的岗位不能再更改代理标记。"))
    if post.is_acting == acting:
        return False
    post.is_acting = acting
    db.session.flush()
    audit.record(actor, "post.acting", post, now=now, person_id=post.person_id, acting=acting)
    return True


def transfer_person(person: Person, unit: OrgUnit, post_type: PostType, *, actor: Any,
                    now: datetime, reason: str = "") -> Post:
    """End every open post (removed, history kept) and open a nominated post at *unit*."""
    ensure(actor, Perm.PERSON_MANAGE, person.org_unit)
    ensure(actor, Perm.PERSON_MANAGE, unit)
    check_post_level(unit, post_type)
    old_unit_id = person.org_unit_id
    if any(p.is_open and p.org_unit_id == unit.id and p.post_type == post_type
           for p in person.posts):
        raise ValidationFailed(_("此人已在该单位担任该岗位，无需调动。"), "unit")
    for old in [p for p in person.posts if p.is_open]:
        change_post_status(old, PostStatus.REMOVED, actor=actor, now=now,
                           reason=reason or _("调动"))
    post = open_post(person, unit, post_type, actor=actor, now=now)
    audit.record(actor, "person.transfer", person, now=now, old_unit_id=old_unit_id,
                 new_unit_id=unit.id, post_id=post.id, reason=reason[:200])
    return post


def _level_name(level: Level) -> str:
    return str(level_label(level))


def change_post_status(post: Post, new: PostStatus, *, actor: Any, now: datetime,
                       reason: str = "") -> None:
    ensure(actor, Perm.PERSON_MANAGE, post.org_unit)
    old = PostStatus(post.status)
    if new not in TRANSITIONS[old]:
        if new == PostStatus.IN_POST:
            raise InvalidState(_("只有已通过岗前培训（完成培训并通过岗前考试）的人员才能上岗。"))
        raise InvalidState(_("岗位状态不能从“%(old)s”改为“%(new)s”。",
                             old=_status_name(old), new=_status_name(new)))
    post.status = new.value
    post.status_changed_at = now
    if new == PostStatus.REMOVED:
        post.ended_on = now.date()
    db.session.flush()
    audit.record(actor, "post.status", post, now=now, old=old.value, new=new.value,
                 reason=reason[:200])


def _status_name(status: PostStatus) -> str:
    return str(label(status))
