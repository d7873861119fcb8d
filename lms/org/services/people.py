"""People, ID-card numbers and qualifications. Flush, never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from lms import audit
from lms.auth.access import ensure
from lms.auth.perms import Perm
from lms.db import local_date
from lms.errors import InvalidState, ValidationFailed
from lms.extensions import db
from lms.i18n import _
from lms.org import pii
from lms.org.models import (
    Gender,
    OrgUnit,
    Person,
    Post,
    PostStatus,
    PostType,
    Qualification,
    QualificationLevel,
)
from lms.org.rules import has_control_chars, mask_id_number, normalize_id_number
from lms.org.services.posts import check_post_level


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
                  status=n.status.value, is_legacy=n.legacy, started_on=local_date(now),
                  in_post_on=local_date(now) if n.status == PostStatus.IN_POST else None,
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
