"""``flask exams ...`` (contracts in shared/spec/cli.md)."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import click
from flask.cli import AppGroup

from lms.db import utcnow
from lms.exams.bank_import import ImportPlan, apply_import, plan_import
from lms.exams.banks import find_bank
from lms.exams.formats import FORMATS, Problem, UnreadableFile, read_questions
from lms.exams.formats.checks import type_label
from lms.exams.item_stats_cli import item_stats
from lms.exams.sweep_cli import sweep
from lms.extensions import db
from lms.i18n import _

exams_cli = AppGroup("exams", help="Question banks, imports and item statistics.")
exams_cli.add_command(item_stats)
exams_cli.add_command(sweep)


@exams_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--bank", "bank_code", required=True, help="Code of the question bank.")
@click.option("--format", "fmt", type=click.Choice(["auto", *FORMATS]), default="auto",
              show_default=True, help="auto: by extension, then by content.")
@click.option("--dry-run", is_flag=True, help="Check and report; write nothing (no bank needed).")
@click.option("--json", "as_json", is_flag=True, help="Machine output on stdout.")
def import_questions(file: Path, bank_code: str, fmt: str, dry_run: bool, as_json: bool) -> None:
    """Import questions: the Chinese template (XLSX / CSV), Moodle GIFT or Aiken."""
    try:
        result = read_questions(file.read_bytes(), filename=file.name, fmt=fmt)
    except (UnreadableFile, OSError) as exc:
        reason = str(exc) if isinstance(exc, UnreadableFile) else _("没有读取权限或文件已损坏。")
        click.echo(_("无法读取文件 %(name)s：%(reason)s", name=file.name, reason=reason), err=True)
        sys.exit(2)
    errors = list(result.errors)
    bank = find_bank(bank_code)
    plan = plan_import(bank, result) if bank is not None else None
    if plan is not None:
        errors = plan.errors  # the file's errors and questions the bank cannot take
    elif not dry_run:
        errors.append(Problem("--bank", _("题库“%(code)s”不存在", code=bank_code)))
    if not dry_run and bank is not None and bank.is_archived:
        errors.append(Problem("--bank", _("题库“%(code)s”已归档", code=bank.code)))
    written = 0
    if not dry_run and not errors and plan is not None:
        written = len(apply_import(bank, plan, actor=None, now=utcnow(), filename=file.name,
                                   fmt=fmt))
        db.session.commit()
    if as_json:
        click.echo(json.dumps({"questions": [q.to_json() for q in result.questions],
                               "errors": [e.to_json() for e in errors]}, ensure_ascii=False))
    for error in errors:
        click.echo(str(error), err=True)
    for skipped in plan.duplicates if plan is not None else ():
        click.echo(_("%(where)s：%(message)s，已跳过", where=skipped.where,
                     message=skipped.message), err=True)
    click.echo(_import_summary(result.questions, errors, plan, None if dry_run else written),
               err=True)
    sys.exit(1 if errors else 0)


def _import_summary(questions: list, errors: list[Problem], plan: ImportPlan | None,
                    written: int | None) -> str:
    counts = Counter(q.type for q in questions)
    kinds = "、".join(f"{type_label(t)} {n}" for t, n in counts.items()) or "0"
    if errors:
        return _("%(n)s 道题可以导入（%(kinds)s），%(errors)s 处错误：未写入任何数据。",
                 n=len(questions), kinds=kinds, errors=len(errors))
    skipped = len(plan.duplicates) if plan is not None else 0
    if written is not None:
        return _("已导入 %(n)s 道题；%(skipped)s 道与题库中已有试题重复，已跳过。",
                 n=written, skipped=skipped)
    if skipped:
        return _("试运行：%(n)s 道题（%(kinds)s），没有错误，其中 %(skipped)s 道与题库中已有试题"
                 "重复、导入时将跳过；未写入任何数据。", n=len(questions), kinds=kinds,
                 skipped=skipped)
    return _("试运行：%(n)s 道题（%(kinds)s），没有错误；未写入任何数据。",
             n=len(questions), kinds=kinds)
