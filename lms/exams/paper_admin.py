"""Paper editing (组卷): a fixed list of questions, or blueprint slots drawn per attempt.

Questions come from the banks the exam's unit may use (its own and its ancestors', not
archived). The paper is locked once anyone has started (``exam_admin.ensure_paper_editable``).
A change that would leave a published exam without a usable paper is refused and undone
(savepoint). Every change repeats the permission check, is audited and flushed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import Select, func, select

from lms import audit
from lms.auth.access import ensure
from lms.auth.perms import Perm
from lms.errors import InvalidState, ValidationFailed
from lms.exams.banks import usable_banks
from lms.exams.exam_admin import PublishRefused, ensure_paper_editable, publish_blockers
from lms.exams.formats.model import QUESTION_TYPES, clean_text
from lms.exams.models import BlueprintSlot, Exam, PaperItem, Question, QuestionVersion
from lms.extensions import db
from lms.i18n import _

T = TypeVar("T")
MAX_ITEMS = 300
MAX_SLOTS = 30
MAX_SLOT_COUNT = 200
MAX_ADD = 100
MAX_POINTS = Decimal("999.9")
TENTH = Decimal("0.1")


@dataclass(frozen=True)
class QuestionFilter:
    bank_id: int | None = None
    type: str = ""
    category: str = ""
    knowledge_point: str = ""
    difficulty: int | None = None
    text: str = ""


@dataclass(frozen=True)
class SlotData:
    bank_id: int | None
    type: str
    category: str = ""
    knowledge_point: str = ""
    difficulty: int | None = None
    count: int = 1
    points: Decimal = Decimal("1")


# ---------------------------------------------------------------- queries


def bank_ids(exam: Exam) -> list[int]:
    return [b.id for b in usable_banks(exam.org_unit)]


def question_search(exam: Exam, f: QuestionFilter) -> Select[Any]:
    """Current, usable questions matching *f*: rows of (Question, QuestionVersion)."""
    stmt = (select(Question, QuestionVersion)
            .join(QuestionVersion, QuestionVersion.id == Question.current_version_id)
            .where(Question.bank_id.in_(bank_ids(exam)), Question.is_retired.is_(False)))
    if f.bank_id is not None:
        stmt = stmt.where(Question.bank_id == f.bank_id)
    if f.type:
        stmt = stmt.where(QuestionVersion.type == f.type)
    if f.category:
        stmt = stmt.where(QuestionVersion.category == f.category)
    if f.knowledge_point:
        stmt = stmt.where(QuestionVersion.knowledge_point == f.knowledge_point)
    if f.difficulty is not None:
        stmt = stmt.where(QuestionVersion.difficulty == f.difficulty)
    if f.text:
        stmt = stmt.where(QuestionVersion.stem.contains(f.text, autoescape=True))
    return stmt.order_by(Question.id)


def paper_rows(exam: Exam) -> list[tuple[PaperItem, QuestionVersion, Question]]:
    """The fixed paper in order with each question's current version, in one query."""
    return [tuple(r) for r in db.session.execute(  # type: ignore[misc]
        select(PaperItem, QuestionVersion, Question)
        .join(Question, Question.id == PaperItem.question_id)
        .join(QuestionVersion, QuestionVersion.id == Question.current_version_id)
        .where(PaperItem.exam_id == exam.id).order_by(PaperItem.position, PaperItem.id)).all()]


def slot_pool_sizes(exam: Exam) -> dict[int, int]:
    """``{slot id: questions the slot may draw}`` for every slot, in one query."""
    slots = list(exam.slots)
    if not slots:
        return {}
    rows = db.session.execute(
        select(Question.bank_id, QuestionVersion.type, QuestionVersion.category,
               QuestionVersion.knowledge_point, QuestionVersion.difficulty, func.count())
        .join(QuestionVersion, QuestionVersion.id == Question.current_version_id)
        .where(Question.bank_id.in_({s.bank_id for s in slots}),
               Question.is_retired.is_(False),
               QuestionVersion.type.in_({s.type for s in slots}))
        .group_by(Question.bank_id, QuestionVersion.type, QuestionVersion.category,
                  QuestionVersion.knowledge_point, QuestionVersion.difficulty)).all()
    sizes = {}
    for s in slots:
        sizes[s.id] = sum(n for bank, qtype, cat, kp, diff, n in rows
                          if bank == s.bank_id and qtype == s.type
                          and (not s.category or cat == s.category)
                          and (not s.knowledge_point or kp == s.knowledge_point)
                          and (s.difficulty is None or diff == s.difficulty))
    return sizes


