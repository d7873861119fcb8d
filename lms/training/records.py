"""The personal training record (个人培训档案) and external training (外部培训学时).

The record lists every completion (program, tier, kind, hours, exam score, certificate serial,
the unit the person was in at the time), the external training the person's unit approved, the
credit hours from online lessons, the totals, and the rotation status of each post held. Pending
and rejected external entries are listed apart and never count.

External training is recorded with evidence (a PDF or PNG/JPEG/WebP scan, checked and stored by
``lms.courses.uploads``: extension and magic bytes, size cap, images re-encoded, random name,
nothing left on disk when refused) by a unit staff member holding ``TRAINING_APPROVE`` over the
person, or by the person themselves. It waits as *pending* until someone of the person's unit
with ``TRAINING_APPROVE`` approves or rejects it with a note; the one who entered it (and the
person it is about) may not decide it (maker-checker). Every change is audited. Services take
``actor`` and ``now``, flush and never commit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import Select, select
from sqlalchemy.orm import aliased, contains_eager

from lms import audit
from lms.auth.access import Scope, ensure
from lms.auth.perms import Perm
from lms.courses import uploads
from lms.errors import InvalidState, NotAllowed, ValidationFailed
from lms.extensions import db
from lms.i18n import _, _l
from lms.org.models import OrgUnit, Person
from lms.training.coverage import Cutoffs, RotationRow, person_rotation
from lms.training.models import Completion, ExternalTraining

PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"
EXTERNAL_STATUSES: dict[str, Any] = {
    PENDING: _l("待审核"), APPROVED: _l("已认定"), REJECTED: _l("未通过"),
}
KINDS: dict[str, Any] = {
    "onboarding": _l("岗前培训"), "rotation": _l("轮训"), "in_service": _l("在岗培训"),
    "qualification_prep": _l("职业资格考前培训"),
}
TIERS: dict[str, Any] = {"city": _l("市级"), "county": _l("县级"), "township": _l("乡镇级")}
MAX_HOURS = Decimal("999.9")
EARLIEST = date(1980, 1, 1)
#: Evidence files: PDF or images, at most this many bytes whatever the attachment caps say.
EVIDENCE_MAX_BYTES = 10 * 1024 * 1024
EVIDENCE_KINDS = frozenset({"pdf", "image"})
EVIDENCE_FOLDER = "evidence"


# ---------------------------------------------------------------- the record


@dataclass
class TrainingRecord:
    person: Person
    #: (completion, name of the unit the person was in when completing).
    completions: list[tuple[Completion, str]]
    external: list[ExternalTraining]
    #: Pending and rejected external entries: shown for follow-up, never counted.
    submissions: list[ExternalTraining]
    lesson_hours: Decimal
    rotation: list[RotationRow] = field(default_factory=list)

    @property
    def completion_hours(self) -> Decimal:
        return sum((c.credit_hours for c, _unit in self.completions), Decimal("0"))

    @property
    def external_hours(self) -> Decimal:
        return sum((e.credit_hours for e in self.external), Decimal("0"))

    @property
    def total_hours(self) -> Decimal:
        return self.completion_hours + self.external_hours + self.lesson_hours


def training_record(person: Person, *, cut: Cutoffs,
                    lesson_hours: Decimal = Decimal("0")) -> TrainingRecord:
    """The whole record of one person (3 queries, whatever its length)."""
    done_at = aliased(OrgUnit)
    completions = [(c, name) for c, name in db.session.execute(
        select(Completion, done_at.name).join(done_at, done_at.id == Completion.org_unit_id)
        .where(Completion.person_id == person.id)
        .order_by(Completion.completed_on.desc(), Completion.id.desc())).all()]
    entries = list(db.session.execute(
        select(ExternalTraining).where(ExternalTraining.person_id == person.id)
        .order_by(ExternalTraining.completed_on.desc(), ExternalTraining.id.desc())).scalars())
    return TrainingRecord(
        person=person, completions=completions,
        external=[e for e in entries if e.status == APPROVED],
        submissions=[e for e in entries if e.status != APPROVED],
        lesson_hours=lesson_hours, rotation=person_rotation(person.id, cut=cut))


# ---------------------------------------------------------------- evidence files


@dataclass(frozen=True)
class EvidenceStore:
    """Where evidence files live (``UPLOAD_DIR/evidence``) and how large they may be."""

    folder: Path
    limits: uploads.Limits

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> EvidenceStore:
        cap = EVIDENCE_MAX_BYTES
        limits = uploads.Limits(
            image_bytes=min(cap, config["UPLOAD_MAX_IMAGE_BYTES"]),
            pdf_bytes=min(cap, config["UPLOAD_MAX_PDF_BYTES"]), video_bytes=0,
            image_pixels=config["UPLOAD_MAX_IMAGE_PIXELS"])
        return cls(Path(config["UPLOAD_DIR"]) / EVIDENCE_FOLDER, limits)

    def save(self, stream: BinaryIO, filename: str | None) -> uploads.StoredUpload:
        _display, ext = uploads.check_name(filename)
        if uploads.EXTENSIONS[ext][0] not in EVIDENCE_KINDS:
            raise uploads.UploadRejected(_("证明材料只能是 PDF 文件或 PNG/JPEG/WebP 图片，"
                                           "请用扫描件或照片上传。"))
        return uploads.store(stream, filename, folder=self.folder, limits=self.limits,
                             kinds=EVIDENCE_KINDS)

    def path(self, entry: ExternalTraining) -> Path | None:
        if not entry.evidence_name:
            return None
        path = uploads.path_of(self.folder, entry.evidence_name)
        return path if path is not None and path.is_file() else None

    def discard(self, stored_name: str | None) -> None:
        if stored_name:
            uploads.discard(self.folder, [stored_name])


def content_type(entry: ExternalTraining) -> str:
    """The type to serve the evidence as, from its stored display name's extension."""
    name = (entry.evidence_original or "").lower()
    ext = "." + name.rsplit(".", 1)[-1] if "." in name else ""
    kind = uploads.EXTENSIONS.get(ext)
    return kind[1] if kind and kind[0] in EVIDENCE_KINDS else "application/octet-stream"


