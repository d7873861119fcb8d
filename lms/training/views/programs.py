"""Trainer pages for programs (培训班): list, create and edit under the tier rule, the program
page (courses, enrolments, sessions), open and close, courses, auto-enrol, add and remove."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, g, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from lms.auth.access import requires, scoped_select
from lms.auth.perms import Perm
from lms.courses.models import Course
from lms.db import utcnow
from lms.errors import DomainError, ValidationFailed
from lms.extensions import db
from lms.i18n import _
from lms.org import queries
from lms.org.export import TZ
from lms.org.models import Level, OrgUnit, Person
from lms.org.people_forms import unit_choices
from lms.org.queries import chosen_unit
from lms.org.services import breadcrumbs
from lms.training import enrolment, exam_link, programs, sessions
from lms.training.coverage_export import XLSX
from lms.training.models import Enrollment, Program
from lms.training.program_export import programs_workbook, roster_workbook
from lms.training.program_forms import (
    AddPersonForm,
    AutoEnrolForm,
    CourseForm,
    CourseMoveForm,
    EnrolmentFilterForm,
    NewProgramForm,
    PersonSearchForm,
    ProgramFilterForm,
    ProgramForm,
    RemoveForm,
    StatusForm,
)
from lms.training.program_labels import ENROLMENT_STATUSES, tone, training_label
from lms.training.views import bp
from lms.web.actions import commit_or_flash, form_refusal, page_number

PAGE_SIZE = 50
ORGANISER_LEVELS = (Level.CITY, Level.COUNTY, Level.TOWNSHIP)


#: Template helpers for words and colours of program, enrolment and attendance values.
bp.add_app_template_global(training_label, "training_label")
bp.add_app_template_global(tone, "tone")


# ---------------------------------------------------------------- helpers




def crumbs(unit: OrgUnit) -> list[OrgUnit]:
    return [u for u in breadcrumbs(unit) if g.scope.covers(u)]


def cycle_years() -> int:
    return int(current_app.config.get("ROTATION_CYCLE_YEARS", 3))


def _to_detail(program: Program, **args: Any) -> Response:
    return redirect(url_for("training.show_program", program_id=program.id, **args))


# ---------------------------------------------------------------- list


def _filtered(form: ProgramFilterForm) -> Any:
    stmt = scoped_select(Program, g.scope)
    if form.value("q"):
        stmt = stmt.where(Program.title.contains(form.value("q"), autoescape=True))
    if form.value("status"):
        stmt = stmt.where(Program.status == form.value("status"))
    if form.value("kind"):
        stmt = stmt.where(Program.kind == form.value("kind"))
    if form.value("audience"):
        stmt = stmt.where(Program.audience_post_type == form.value("audience"))
    return stmt


@bp.get("/programs")
@requires(Perm.PROGRAM_MANAGE)
def list_programs() -> str:
    form = ProgramFilterForm(formdata=request.args)
    form.validate()
    stmt = _filtered(form)
    total = db.session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    page = page_number()
    rows = db.session.execute(stmt.order_by(Program.created_at.desc(), Program.id.desc())
                              .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).scalars().all()
    seats: dict[int, dict[str, int]] = {}
    for pid, status, n in db.session.execute(
            select(Enrollment.program_id, Enrollment.status, func.count())
            .where(Enrollment.program_id.in_([p.id for p in rows]))
            .group_by(Enrollment.program_id, Enrollment.status)).all():
        seats.setdefault(pid, {})[status] = n
    return render_template("training/program_list.html", programs=rows, seats=seats, form=form,
                           total=total, page=page, size=PAGE_SIZE)


@bp.get("/programs/export.xlsx")
@requires(Perm.PROGRAM_MANAGE)
def export_programs() -> Response:
    """The list as filtered on the page (same scope and filters), every page of it."""
    form = ProgramFilterForm(formdata=request.args)
    form.validate()
    data = programs_workbook(_filtered(form))
    name = _("培训班-%(date)s.xlsx", date=utcnow().astimezone(TZ).strftime("%Y%m%d"))
    return send_file(data, as_attachment=True, download_name=name, mimetype=XLSX)


# ---------------------------------------------------------------- create and edit


@bp.route("/programs/new", methods=["GET", "POST"])
@requires(Perm.PROGRAM_MANAGE)
def new_program() -> Response | str:
    form = NewProgramForm()
    rows = queries.unit_choices(scope=g.scope, levels=ORGANISER_LEVELS)
    form.unit.choices = unit_choices(rows, _("请选择"))
    if request.method == "GET" and len(rows) == 1:
        form.unit.data = rows[0].id
    if form.validate_on_submit():
        try:
            unit = chosen_unit(form.unit.data, g.scope)
            program = programs.create_program(unit, form.program_data(), actor=current_user,
                                              now=utcnow())
        except DomainError as exc:
            form_refusal(form, exc)
        else:
            db.session.commit()
            flash(_("已新建培训班“%(title)s”（草稿）。", title=program.title), "success")
            return _to_detail(program)
    return render_template("training/program_form.html", form=form, program=None)


@bp.route("/programs/<int:program_id>/edit", methods=["GET", "POST"])
@requires(Perm.PROGRAM_MANAGE, program_id=Program)
def edit_program(program: Program) -> Response | str:
    form = ProgramForm(obj=program)
    if form.validate_on_submit():
        try:
            changes = programs.update_program(program, form.program_data(), actor=current_user,
                                              now=utcnow())
        except DomainError as exc:
            form_refusal(form, exc)
        else:
            db.session.commit()
            flash(_("培训班已保存。") if changes else _("没有需要保存的修改。"), "success")
            return _to_detail(program)
    return render_template("training/program_form.html", form=form, program=program,
                           crumbs=crumbs(program.org_unit))


# ---------------------------------------------------------------- the program page


@bp.get("/programs/<int:program_id>")
@requires(Perm.PROGRAM_MANAGE, program_id=Program)
def show_program(program: Program) -> str:
    filters = EnrolmentFilterForm(formdata=request.args)
    status = filters.status.data if filters.validate() else "enrolled"
    page = page_number()
    people = enrolment.enrolment_page(program, status, limit=PAGE_SIZE,
                                      offset=(page - 1) * PAGE_SIZE)
    counts = enrolment.enrolment_counts(program)
    course_form = CourseForm()
    course_form.course.choices = [("", _("请选择课程"))] + [
        (c.id, f"{c.code} {c.title}") for c in programs.course_choices(program)]
    return render_template(
        "training/program_detail.html", program=program, crumbs=crumbs(program.org_unit),
        counts=counts, status=status, statuses=ENROLMENT_STATUSES, people=people, page=page,
        size=PAGE_SIZE, hours=sessions.attended_hours(program, [e.person_id for e in people]),
        attendance=sessions.attendance_counts(program), course_form=course_form,
        move_form=CourseMoveForm(), status_form=StatusForm(), enrol_form=AutoEnrolForm(),
        exams=exam_link.exam_section(program, current_user), now=utcnow())


@bp.get("/programs/<int:program_id>/roster.xlsx")
@requires(Perm.PROGRAM_MANAGE, program_id=Program)
def export_roster(program: Program) -> Response:
    """Enrolled and waitlisted people of the program, with hours and attendance."""
    name = _("学员名单-%(title)s.xlsx", title=program.title.replace("/", "-").replace("\\", "-"))
    return send_file(roster_workbook(program), as_attachment=True, download_name=name,
                     mimetype=XLSX)


@bp.post("/programs/<int:program_id>/status")
@requires(Perm.PROGRAM_MANAGE, program_id=Program)
def change_status(program: Program) -> Response:
    form = StatusForm()
    if not form.validate_on_submit():
        flash(_("请刷新页面后重试。"), "error")
        return _to_detail(program)
    change = programs.open_program if form.action.data == "open" else programs.close_program
    commit_or_flash(lambda: change(program, actor=current_user, now=utcnow()),
                    _("培训班已开班。") if form.action.data == "open" else _("培训班已结束。"))
    return _to_detail(program)


# ---------------------------------------------------------------- courses


@bp.post("/programs/<int:program_id>/courses")
@requires(Perm.PROGRAM_MANAGE, program_id=Program)
def attach_course(program: Program) -> Response:
    form = CourseForm()
    form.course.choices = [(c.id, c.code) for c in programs.course_choices(program)]
    if not form.validate_on_submit():
        flash(_("请从列表中选择课程。"), "error")
        return _to_detail(program)
    course = db.session.get(Course, form.course.data)
    commit_or_flash(lambda: programs.attach_course(program, course, actor=current_user,
                                                   now=utcnow()), _("课程已加入培训班。"))
    return _to_detail(program)


@bp.post("/programs/<int:program_id>/courses/move")
@requires(Perm.PROGRAM_MANAGE, program_id=Program)
def move_course(program: Program) -> Response:
    form = CourseMoveForm()
    form.course.choices = [(pc.course_id, "") for pc in program.courses]
    if not form.validate_on_submit():
        flash(_("该课程不在本培训班中，请刷新页面后重试。"), "error")
        return _to_detail(program)
    now, step = utcnow(), form.step.data
    try:
        if step == "remove":
            programs.detach_course(program, form.course.data, actor=current_user, now=now)
        else:
            programs.move_course(program, form.course.data, -1 if step == "up" else 1,
                                 actor=current_user, now=now)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(_("课程已移除。") if step == "remove" else _("课程顺序已调整。"), "success")
    return _to_detail(program)


# ---------------------------------------------------------------- enrolment


@bp.post("/programs/<int:program_id>/auto-enrol")
@requires(Perm.PROGRAM_MANAGE, program_id=Program)
def auto_enrol(program: Program) -> Response:
    if not AutoEnrolForm().validate_on_submit():
        flash(_("请刷新页面后重试。"), "error")
        return _to_detail(program)
    try:
        result = enrolment.auto_enrol(program, actor=current_user, now=utcnow(),
                                      cycle_years=cycle_years())
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return _to_detail(program)
    db.session.commit()
    if result.changed:
        flash(_("自动报名完成：新报名 %(e)s 人，进入候补 %(w)s 人，候补转正 %(p)s 人。",
                e=result.enrolled, w=result.waitlisted, p=result.promoted), "success")
    else:
        flash(_("没有需要新增的学员：符合条件的人员都已在名单中。"), "success")
    return _to_detail(program)


@bp.route("/programs/<int:program_id>/add", methods=["GET", "POST"])
@requires(Perm.PROGRAM_MANAGE, program_id=Program)
def add_person(program: Program) -> Response | str:
    search = PersonSearchForm(formdata=request.args)
    found = enrolment.search_audience(program, search.q.data or "") \
        if request.args and search.validate() else []
    form = AddPersonForm()
    if form.validate_on_submit():
        person_id = form.person_id()
        person = db.session.get(Person, person_id) if person_id else None
        try:
            if person is None:
                raise ValidationFailed(_("请从搜索结果中选择人员。"), "person")
            added = enrolment.add_person(program, person, actor=current_user, now=utcnow())
        except DomainError as exc:
            form_refusal(form, exc)
        else:
            db.session.commit()
            flash(_("已把%(name)s加入名单（%(status)s）。", name=person.name,
                    status=training_label("enrolment", added.status)), "success")
            return _to_detail(program, status=added.status)
    return render_template("training/program_add.html", program=program, search=search,
                           found=found, form=form, crumbs=crumbs(program.org_unit))


@bp.route("/programs/<int:program_id>/remove", methods=["GET", "POST"])
@requires(Perm.PROGRAM_MANAGE, program_id=Program)
def remove_person(program: Program) -> Response | str:
    form = RemoveForm(enrolment=request.args.get("enrolment", ""))
    target = enrolment.find_enrolment(program, form.enrolment_id())
    if target is None:
        flash(_("该学员不在名单中，请刷新页面后重试。"), "error")
        return _to_detail(program)
    if form.validate_on_submit():
        try:
            promoted = enrolment.remove_enrolment(target, reason=form.reason.data,
                                                  actor=current_user, now=utcnow())
        except DomainError as exc:
            form_refusal(form, exc)
        else:
            db.session.commit()
            flash(_("已把%(name)s移出名单。", name=target.person.name), "success")
            if promoted:
                flash(_("候补名单中的%(names)s已转为正式学员。",
                        names="、".join(e.person.name for e in promoted)), "success")
            return _to_detail(program)
    return render_template("training/program_remove.html", program=program, target=target,
                           form=form, crumbs=crumbs(program.org_unit))