# ---------------------------------------------------------------- helpers


def _points(value: Any, name: str = "points", *, optional: bool = False) -> Decimal | None:
    if value is None and optional:
        return None
    if (not isinstance(value, Decimal) or not value.is_finite()
            or not TENTH <= value <= MAX_POINTS or value != value.quantize(TENTH)):
        raise ValidationFailed(_("分值应为 0.1 到 999.9 之间的数，最多一位小数。"), name)
    return value.quantize(TENTH)


def _guard(exam: Exam, actor: Any) -> None:
    ensure(actor, Perm.EXAM_MANAGE, exam.org_unit)
    ensure_paper_editable(exam)


def _change(exam: Exam, fn: Callable[[], T]) -> T:
    """Run *fn* inside a savepoint; undo it when it leaves a published exam unusable."""
    try:
        with db.session.begin_nested():
            result = fn()
            db.session.flush()
            if exam.status == "published":
                db.session.expire(exam, ["items", "slots"])
                problems = publish_blockers(exam)
                if problems:
                    raise PublishRefused(problems)
    finally:
        db.session.expire(exam, ["items", "slots"])
    return result


def _item(exam: Exam, item_id: Any) -> PaperItem:
    item = next((i for i in exam.items if i.id == item_id), None) \
        if type(item_id) is int else None
    if item is None:
        raise InvalidState(_("试卷中没有这道题，请刷新页面。"))
    return item


def _slot(exam: Exam, position: Any) -> BlueprintSlot:
    slot = next((s for s in exam.slots if s.position == position), None) \
        if type(position) is int else None
    if slot is None:
        raise InvalidState(_("没有这条组卷规则，请刷新页面。"))
    return slot


def _renumber(rows: Iterable[Any]) -> None:
    for n, row in enumerate(rows, 1):
        row.position = n


# ---------------------------------------------------------------- fixed paper


def add_questions(exam: Exam, question_ids: Iterable[Any], *, actor: Any,
                  now: datetime) -> int:
    """Append the chosen questions (already-present ones are skipped); returns how many."""
    _guard(exam, actor)
    ids = list(dict.fromkeys(i for i in question_ids if type(i) is int))
    if not ids:
        raise ValidationFailed(_("请至少勾选一道题。"), "questions")
    if len(ids) > MAX_ADD:
        raise ValidationFailed(_("一次最多添加%(n)s道题。", n=MAX_ADD), "questions")
    if exam.paper_mode != "fixed":
        raise InvalidState(_("本考试按组卷规则抽题，不能逐题添加。"))
    usable = set(db.session.execute(
        question_search(exam, QuestionFilter()).with_only_columns(Question.id)
        .where(Question.id.in_(ids))).scalars())
    if len(usable) != len(ids):
        raise ValidationFailed(_("所选试题中有的不在可用题库中或已停用，请刷新后重选。"),
                               "questions")
    present = {i.question_id for i in exam.items}
    new = [qid for qid in ids if qid not in present]
    if len(present) + len(new) > MAX_ITEMS:
        raise ValidationFailed(_("一份试卷最多%(n)s道题。", n=MAX_ITEMS), "questions")

    def add() -> int:
        start = max((i.position for i in exam.items), default=0)
        db.session.add_all(PaperItem(exam_id=exam.id, question_id=qid, position=start + n)
                           for n, qid in enumerate(new, 1))
        return len(new)

    added = _change(exam, add)
    if added:
        audit.record(actor, "exam.paper_add", exam, now=now, question_ids=new)
    return added


def remove_item(exam: Exam, item_id: Any, *, actor: Any, now: datetime) -> None:
    _guard(exam, actor)
    item = _item(exam, item_id)
    qid = item.question_id

    def remove() -> None:
        exam.items.remove(item)
        _renumber(exam.items)

    _change(exam, remove)
    audit.record(actor, "exam.paper_remove", exam, now=now, question_id=qid)


def move_item(exam: Exam, item_id: Any, direction: str, *, actor: Any, now: datetime) -> None:
    _guard(exam, actor)
    item = _item(exam, item_id)
    if direction not in ("up", "down"):
        raise ValidationFailed(_("请从列表中选择。"), "direction")
    items = list(exam.items)
    i = items.index(item)
    j = i - 1 if direction == "up" else i + 1
    if not 0 <= j < len(items):
        return

    def move() -> None:
        items[i], items[j] = items[j], items[i]
        _renumber(items)

    _change(exam, move)
    audit.record(actor, "exam.paper_move", exam, now=now, question_id=item.question_id,
                 direction=direction)


