"""Question-bank pages: the list (with question counts by type), create, edit, archive; the
blank template and a bank's questions as XLSX or GIFT; import: upload → preview → confirm.

Between the preview and the confirmation the uploaded file waits under
``UPLOAD_DIR/imports`` (``lms.org.importing.stash``), bound to the user, the bank and the
format; the confirmation claims it once, so confirming twice imports once.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from flask import current_app, flash, g, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from lms.auth.access import requires
from lms.auth.perms import Perm
from lms.db import utcnow
from lms.errors import DomainError
from lms.exams import bank_import, banks
from lms.exams.bank_forms import ArchiveForm, BankFilterForm, BankForm, NewBankForm
from lms.exams.formats import FORMATS, UnreadableFile, read_questions
from lms.exams.formats.export import to_gift, to_xlsx
from lms.exams.formats.model import answer_json
from lms.exams.formats.template import blank_workbook
from lms.exams.models import Question, QuestionBank, QuestionVersion
from lms.exams.question_forms import TYPE_LABELS, ConfirmForm, ImportForm
from lms.exams.questions import to_parsed
from lms.exams.views import bp
from lms.extensions import db
from lms.i18n import _
from lms.org import queries
from lms.org.export import TZ
from lms.org.importing import stash
from lms.org.people_forms import unit_choices
from lms.org.queries import chosen_unit
from lms.web.actions import commit_or_flash, form_refusal, page_number

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PAGE_SIZE = 50
#: Lines of the preview page (the counts always cover everything).
SHOWN = 500


def _actor() -> Any:
    return current_user._get_current_object()




def safe_name(title: str) -> str:
    return "".join("-" if c in '/\\:*?"<>|' or ord(c) < 32 else c for c in title)[:80]


def _to_bank(bank: QuestionBank) -> Response:
    return redirect(url_for("exams.show_bank", bank_id=bank.id))


# ---------------------------------------------------------------- list, create, edit


@bp.get("/banks")
@requires(Perm.EXAM_MANAGE)
def list_banks() -> str:
    form = BankFilterForm(formdata=request.args)
    form.validate()
    status = form.value("status")
    stmt = banks.banks_in_scope(g.scope, archived={None: False, "archived": True}.get(status),
                                search=form.value("q") or "")
    total = db.session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    page = page_number()
    rows = db.session.execute(stmt.order_by(QuestionBank.code).limit(PAGE_SIZE)
                              .offset((page - 1) * PAGE_SIZE)).scalars().all()
    return render_template("exams/bank_list.html", banks=rows, form=form, total=total,
                           page=page, size=PAGE_SIZE, types=TYPE_LABELS,
                           counts=banks.type_counts(b.id for b in rows))


@bp.route("/banks/new", methods=["GET", "POST"])
@requires(Perm.EXAM_MANAGE)
def new_bank() -> Response | str:
    form = NewBankForm()
    rows = queries.unit_choices(scope=g.scope, levels=banks.OWNER_LEVELS)
    form.unit.choices = unit_choices(rows, _("请选择"))
    if request.method == "GET" and len(rows) == 1:
        form.unit.data = rows[0].id
    if form.validate_on_submit():
        try:
            unit = chosen_unit(form.unit.data, g.scope)
            bank = banks.create_bank(unit, form.bank_data(), actor=_actor(), now=utcnow())
        except DomainError as exc:
            form_refusal(form, exc)
        else:
            db.session.commit()
            flash(_("已新建题库“%(title)s”。", title=bank.title), "success")
            return _to_bank(bank)
    return render_template("exams/bank_form.html", form=form, bank=None)


@bp.route("/banks/<int:bank_id>/edit", methods=["GET", "POST"])
@requires(Perm.EXAM_MANAGE, bank_id=QuestionBank)
def edit_bank(bank: QuestionBank) -> Response | str:
    form = BankForm(obj=bank)
    if form.validate_on_submit():
        try:
            changes = banks.update_bank(bank, form.bank_data(), actor=_actor(), now=utcnow())
        except DomainError as exc:
            form_refusal(form, exc)
        else:
            db.session.commit()
            flash(_("题库已保存。") if changes else _("没有需要保存的修改。"), "success")
            return _to_bank(bank)
    return render_template("exams/bank_form.html", form=form, bank=bank)


@bp.post("/banks/<int:bank_id>/archive")
@requires(Perm.EXAM_MANAGE, bank_id=QuestionBank)
def archive_bank(bank: QuestionBank) -> Response:
    form = ArchiveForm()
    if not form.validate_on_submit():
        flash(_("请刷新页面后重试。"), "error")
        return _to_bank(bank)
    archived = form.action.data == "archive"
    commit_or_flash(lambda: banks.set_bank_archived(bank, archived, actor=_actor(), now=utcnow()),
                    _("题库已归档。") if archived else _("题库已恢复使用。"))
    return _to_bank(bank)


# ---------------------------------------------------------------- downloads


def _download(data: bytes, name: str, mimetype: str) -> Response:
    return send_file(io.BytesIO(data), mimetype=mimetype, as_attachment=True,
                     download_name=name, max_age=0)


@bp.get("/banks/template.xlsx")
@requires(Perm.EXAM_MANAGE)
def bank_template() -> Response:
    return _download(blank_workbook(), _("题库导入模板") + ".xlsx", XLSX)


def _bank_questions(bank: QuestionBank) -> list[Any]:
    versions = db.session.execute(
        select(QuestionVersion).join(Question, Question.current_version_id == QuestionVersion.id)
        .where(Question.bank_id == bank.id, Question.is_retired.is_(False))
        .order_by(Question.id)).scalars().all()
    return [to_parsed(v) for v in versions]


def _export_name(bank: QuestionBank, ext: str) -> str:
    today = utcnow().astimezone(TZ).strftime("%Y%m%d")
    return _("题库-%(title)s-%(date)s", title=safe_name(bank.title), date=today) + ext


@bp.get("/banks/<int:bank_id>/export.xlsx")
@requires(Perm.EXAM_MANAGE, bank_id=QuestionBank)
def export_bank_xlsx(bank: QuestionBank) -> Response:
    return _download(to_xlsx(_bank_questions(bank)), _export_name(bank, ".xlsx"), XLSX)


@bp.get("/banks/<int:bank_id>/export.gift")
@requires(Perm.EXAM_MANAGE, bank_id=QuestionBank)
def export_bank_gift(bank: QuestionBank) -> Response:
    """GIFT text with what the format could not carry listed in comments at the top."""
    export = to_gift(_bank_questions(bank))
    head = [_("// 题库：%(title)s（%(code)s）", title=bank.title, code=bank.code),
            _("// GIFT 格式不保存分值、难度、知识点、适用岗位、标签和政策依据；"
              "需要完整备份请导出 Excel。")]
    head += [f"// {note}" for note in export.notes]
    text = "\n".join(line.replace("\n", " ") for line in head) + "\n\n" + export.text
    return _download(text.encode("utf-8"), _export_name(bank, ".txt"),
                     "text/plain; charset=utf-8")


# ---------------------------------------------------------------- import


def _kind(bank: QuestionBank, fmt: str) -> str:
    return f"questions:{bank.id}:{fmt}"


def _claim(token: str) -> bool:
    """Take the kept upload for this request only: exactly one of two racing confirmations
    removes its description file."""
    meta = Path(current_app.config["UPLOAD_DIR"]) / "imports" / f"{token}.json"
    try:
        meta.unlink()
    except FileNotFoundError:
        return False
    stash.drop(token)
    return True


def _preview(bank: QuestionBank, plan: bank_import.ImportPlan, filename: str, fmt: str,
             token: str | None) -> str:
    return render_template(
        "exams/import_preview.html", bank=bank, plan=plan, filename=filename,
        questions=plan.questions[:SHOWN], errors=plan.errors[:SHOWN],
        duplicates=plan.duplicates[:SHOWN], shown=SHOWN, types=TYPE_LABELS,
        answer_json=answer_json,
        form=ConfirmForm(token=token) if token else None, fmt=fmt)


@bp.route("/banks/<int:bank_id>/import", methods=["GET", "POST"])
@requires(Perm.EXAM_MANAGE, bank_id=QuestionBank)
def import_questions(bank: QuestionBank) -> Response | str:
    form = ImportForm()
    if form.validate_on_submit():
        upload, fmt = form.file.data, form.format.data
        data, filename = upload.read(), stash.display_name(upload.filename)
        try:
            banks.ensure_open(bank)
            result = read_questions(data, filename=filename, fmt=fmt)
        except UnreadableFile as exc:
            form.file.errors = [*form.file.errors, str(exc)]
        except DomainError as exc:
            form.form_errors.append(str(exc))
        else:
            plan = bank_import.plan_import(bank, result)
            token = None
            if plan.ok and plan.questions:
                token = stash.put(data, user_id=_actor().id, kind=_kind(bank, fmt),
                                  filename=filename)
            return _preview(bank, plan, filename, fmt, token)
    return render_template("exams/import_upload.html", bank=bank, form=form)


@bp.post("/banks/<int:bank_id>/import/confirm")
@requires(Perm.EXAM_MANAGE, bank_id=QuestionBank)
def confirm_import(bank: QuestionBank) -> Response | str:
    form = ConfirmForm()
    fmt = request.form.get("format", "")
    kept = None
    if form.validate_on_submit() and fmt in ("auto", *FORMATS):
        kept = stash.get(form.token.data, user_id=_actor().id, kind=_kind(bank, fmt))
    if kept is None or not _claim(kept.token):
        flash(_("导入文件已过期或已经导入，请重新上传。"), "warning")
        return redirect(url_for("exams.import_questions", bank_id=bank.id))
    try:
        plan = bank_import.plan_import(bank, read_questions(kept.data, filename=kept.filename,
                                                            fmt=fmt))
        if not plan.ok:  # the bank changed since the preview
            return _preview(bank, plan, kept.filename, fmt, None)
        rows = bank_import.apply_import(bank, plan, actor=_actor(), now=utcnow(),
                                        filename=kept.filename, fmt=fmt)
    except (UnreadableFile, DomainError) as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("exams.import_questions", bank_id=bank.id))
    db.session.commit()
    flash(_("已导入 %(n)s 道题；%(skipped)s 道与题库中已有试题重复，已跳过。", n=len(rows),
            skipped=len(plan.duplicates)), "success")
    return _to_bank(bank)
