"""Exam authoring (考试设置): create and edit an exam's settings and audience, publish, withdraw
and archive it.

Rules: the window closes after it opens; the pass mark is at most the paper's total once the
paper has points; the audience unit lies in the exam unit's subtree. Publishing needs a paper
without problems (``lms.exams.paper.publish_problems``). Once anyone has started the exam its
paper and the settings that decide marks (paper mode, multiple-choice rule, pass mark) are
locked; times, extra time and the passcode stay editable. Every service repeats the permission
check, validates before it writes (a refusal changes nothing), audits and flushes; the caller
commits. ``actor=None`` is the system.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from lms import audit
from lms.auth.access import ensure
from lms.auth.perms import Perm
from lms.errors import InvalidState, ValidationFailed
from lms.exams.formats.model import clean_text
from lms.exams.models import Attempt, BlueprintSlot, Exam, PaperItem, Question, QuestionVersion
from lms.exams.paper import publish_problems
from lms.extensions import db
from lms.i18n import _
from lms.org.models import Level, OrgUnit, PostType

OWNER_LEVELS = (Level.PROVINCE, Level.CITY, Level.COUNTY, Level.TOWNSHIP)
GRADING_METHODS = ("highest", "first", "last", "average")
MC_RULES = ("all_or_nothing", "partial_half")
REVIEW_WHEN = ("immediately", "after_close", "never")
PAPER_MODES = ("fixed", "blueprint")
POST_TYPES = tuple(p.value for p in PostType)
MAX_TITLE = 200
MAX_DESCRIPTION = 20_000
MAX_SCORE = Decimal("9999.9")
PASSCODE_RE = re.compile(r"^[A-Za-z0-9]{4,20}$")
#: Settings that decide marks: frozen once anyone has started.
MARKING_FIELDS = ("paper_mode", "multiple_choice_rule", "pass_score")


@dataclass(frozen=True)
class ExamSettings:
    title: str
    description: str = ""
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    time_limit_minutes: int | None = 60
    grace_seconds: int = 60
    attempts_allowed: int = 1
    grading_method: str = "highest"
    pass_score: Decimal = Decimal("60")
    multiple_choice_rule: str = "all_or_nothing"
    shuffle_questions: bool = True
    shuffle_options: bool = True
    show_score: str = "immediately"
    show_answers: str = "after_close"
    passcode: str | None = None
    query_window_days: int = 7
    paper_mode: str = "fixed"
    audience_unit_id: int | None = None
    audience_post_types: tuple[str, ...] = field(default_factory=tuple)


class PublishRefused(InvalidState):
    """The exam cannot be published; ``problems`` lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(_("考试还不能发布：%(p)s", p="；".join(problems)))
        self.problems = problems


# ---------------------------------------------------------------- queries


def has_attempts(exam: Exam) -> bool:
    return db.session.execute(
        select(Attempt.id).where(Attempt.exam_id == exam.id).limit(1)).first() is not None


def paper_total(exam: Exam) -> Decimal:
    """The paper's full marks (0 while it has no questions or slots), in one query."""
    if exam.paper_mode == "blueprint":
        stmt = select(func.sum(BlueprintSlot.points * BlueprintSlot.count)).where(
            BlueprintSlot.exam_id == exam.id)
    else:
        stmt = (select(func.sum(func.coalesce(PaperItem.points, QuestionVersion.points)))
                .join(Question, Question.id == PaperItem.question_id)
                .join(QuestionVersion, QuestionVersion.id == Question.current_version_id)
                .where(PaperItem.exam_id == exam.id))
    return Decimal(str(db.session.execute(stmt).scalar() or 0)).quantize(Decimal("0.1"))


def publish_blockers(exam: Exam) -> list[str]:
    """Why the exam cannot be (or stay) published: the paper's problems and the pass mark."""
    problems = list(publish_problems(exam))
    total = paper_total(exam)
    if total > 0 and exam.pass_score > total:
        problems.append(_("及格分（%(p)s）高于试卷总分（%(t)s）", p=exam.pass_score, t=total))
    return problems


