"""``flask exams ...`` (contracts in shared/spec/cli.md)."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import click
from flask.cli import AppGroup

from lms.exams.formats import FORMATS, Problem, UnreadableFile, read_questions
from lms.exams.formats.checks import type_label
from lms.exams.item_stats_cli import item_stats
from lms.i18n import _

exams_cli = AppGroup("exams", help="Question banks, imports and item statistics.")
exams_cli.add_command(item_stats)


def find_bank(code: str) -> None:
    """The question bank with this code, or None. Question banks arrive with the exams models
    (issue 4); until then no code names a bank, so only ``--dry-run`` can succeed."""
    return None


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
    if not dry_run and find_bank(bank_code) is None:
        errors.append(Problem("--bank", _("题库“%(code)s”不存在", code=bank_code)))
    if as_json:
        click.echo(json.dumps({"questions": [q.to_json() for q in result.questions],
                               "errors": [e.to_json() for e in errors]}, ensure_ascii=False))
    for error in errors:
        click.echo(str(error), err=True)
    click.echo(_import_summary(result.questions, errors), err=True)
    sys.exit(1 if errors else 0)


def _import_summary(questions: list, errors: list[Problem]) -> str:
    counts = Counter(q.type for q in questions)
    kinds = "、".join(f"{type_label(t)} {n}" for t, n in counts.items()) or "0"
    if errors:
        return _("%(n)s 道题可以导入（%(kinds)s），%(errors)s 处错误：未写入任何数据。",
                 n=len(questions), kinds=kinds, errors=len(errors))
    return _("试运行：%(n)s 道题（%(kinds)s），没有错误；未写入任何数据。",
             n=len(questions), kinds=kinds)
