"""Organiser pages for exams (考试管理): the list, create and edit, the exam's hub page with
publish / withdraw / archive, the paper editor (fixed list or blueprint slots), a keyed preview
of one draw, and extra time for people and groups."""

from __future__ import annotations

import re
import secrets
from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from lms.auth.access import requires, scoped_select
from lms.auth.perms import Perm
from lms.courses.content import render_markdown
from lms.db import utcnow
from lms.errors import DomainError, ValidationFailed
from lms.exams import exam_admin, overrides, paper_admin
from lms.exams.banks import usable_banks
from lms.exams.exam_forms import (
    EXAM_STATUSES,
    GRADING_LABELS,
    MC_RULE_LABELS,
    PAPER_MODE_LABELS,
    REVIEW_LABELS,
    AddQuestionsForm,
    ExamFilterForm,
    ExamForm,
    GroupOverrideForm,
    ItemForm,
    NewExamForm,
    PersonOverrideForm,
    PersonSearchForm,
    QuestionFilterForm,
    RemoveOverrideForm,
    SlotForm,
    StatusForm,
)
from lms.exams.formats.model import OPTION_LETTERS
from lms.exams.models import Attempt, Exam, ExamOverride, PaperItem
from lms.exams.paper import draw
from lms.exams.question_forms import DIFFICULTY_LABELS, TYPE_LABELS
from lms.exams.views import bp
from lms.extensions import db
from lms.i18n import _
from lms.org import queries
from lms.org.models import Level, OrgUnit, Person
from lms.org.people_forms import unit_choices
from lms.org.queries import chosen_unit
from lms.web.actions import commit_or_flash, form_refusal, page_number

PAGE_SIZE = 30
SEARCH_ARGS = ("bank", "type", "category", "knowledge_point", "difficulty", "q")
AUDIENCE_LEVELS = (Level.PROVINCE, Level.CITY, Level.COUNTY, Level.TOWNSHIP, Level.VILLAGE)
WORDS = {"status": EXAM_STATUSES, "grading": GRADING_LABELS, "mc": MC_RULE_LABELS,
         "review": REVIEW_LABELS, "mode": PAPER_MODE_LABELS, "types": TYPE_LABELS,
         "difficulty": DIFFICULTY_LABELS}


def _actor() -> Any:
    return current_user._get_current_object()




def excerpt(text: str, n: int = 80) -> str:
    plain = re.sub(r"[#*_`>\[\]()!|-]+", " ", text or "")
    plain = " ".join(plain.split())
    return plain if len(plain) <= n else plain[:n] + "…"


def _to_exam(exam: Exam) -> Response:
    return redirect(url_for("exams.show_exam", exam_id=exam.id))


def _to_paper(exam: Exam, **args: Any) -> Response:
    return redirect(url_for("exams.edit_paper", exam_id=exam.id, **args))


def search_args() -> dict[str, str]:
    """The paper page's question filters from the query string (nothing else passes on)."""
    return {k: v for k, v in request.args.items() if k in SEARCH_ARGS}


def _unit_rows(within: OrgUnit | None = None, levels: tuple[Level, ...] = AUDIENCE_LEVELS
               ) -> list[Any]:
    return queries.unit_choices(scope=g.scope, levels=levels, within=within)


# ---------------------------------------------------------------- list, create, edit