def ensure_paper_editable(exam: Exam) -> None:
    if exam.status == "archived":
        raise InvalidState(_("考试已归档，不能再修改。"))
    if has_attempts(exam):
        raise InvalidState(_("已有考生开始作答，试卷（试题、组卷规则、分值、组卷方式）已锁定，"
                             "不能再修改。"))


# ---------------------------------------------------------------- validation


def _int(value: Any, lo: int, hi: int, message: str, name: str) -> int:
    if type(value) is not int or not lo <= value <= hi:
        raise ValidationFailed(message, name)
    return value


def _choice(value: Any, allowed: tuple[str, ...], name: str) -> str:
    if value not in allowed:
        raise ValidationFailed(_("请从列表中选择。"), name)
    return value


def _clean(unit: OrgUnit, s: ExamSettings, total: Decimal) -> ExamSettings:
    title = clean_text(s.title or "")
    if not title:
        raise ValidationFailed(_("请填写考试名称。"), "title")
    if len(title) > MAX_TITLE:
        raise ValidationFailed(_("考试名称不能超过%(n)s个字符。", n=MAX_TITLE), "title")
    description = clean_text(s.description or "")
    if len(description) > MAX_DESCRIPTION:
        raise ValidationFailed(_("考试说明不能超过%(n)s个字符。", n=MAX_DESCRIPTION),
                               "description")
    for name in ("opens_at", "closes_at"):
        value = getattr(s, name)
        if value is not None and (not isinstance(value, datetime) or value.tzinfo is None):
            raise ValidationFailed(_("时间格式应为 2026-03-01 09:00。"), name)
    if s.opens_at and s.closes_at and s.closes_at <= s.opens_at:
        raise ValidationFailed(_("结束时间必须晚于开始时间。"), "closes_at")
    if s.time_limit_minutes is not None:
        _int(s.time_limit_minutes, 1, 600, _("限时应为 1 到 600 分钟；不限时请留空。"),
             "time_limit_minutes")
    _int(s.grace_seconds, 0, 600, _("宽限时间应为 0 到 600 秒。"), "grace_seconds")
    _int(s.attempts_allowed, 0, 20, _("作答次数应为 0 到 20（0 表示不限次数）。"),
         "attempts_allowed")
    _int(s.query_window_days, 0, 60, _("复核期限应为 0 到 60 天。"), "query_window_days")
    _choice(s.grading_method, GRADING_METHODS, "grading_method")
    _choice(s.multiple_choice_rule, MC_RULES, "multiple_choice_rule")
    _choice(s.show_score, REVIEW_WHEN, "show_score")
    _choice(s.show_answers, REVIEW_WHEN, "show_answers")
    _choice(s.paper_mode, PAPER_MODES, "paper_mode")
    pass_score = s.pass_score
    if (not isinstance(pass_score, Decimal) or not pass_score.is_finite()
            or not Decimal(0) <= pass_score <= MAX_SCORE
            or pass_score != pass_score.quantize(Decimal("0.1"))):
        raise ValidationFailed(_("及格分应为 0 到 9999.9 之间的数，最多一位小数。"), "pass_score")
    if total > 0 and pass_score > total:
        raise ValidationFailed(_("及格分（%(p)s）不能高于试卷总分（%(t)s）。", p=pass_score,
                                 t=total), "pass_score")
    passcode = unicodedata.normalize("NFKC", s.passcode or "").strip() or None
    if passcode is not None and not PASSCODE_RE.match(passcode):
        raise ValidationFailed(_("考场口令应为 4 到 20 位字母或数字；不需要口令请留空。"),
                               "passcode")
    post_types = tuple(sorted(set(s.audience_post_types)))
    if any(p not in POST_TYPES for p in post_types):
        raise ValidationFailed(_("请从列表中选择岗位类型。"), "audience_post_types")
    audience = None
    if s.audience_unit_id is not None and s.audience_unit_id != unit.id:
        audience = db.session.get(OrgUnit, s.audience_unit_id) \
            if type(s.audience_unit_id) is int else None
        if audience is None or not audience.path.startswith(unit.path):
            raise ValidationFailed(_("考试对象单位必须是本单位或其下级单位。"), "audience_unit")
    return replace(s, title=title, description=description, passcode=passcode,
                   pass_score=pass_score.quantize(Decimal("0.1")),
                   audience_post_types=post_types,
                   audience_unit_id=audience.id if audience is not None else None)