def set_item_points(exam: Exam, item_id: Any, points: Any, *, actor: Any,
                    now: datetime) -> None:
    """This paper's points for a question; None = the question's own points."""
    _guard(exam, actor)
    item = _item(exam, item_id)
    value = _points(points, optional=True)
    before = item.points
    if before == value:
        return

    def change() -> None:
        item.points = value

    _change(exam, change)
    audit.record(actor, "exam.paper_points", exam, now=now, question_id=item.question_id,
                 before=None if before is None else str(before),
                 after=None if value is None else str(value))


# ---------------------------------------------------------------- blueprint


def _clean_slot(exam: Exam, data: SlotData) -> SlotData:
    if data.bank_id not in bank_ids(exam):
        raise ValidationFailed(_("请从列表中选择题库。"), "bank")
    if data.type not in QUESTION_TYPES:
        raise ValidationFailed(_("请从列表中选择题型。"), "type")
    category = clean_text(data.category or "")
    knowledge_point = clean_text(data.knowledge_point or "")
    for name, value in (("category", category), ("knowledge_point", knowledge_point)):
        if len(value) > 200:
            raise ValidationFailed(_("不能超过%(n)s个字符。", n=200), name)
    if data.difficulty is not None and (type(data.difficulty) is not int
                                        or not 1 <= data.difficulty <= 5):
        raise ValidationFailed(_("难度应为 1 到 5。"), "difficulty")
    if type(data.count) is not int or not 1 <= data.count <= MAX_SLOT_COUNT:
        raise ValidationFailed(_("题数应为 1 到 %(n)s。", n=MAX_SLOT_COUNT), "count")
    return SlotData(data.bank_id, data.type, category, knowledge_point, data.difficulty,
                    data.count, _points(data.points))


def _slot_audit(data: SlotData) -> dict[str, Any]:
    return {"bank_id": data.bank_id, "type": data.type, "category": data.category,
            "knowledge_point": data.knowledge_point, "difficulty": data.difficulty,
            "count": data.count, "points": str(data.points)}


def _require_blueprint(exam: Exam) -> None:
    if exam.paper_mode != "blueprint":
        raise InvalidState(_("本考试是固定试卷，没有组卷规则。"))


def add_slot(exam: Exam, data: SlotData, *, actor: Any, now: datetime) -> BlueprintSlot:
    _guard(exam, actor)
    _require_blueprint(exam)
    data = _clean_slot(exam, data)
    if len(exam.slots) >= MAX_SLOTS:
        raise ValidationFailed(_("组卷规则最多%(n)s条。", n=MAX_SLOTS), "count")
    position = len(exam.slots) + 1

    def add() -> BlueprintSlot:
        fields = {**_slot_audit(data), "points": data.points}
        slot = BlueprintSlot(exam_id=exam.id, position=position, **fields)
        db.session.add(slot)
        return slot

    slot = _change(exam, add)
    audit.record(actor, "exam.slot_add", exam, now=now, position=position, **_slot_audit(data))
    return slot


def update_slot(exam: Exam, position: Any, data: SlotData, *, actor: Any,
                now: datetime) -> None:
    _guard(exam, actor)
    _require_blueprint(exam)
    slot = _slot(exam, position)
    data = _clean_slot(exam, data)
    before = _slot_audit(SlotData(slot.bank_id, slot.type, slot.category, slot.knowledge_point,
                                  slot.difficulty, slot.count, slot.points))
    after = _slot_audit(data)
    if before == after:
        return

    def change() -> None:
        for key, value in after.items():
            setattr(slot, key, data.points if key == "points" else value)

    _change(exam, change)
    audit.record(actor, "exam.slot_update", exam, now=now, position=slot.position,
                 before=before, after=after)


def remove_slot(exam: Exam, position: Any, *, actor: Any, now: datetime) -> None:
    _guard(exam, actor)
    _require_blueprint(exam)
    slot = _slot(exam, position)
    data = _slot_audit(SlotData(slot.bank_id, slot.type, slot.category, slot.knowledge_point,
                                slot.difficulty, slot.count, slot.points))

    def remove() -> None:
        exam.slots.remove(slot)
        _renumber(exam.slots)

    _change(exam, remove)
    audit.record(actor, "exam.slot_remove", exam, now=now, position=position, **data)
