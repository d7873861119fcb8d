"""``flask courses ...``: course files (contract in shared/spec/cli.md).

Human-readable messages go to stderr; ``--json`` prints the counts on stdout. Exit 0 = synced,
1 = the course files have errors (each reported, nothing written) or another sync is running
(several app servers may run it at deploy time: one database lock), 2 = usage error.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from lms.courses.files import CourseFilesInvalid
from lms.courses.sync import SyncResult, sync_from_disk
from lms.db import utcnow, write_intent
from lms.extensions import db
from lms.i18n import _
from lms.jobs import job_lock

courses_cli = AppGroup("courses", help="Course files and learning.")


def _err(message: str) -> None:
    click.echo(message, err=True)


@courses_cli.command("sync")
@click.argument("path", required=False, default="courses",
                type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check and count; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Machine output (the counts) on stdout.")
def sync(path: Path, dry_run: bool, as_json: bool) -> None:
    """Create, update or retire file courses and lessons from PATH (default: courses/)."""
    write_intent.set(not dry_run)
    with job_lock("courses-sync") as held:
        if not held:
            _err(_("另一个课程同步正在进行，未写入任何数据。请稍后再试。"))
            sys.exit(1)
        result = _sync(path, dry_run)
    _report(result, dry_run)
    if as_json:
        click.echo(json.dumps(result.as_dict(), ensure_ascii=False))


def _sync(path: Path, dry_run: bool) -> SyncResult:
    """Run the sync; commit it (or roll back a dry run); exit 1 when the files have errors."""
    try:
        result = sync_from_disk(path, actor=None, now=utcnow())
    except CourseFilesInvalid as exc:
        db.session.rollback()
        for problem in exc.problems:
            _err(problem)
        _err(_("课程文件共有 %(n)s 处错误：未写入任何数据。", n=len(exc.problems)))
        sys.exit(1)
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    return result


def _report(result: SyncResult, dry_run: bool) -> None:
    lessons, courses = result.lessons, result.courses
    if dry_run:
        _err(_("试运行：未写入任何数据。"))
    _err(_("课时：新增 %(created)s，更新 %(updated)s，停用 %(retired)s", created=lessons.created,
           updated=lessons.updated, retired=lessons.retired))
    _err(_("课程：新增 %(created)s，更新 %(updated)s，停用 %(retired)s", created=courses.created,
           updated=courses.updated, retired=courses.retired))
    if not result.changed:
        _err(_("课程文件与数据库一致，没有变化。"))