def _columns(s: ExamSettings) -> dict[str, Any]:
    values = asdict(s)
    values["audience_post_types"] = ",".join(s.audience_post_types)
    return values


def _shown(name: str, value: Any) -> Any:
    """An audited value: the passcode only as set / not set."""
    if name == "passcode":
        return bool(value)
    return value if isinstance(value, bool | int | None) else str(value)


# ---------------------------------------------------------------- services


def create_exam(unit: OrgUnit, settings: ExamSettings, *, actor: Any, now: datetime) -> Exam:
    """A new draft exam owned by *unit*."""
    ensure(actor, Perm.EXAM_MANAGE, unit)
    if Level(unit.level) not in OWNER_LEVELS:
        raise ValidationFailed(_("考试只能由省、市、县、乡镇（街道）单位组织。"), "unit")
    values = _columns(_clean(unit, settings, Decimal(0)))
    exam = Exam(org_unit_id=unit.id, status="draft", created_by_id=getattr(actor, "id", None),
                created_at=now, updated_at=now, **values)
    db.session.add(exam)
    db.session.flush()
    audit.record(actor, "exam.create", exam, now=now, title=exam.title)
    return exam


def update_exam(exam: Exam, settings: ExamSettings, *, actor: Any,
                now: datetime) -> dict[str, Any]:
    """Save the changed settings; returns ``{field: [before, after]}`` (empty: nothing changed)."""
    ensure(actor, Perm.EXAM_MANAGE, exam.org_unit)
    if exam.status == "archived":
        raise InvalidState(_("考试已归档，不能再修改。"))
    values = _columns(_clean(exam.org_unit, settings, paper_total(exam)))
    changes = {k: [getattr(exam, k), v] for k, v in values.items() if getattr(exam, k) != v}
    if not changes:
        return {}
    locked = [k for k in MARKING_FIELDS if k in changes]
    if locked and has_attempts(exam):
        raise ValidationFailed(_("已有考生开始作答，组卷方式、多选题计分规则和及格分已锁定，"
                                 "不能再修改。"), locked[0])
    if "paper_mode" in changes and (exam.items or exam.slots):
        raise ValidationFailed(_("试卷已有试题或组卷规则，请先清空后再切换组卷方式。"),
                               "paper_mode")
    for key, (_before, after) in changes.items():
        setattr(exam, key, after)
    exam.updated_at = now
    db.session.flush()
    audit.record(actor, "exam.update", exam, now=now,
                 changes={k: [_shown(k, a), _shown(k, b)] for k, (a, b) in changes.items()})
    return changes


def publish_exam(exam: Exam, *, actor: Any, now: datetime) -> None:
    ensure(actor, Perm.EXAM_MANAGE, exam.org_unit)
    if exam.status != "draft":
        raise InvalidState(_("只有草稿状态的考试可以发布。"))
    problems = publish_blockers(exam)
    if problems:
        raise PublishRefused(problems)
    total = paper_total(exam)
    exam.status = "published"
    exam.published_at = now
    exam.updated_at = now
    db.session.flush()
    audit.record(actor, "exam.publish", exam, now=now, total=str(total))


def unpublish_exam(exam: Exam, *, actor: Any, now: datetime) -> None:
    """Back to draft, only while nobody has started."""
    ensure(actor, Perm.EXAM_MANAGE, exam.org_unit)
    if exam.status != "published":
        raise InvalidState(_("只有已发布的考试可以撤回为草稿。"))
    if has_attempts(exam):
        raise InvalidState(_("已有考生开始作答，不能再撤回为草稿；可以归档。"))
    exam.status = "draft"
    exam.updated_at = now
    db.session.flush()
    audit.record(actor, "exam.unpublish", exam, now=now)


def archive_exam(exam: Exam, *, actor: Any, now: datetime) -> None:
    """Archived exams leave the candidates' lists; results and records stay."""
    ensure(actor, Perm.EXAM_MANAGE, exam.org_unit)
    if exam.status != "published":
        raise InvalidState(_("只有已发布的考试可以归档。"))
    exam.status = "archived"
    exam.updated_at = now
    db.session.flush()
    audit.record(actor, "exam.archive", exam, now=now)
