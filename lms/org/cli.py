"""``flask org ...``: imports and the staffing quota (contracts in shared/spec/cli.md)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import click
from flask.cli import AppGroup

from lms.auth.access import ROOT, Scope
from lms.auth.perms import Perm
from lms.db import utcnow, write_intent
from lms.extensions import db
from lms.i18n import _
from lms.org import queries
from lms.org.importing import apply
from lms.org.importing.decode import FileProblem
from lms.org.importing.plan import Plan, Progress

org_cli = AppGroup("org", help="Org tree, people and posts.")


@org_cli.command("quota")
@click.option("--json", "as_json", is_flag=True, help="Machine output on stdout.")
def quota(as_json: bool) -> None:
    """Required vs in-post township civil-affairs staff, for every township."""
    rows = queries.quota_rows(scope=Scope(Perm.QUOTA_VIEW, (ROOT,)))
    data = [{"code": r.code, "name": r.name, "resident_population": r.resident_population,
             "required": r.required, "in_post": r.in_post} for r in rows]
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    for d in data:
        click.echo(f"{d['code']}\t{d['name']}\t{d['resident_population'] or '-'}\t"
                   f"{d['required'] if d['required'] is not None else '-'}\t{d['in_post']}")


@org_cli.command("import-units")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file and report; write nothing.")
def import_units(file: Path, dry_run: bool) -> None:
    """Upsert units from CSV: code,name,level,parent_code[,resident_population,...]."""
    _run_import(
        file, dry_run,
        check=lambda data, now, progress: apply.check_units(data, actor=None, progress=progress),
        write=lambda plan, now, progress: apply.write_units(
            plan, actor=None, now=now, source=file.name, progress=progress))


@org_cli.command("import-people")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file and report; write nothing.")
@click.option("--legacy", is_flag=True,
              help="Go-live import of staff already serving: rows may say 在岗 (in post, legacy).")
def import_people(file: Path, dry_run: bool, legacy: bool) -> None:
    """Upsert people with their posts and certificates from XLSX or CSV with Chinese headers."""
    _run_import(
        file, dry_run,
        check=lambda data, now, progress: apply.check_people(
            data, actor=None, now=now, legacy=legacy, progress=progress),
        write=lambda plan, now, progress: apply.write_people(
            plan, actor=None, now=now, legacy=legacy, source=file.name, progress=progress))


def _err(message: str) -> None:
    click.echo(message, err=True)


def _progress(stage: str, done: int, total: int) -> None:
    if stage == "write":
        _err(_("已写入 %(done)s / %(total)s 行", done=f"{done:,}", total=f"{total:,}"))
    else:
        _err(_("已检查 %(done)s / %(total)s 行", done=f"{done:,}", total=f"{total:,}"))


def _run_import(path: Path, dry_run: bool, *, check: Callable[[bytes, datetime, Progress], Plan],
                write: Callable[[Plan, datetime, Progress], None]) -> None:
    """Check, report every row error on stderr, then write all rows or none (exit 0 / 1 / 2)."""
    write_intent.set(not dry_run)
    now = utcnow()
    try:
        plan = check(path.read_bytes(), now, _progress)
    except (FileProblem, OSError) as exc:
        db.session.rollback()
        reason = str(exc) if isinstance(exc, FileProblem) else _("没有读取权限或文件已损坏。")
        _err(_("无法读取文件 %(name)s：%(reason)s", name=path.name, reason=reason))
        sys.exit(2)
    for error in plan.sorted_errors():
        _err(str(error))
    if not plan.ok:
        db.session.rollback()
        _err(_("共 %(rows)s 行，其中 %(bad)s 行有错误：未写入任何数据。",
               rows=f"{plan.rows:,}", bad=f"{plan.error_rows:,}"))
        sys.exit(1)
    counts = {k: f"{v:,}" for k, v in plan.counts.items()}
    if dry_run:
        db.session.rollback()
        _err(_("试运行：共 %(rows)s 行，将新增 %(created)s 条、更新 %(updated)s 条，"
               "%(unchanged)s 条不变；未写入任何数据。", rows=f"{plan.rows:,}", **counts))
        return
    try:
        write(plan, now, _progress)
    except apply.ImportFailed as exc:
        db.session.rollback()
        _err(str(exc))
        _err(_("导入中止，未写入任何数据。"))
        sys.exit(1)
    db.session.commit()
    _err(_("导入完成：新增 %(created)s 条，更新 %(updated)s 条，%(unchanged)s 条不变。", **counts))