@bp.get("/manage")
@requires(Perm.EXAM_MANAGE)
def list_exams() -> str:
    form = ExamFilterForm(formdata=request.args)
    form.unit.choices = unit_choices(_unit_rows(levels=exam_admin.OWNER_LEVELS), _("全部"))
    form.validate()
    stmt = scoped_select(Exam, g.scope)
    if form.value("q"):
        stmt = stmt.where(Exam.title.contains(form.value("q"), autoescape=True))
    if form.value("status"):
        stmt = stmt.where(Exam.status == form.value("status"))
    if form.value("unit"):
        root = db.session.get(OrgUnit, form.value("unit"))
        if root is not None:
            stmt = stmt.where(Exam.org_unit_id.in_(select(OrgUnit.id).where(
                OrgUnit.path.startswith(root.path, autoescape=True))))
    total = db.session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    counts = (select(Attempt.exam_id, func.count().label("n"))
              .group_by(Attempt.exam_id).subquery())
    page = page_number()
    rows = db.session.execute(
        stmt.add_columns(func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.exam_id == Exam.id)
        .order_by(Exam.created_at.desc(), Exam.id.desc())
        .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    return render_template("exams/exam_list.html", rows=rows, form=form, total=total,
                           page=page, size=PAGE_SIZE, words=WORDS)


@bp.route("/manage/new", methods=["GET", "POST"])
@requires(Perm.EXAM_MANAGE)
def new_exam() -> Response | str:
    form = NewExamForm()
    owners = _unit_rows(levels=exam_admin.OWNER_LEVELS)
    form.unit.choices = unit_choices(owners, _("请选择"))
    form.audience_unit.choices = unit_choices(_unit_rows(levels=exam_admin.OWNER_LEVELS),
                                              _("与组织单位相同"))
    if request.method == "GET" and len(owners) == 1:
        form.unit.data = owners[0].id
    if form.validate_on_submit():
        try:
            unit = chosen_unit(form.unit.data, g.scope)
            exam = exam_admin.create_exam(unit, form.settings(), actor=_actor(), now=utcnow())
        except DomainError as exc:
            form_refusal(form, exc)
        else:
            db.session.commit()
            flash(_("已新建考试“%(title)s”（草稿），下一步请组卷。", title=exam.title), "success")
            return _to_paper(exam)
    return render_template("exams/exam_form.html", form=form, exam=None)


@bp.route("/<int:exam_id>/edit", methods=["GET", "POST"])
@requires(Perm.EXAM_MANAGE, exam_id=Exam)
def edit_exam(exam: Exam) -> Response | str:
    form = ExamForm()
    form.audience_unit.choices = unit_choices(
        _unit_rows(within=exam.org_unit, levels=exam_admin.OWNER_LEVELS), _("与组织单位相同"))
    if request.method == "GET":
        form.fill(exam)
    elif form.validate_on_submit():
        try:
            changes = exam_admin.update_exam(exam, form.settings(), actor=_actor(), now=utcnow())
        except DomainError as exc:
            form_refusal(form, exc)
        else:
            db.session.commit()
            flash(_("考试设置已保存。") if changes else _("没有需要保存的修改。"), "success")
            return _to_exam(exam)
    return render_template("exams/exam_form.html", form=form, exam=exam,
                           locked=exam_admin.has_attempts(exam))


# ---------------------------------------------------------------- the hub page


def _load_paper(exam: Exam) -> None:
    """Load the paper's items and their questions with the exam (no query per item)."""
    db.session.execute(select(Exam).where(Exam.id == exam.id).options(
        selectinload(Exam.items).joinedload(PaperItem.question), selectinload(Exam.slots))
        .execution_options(populate_existing=True)).scalar_one()


@bp.get("/<int:exam_id>/manage")
@requires(Perm.EXAM_MANAGE, exam_id=Exam)
def show_exam(exam: Exam) -> str:
    _load_paper(exam)
    attempts = db.session.execute(select(func.count()).where(
        Attempt.exam_id == exam.id)).scalar_one()
    extra = db.session.execute(select(func.count()).where(
        ExamOverride.exam_id == exam.id)).scalar_one()
    return render_template(
        "exams/exam_detail.html", exam=exam, words=WORDS, attempts=attempts, extra=extra,
        problems=exam_admin.publish_blockers(exam) if exam.status != "archived" else [],
        total=exam_admin.paper_total(exam), count=len(exam.items) if exam.paper_mode == "fixed"
        else sum(s.count for s in exam.slots), description=render_markdown(exam.description),
        status_form=StatusForm())


@bp.post("/<int:exam_id>/status")
@requires(Perm.EXAM_MANAGE, exam_id=Exam)
def change_status(exam: Exam) -> Response:
    form = StatusForm()
    actions = {"publish": (exam_admin.publish_exam, _("考试已发布，考生现在可以看到它。")),
               "unpublish": (exam_admin.unpublish_exam, _("考试已撤回为草稿。")),
               "archive": (exam_admin.archive_exam, _("考试已归档。"))}
    chosen = actions.get(form.action.data or "") if form.validate_on_submit() else None
    if chosen is None:
        flash(_("请刷新页面后重试。"), "error")
        return _to_exam(exam)
    service, message = chosen
    commit_or_flash(lambda: service(exam, actor=_actor(), now=utcnow()), message)
    return _to_exam(exam)


@bp.get("/<int:exam_id>/preview")
@requires(Perm.EXAM_MANAGE, exam_id=Exam)
def preview_exam(exam: Exam) -> str:
    try:
        seed = int(request.args.get("seed", ""))
    except ValueError:
        seed = -1
    if not 0 <= seed < 2**31:
        seed = secrets.randbelow(2**31)
    entries = draw(exam, seed)
    return render_template(
        "exams/exam_preview.html", exam=exam, entries=entries, seed=seed, md=render_markdown,
        words=WORDS, letters=OPTION_LETTERS, next_seed=secrets.randbelow(2**31),
        total=sum((e.points for e in entries), start=0))


# ---------------------------------------------------------------- paper editor


@bp.get("/<int:exam_id>/paper")
@requires(Perm.EXAM_MANAGE, exam_id=Exam)
def edit_paper(exam: Exam) -> str:
    return _paper_page(exam)


def _paper_page(exam: Exam, slot_form: SlotForm | None = None, editing: int | None = None
                ) -> str:
    locked = exam.status == "archived" or exam_admin.has_attempts(exam)
    banks = usable_banks(exam.org_unit)
    context: dict[str, Any] = {"exam": exam, "locked": locked, "words": WORDS, "banks": banks,
                               "total": exam_admin.paper_total(exam)}
    if exam.paper_mode == "blueprint":
        if slot_form is None:
            slot_form = SlotForm()
            _fill_slot_form(slot_form, exam, editing)
        slot_form.bank.choices = [("", _("请选择"))] + [(b.id, f"{b.code} {b.title}")
                                                      for b in banks]
        context.update(slot_form=slot_form, editing=editing,
                       sizes=paper_admin.slot_pool_sizes(exam),
                       problems=exam_admin.publish_blockers(exam))
        return render_template("exams/paper_blueprint.html", **context)
    search = QuestionFilterForm(formdata=request.args)
    search.bank.choices = [("", _("全部可用题库"))] + [(b.id, f"{b.code} {b.title}")
                                                     for b in banks]
    search.validate()
    stmt = paper_admin.question_search(exam, search.question_filter())
    found_total = db.session.execute(
        select(func.count()).select_from(stmt.subquery())).scalar_one()
    page = page_number()
    found = db.session.execute(stmt.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    rows = paper_admin.paper_rows(exam)
    context.update(rows=rows, present={item.question_id for item, _v, _q in rows},
                   found=found, found_total=found_total, page=page, size=PAGE_SIZE,
                   search=search, add_form=AddQuestionsForm(), item_form=ItemForm(),
                   excerpt=excerpt, bank_titles={b.id: b.title for b in banks},
                   search_args=search_args())
    return render_template("exams/paper_fixed.html", **context)


def _fill_slot_form(form: SlotForm, exam: Exam, position: int | None) -> None:
    slot = next((s for s in exam.slots if s.position == position), None)
    if slot is not None:
        form.bank.data, form.type.data = slot.bank_id, slot.type
        form.category.data, form.knowledge_point.data = slot.category, slot.knowledge_point
        form.difficulty.data, form.count.data = slot.difficulty, slot.count
        form.points.data = slot.points


@bp.post("/<int:exam_id>/paper/add")
@requires(Perm.EXAM_MANAGE, exam_id=Exam)
def add_to_paper(exam: Exam) -> Response:
    form = AddQuestionsForm()
    if not form.validate_on_submit():
        flash(_("请刷新页面后重新勾选。"), "error")
    else:
        commit_or_flash(lambda: paper_admin.add_questions(
            exam, form.questions.data or [], actor=_actor(), now=utcnow()),
            _("已把所选试题加入试卷。"))
    return _to_paper(exam, **search_args())


@bp.post("/<int:exam_id>/paper/item")
@requires(Perm.EXAM_MANAGE, exam_id=Exam)
def change_item(exam: Exam) -> Response:
    form = ItemForm()
    action = request.form.get("action", "")
    if not form.validate_on_submit() or action not in ("up", "down", "remove", "points"):
        for error in form.points.errors or [_("请刷新页面后重试。")]:
            flash(error, "error")
        return _to_paper(exam)
    item_id, now = form.item_id(), utcnow()
    calls = {
        "up": lambda: paper_admin.move_item(exam, item_id, "up", actor=_actor(), now=now),
        "down": lambda: paper_admin.move_item(exam, item_id, "down", actor=_actor(), now=now),
        "remove": lambda: paper_admin.remove_item(exam, item_id, actor=_actor(), now=now),
        "points": lambda: paper_admin.set_item_points(exam, item_id, form.points.data,
                                                      actor=_actor(), now=now),
    }
    done = {"up": _("已上移。"), "down": _("已下移。"), "remove": _("已从试卷中移除。"),
            "points": _("分值已保存。")}
    commit_or_flash(calls[action], done[action])
    return _to_paper(exam)


def _slot_position() -> int | None:
    value = request.values.get("slot", "")
    return int(value) if value.isascii() and value.isdigit() and len(value) < 4 else None


@bp.route("/<int:exam_id>/paper/slot", methods=["POST"])
@requires(Perm.EXAM_MANAGE, exam_id=Exam)
def save_slot(exam: Exam) -> Response | str:
    """Add a slot, or change the one named by ``slot`` (its position)."""
    form = SlotForm()
    form.bank.choices = [("", _("请选择"))] + [(b.id, b.title)
                                              for b in usable_banks(exam.org_unit)]
    position = _slot_position()
    if form.validate_on_submit():
        try:
            if position is None:
                paper_admin.add_slot(exam, form.slot_data(), actor=_actor(), now=utcnow())
            else:
                paper_admin.update_slot(exam, position, form.slot_data(), actor=_actor(),
                                        now=utcnow())
        except DomainError as exc:
            form_refusal(form, exc)
        else:
            db.session.commit()
            flash(_("组卷规则已保存。"), "success")
            return _to_paper(exam)
    return _paper_page(exam, form, position)


@bp.get("/<int:exam_id>/paper/slot")
@requires(Perm.EXAM_MANAGE, exam_id=Exam)
def edit_slot(exam: Exam) -> str:
    return _paper_page(exam, None, _slot_position())


@bp.post("/<int:exam_id>/paper/slot/remove")
@requires(Perm.EXAM_MANAGE, exam_id=Exam)
def remove_slot(exam: Exam) -> Response:
    form = StatusForm()
    if not form.validate_on_submit():
        flash(_("请刷新页面后重试。"), "error")
    else:
        position = _slot_position()
        commit_or_flash(lambda: paper_admin.remove_slot(exam, position, actor=_actor(),
                                                        now=utcnow()), _("组卷规则已删除。"))
    return _to_paper(exam)


# ---------------------------------------------------------------- extra time


def _overrides_page(exam: Exam, person_form: PersonOverrideForm | None = None,
                    group_form: GroupOverrideForm | None = None) -> str:
    search = PersonSearchForm(formdata=request.args)
    found = overrides.search_people(exam, search.q.data) \
        if "q" in request.args and search.validate() else []
    group_form = group_form or GroupOverrideForm()
    group_form.unit.choices = unit_choices(_unit_rows(within=overrides.audience_root(exam)),
                                           _("请选择"))
    return render_template(
        "exams/override_list.html", exam=exam, rows=overrides.exam_overrides(exam),
        search=search, found=found, person_form=person_form or PersonOverrideForm(),
        group_form=group_form, remove_form=RemoveOverrideForm())


@bp.get("/<int:exam_id>/overrides")
@requires(Perm.EXAM_MANAGE, exam_id=Exam)
def exam_overrides(exam: Exam) -> str:
    return _overrides_page(exam)


def _to_overrides(exam: Exam) -> Response:
    return redirect(url_for("exams.exam_overrides", exam_id=exam.id))


@bp.post("/<int:exam_id>/overrides/person")
@requires(Perm.EXAM_MANAGE, exam_id=Exam)
def add_person_override(exam: Exam) -> Response | str:
    form = PersonOverrideForm()
    if form.validate_on_submit():
        person_id = form.person_id()
        person = db.session.get(Person, person_id) if person_id else None
        try:
            if person is None or not g.scope.covers(person.org_unit):
                raise ValidationFailed(_("请从搜索结果中选择人员。"), "person")
            overrides.set_person_override(exam, person, form.extra_minutes.data,
                                          form.reason.data, actor=_actor(), now=utcnow())
        except DomainError as exc:
            form_refusal(form, exc)
        else:
            db.session.commit()
            flash(_("已为%(name)s延长%(m)s分钟（之后开始的作答生效）。", name=person.name,
                    m=form.extra_minutes.data), "success")
            return _to_overrides(exam)
    for error in [*form.person.errors, *form.form_errors]:
        flash(error, "error")
    return _overrides_page(exam, person_form=form)


@bp.post("/<int:exam_id>/overrides/group")
@requires(Perm.EXAM_MANAGE, exam_id=Exam)
def add_group_override(exam: Exam) -> Response | str:
    form = GroupOverrideForm()
    form.unit.choices = unit_choices(_unit_rows(within=overrides.audience_root(exam)))
    if form.validate_on_submit():
        try:
            unit = chosen_unit(form.unit.data, g.scope)
            overrides.set_group_override(exam, unit, form.extra_minutes.data, form.reason.data,
                                         actor=_actor(), now=utcnow())
        except DomainError as exc:
            form_refusal(form, exc)
        else:
            db.session.commit()
            flash(_("已为%(unit)s的考生延长%(m)s分钟（之后开始的作答生效）。", unit=unit.name,
                    m=form.extra_minutes.data), "success")
            return _to_overrides(exam)
    return _overrides_page(exam, group_form=form)


@bp.post("/<int:exam_id>/overrides/remove")
@requires(Perm.EXAM_MANAGE, exam_id=Exam)
def remove_override(exam: Exam) -> Response:
    form = RemoveOverrideForm()
    override_id = form.override_id() if form.validate_on_submit() else None
    override = db.session.execute(select(ExamOverride).where(
        ExamOverride.id == override_id, ExamOverride.exam_id == exam.id)).scalar() \
        if override_id else None
    if override is None:
        flash(_("请刷新页面后重试。"), "error")
    else:
        commit_or_flash(lambda: overrides.remove_override(override, actor=_actor(),
                                                          now=utcnow()), _("已取消延时。"))
    return _to_overrides(exam)