# ---------------------------------------------------------------- recording


@dataclass(frozen=True)
class ExternalData:
    title: str
    provider: str
    credit_hours: Decimal
    completed_on: date


def _check(data: ExternalData, today: date) -> None:
    if not data.title.strip():
        raise ValidationFailed(_("请填写培训名称。"), "title")
    if not data.provider.strip():
        raise ValidationFailed(_("请填写举办单位或平台。"), "provider")
    try:
        hours = Decimal(data.credit_hours)
        ok = Decimal("0") < hours <= MAX_HOURS and hours == hours.quantize(Decimal("0.1"))
    except (InvalidOperation, TypeError):
        ok = False
    if not ok:
        raise ValidationFailed(_("学时应大于 0、不超过 999.9，最多一位小数，例如 12 或 7.5。"),
                               "credit_hours")
    if not EARLIEST <= data.completed_on <= today:
        raise ValidationFailed(_("完成日期应在 1980-01-01 到今天之间。"), "completed_on")


def _may_record(person: Person, actor: Any, self_service: bool) -> None:
    if self_service:
        if actor is None or getattr(actor, "person_id", None) != person.id:
            raise NotAllowed(_("只能为自己申报外部培训。"))
    else:
        ensure(actor, Perm.TRAINING_APPROVE, person.org_unit)


def record_external(person: Person, data: ExternalData, *, store: EvidenceStore, actor: Any,
                    now: datetime, today: date, evidence: tuple[BinaryIO, str | None] | None = None,
                    self_service: bool = False) -> ExternalTraining:
    """Enter an external training (status pending). Evidence is required when the person enters
    it; staff may leave it out when they saw the paper original. The file is removed again if
    anything after storing it fails."""
    _may_record(person, actor, self_service)
    _check(data, today)
    if evidence is None and self_service:
        raise ValidationFailed(_("请上传培训证明（证书或结业证明的扫描件、照片）。"), "evidence")
    stored = store.save(*evidence) if evidence is not None else None
    try:
        entry = ExternalTraining(
            person_id=person.id, org_unit_id=person.org_unit_id, title=data.title.strip(),
            provider=data.provider.strip(), credit_hours=Decimal(data.credit_hours),
            completed_on=data.completed_on, status=PENDING,
            evidence_name=stored.stored_name if stored else None,
            evidence_original=stored.display_name if stored else None,
            submitted_by_id=getattr(actor, "id", None), created_at=now, decision_note="")
        db.session.add(entry)
        db.session.flush()
        audit.record(actor, "training.external_submit", entry, now=now, person=person.id,
                     title=entry.title, hours=str(entry.credit_hours),
                     evidence=stored.sha256 if stored else None, self_service=self_service)
    except Exception:
        store.discard(stored.stored_name if stored else None)
        raise
    return entry


# ---------------------------------------------------------------- deciding


def decide_external(entry: ExternalTraining, approve: bool, note: str, *, actor: Any,
                    now: datetime) -> None:
    """Approve or reject a pending entry (a rejection says why); never by its submitter."""
    ensure(actor, Perm.TRAINING_APPROVE, entry.person.org_unit)
    if entry.status != PENDING:
        raise InvalidState(_("这条外部培训已经审核过（%(status)s），不能再次审核。",
                             status=EXTERNAL_STATUSES.get(entry.status, entry.status)))
    if actor is not None and (actor.id == entry.submitted_by_id
                              or getattr(actor, "person_id", None) == entry.person_id):
        raise NotAllowed(
            _("不能审核自己录入或本人的外部培训，请由本单位其他有审核权限的人员审核。"))
    note = note.strip()
    if not approve and not note:
        raise ValidationFailed(_("不通过时请写明原因，申报人会看到。"), "note")
    entry.status = APPROVED if approve else REJECTED
    entry.decided_by_id = getattr(actor, "id", None)
    entry.decided_at = now
    entry.decision_note = note[:500]
    db.session.flush()
    audit.record(actor, "training.external_approve" if approve else "training.external_reject",
                 entry, now=now, person=entry.person_id, hours=str(entry.credit_hours),
                 note=entry.decision_note)


# ---------------------------------------------------------------- the approval queue


def pending_select(scope: Scope) -> Select[Any]:
    """Pending entries of the people in scope (by the person's current unit), oldest first."""
    home = aliased(OrgUnit)
    return (select(ExternalTraining)
            .join(ExternalTraining.person)
            .join(home, home.id == Person.org_unit_id)
            .options(contains_eager(ExternalTraining.person))
            .where(ExternalTraining.status == PENDING, scope.where(home.path))
            .order_by(ExternalTraining.created_at, ExternalTraining.id))


def entry_of(person: Person, raw: Any) -> ExternalTraining | None:
    """The person's entry with the id in *raw* (a form or query value), or None."""
    text = str(raw or "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > 9:
        return None
    return db.session.execute(select(ExternalTraining).where(
        ExternalTraining.id == int(text), ExternalTraining.person_id == person.id)).scalar()
