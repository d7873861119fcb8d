"""Org tree and people: every change goes through here and is audited. Flush, never commit."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import String, func, literal, select, update

from lms import audit
from lms.auth.access import ensure
from lms.auth.perms import Perm
from lms.errors import InvalidState, ValidationFailed
from lms.extensions import db
from lms.i18n import _
from lms.labels import label
from lms.org import pii
from lms.org.models import (
    LEVEL_RANK, POST_LEVEL, Level, OrgUnit, Person, Post, PostStatus, PostType, Qualification,
    QualificationLevel,
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


def create_person(unit: OrgUnit, data: dict[str, Any], *, actor: Any, now: datetime) -> Person:
    ensure(actor, Perm.PERSON_MANAGE, unit)
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
    if LEVEL_RANK[Level(unit.level)] != LEVEL_RANK[POST_LEVEL[post_type]]:
        raise ValidationFailed(_("该岗位只能设在%(level)s。", level=_level_name(
            POST_LEVEL[post_type])), "post_type")
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


def _level_name(level: Level) -> str:
    return str(label(level))


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
