"""``flask lms backup`` and ``flask lms restore`` (security R45–R46); the work is in
``lms.backup``. Messages go to stderr; ``backup`` prints the new folder on stdout."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
from flask.cli import with_appcontext

from lms import backup as bk
from lms.db import write_intent
from lms.i18n import _
from lms.jobs import job_lock


def _err(message: str) -> None:
    click.echo(message, err=True)


@click.command("backup")
@with_appcontext
@click.option("--to", "dest", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the backups (default: BACKUP_DIR, else instance/backups).")
@click.option("--prune", "prune_", is_flag=True,
              help="Afterwards keep 14 daily and 12 monthly backups, delete the rest.")
def backup_command(dest: Path | None, prune_: bool) -> None:
    """Back up the database and the uploaded files into a new verified folder."""
    write_intent.set(True)
    started = time.monotonic()
    with job_lock("backup") as got:
        if not got:
            _err(_("另一个进程正在执行此任务，本次跳过。"))
            return
        try:
            folder = bk.backup(dest, warn=_err)
        except bk.BackupError as exc:
            _err(_("备份失败：%(reason)s", reason=exc.message))
            sys.exit(exc.code)
    _err(_("备份完成并已校验（%(seconds).1f 秒）。", seconds=time.monotonic() - started))
    click.echo(str(folder))
    if prune_:
        for path in bk.prune(folder.parent):
            _err(_("已删除旧备份：%(path)s", path=str(path)))


@click.command("restore")
@with_appcontext
@click.argument("source", required=False, type=click.Path(path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (scripts, drills).")
def restore_command(source: Path | None, yes: bool) -> None:
    """Restore a backup (folder or its manifest.json): verify it, restore into a scratch
    database, verify that, then swap it in. Without SOURCE, list the backups."""
    if source is None:
        rows = bk.list_backups()
        if not rows:
            _err(_("没有找到备份：%(path)s", path=str(bk.backup_root())))
        for row in rows:
            click.echo(f"{row['path']}\t{row['status']}\t{row['created_at'] or ''}")
        _err(_("请指定要恢复的备份文件夹。"))
        sys.exit(2)
    if not source.exists():
        _err(_("找不到备份：%(path)s", path=str(source)))
        sys.exit(2)

    def confirm(name: str, description: str) -> bool:
        if yes:
            return True
        _err(_("恢复将用备份覆盖数据库 %(target)s 和上传文件目录（原有内容会另行保留）。请先停止"
               "应用进程和定时任务。", target=description))
        typed = click.prompt(_("请输入数据库名 %(name)s 以确认", name=name), default="",
                             show_default=False, err=True)
        return typed.strip() == name

    started = time.monotonic()
    try:
        done = bk.restore(source, confirm=confirm)
    except bk.BackupError as exc:
        _err(_("恢复失败：%(reason)s", reason=exc.message))
        sys.exit(exc.code)
    head = done.audit_head["id"] if done.audit_head else 0
    _err(_("恢复完成并已校验（%(seconds).1f 秒）：数据库 %(target)s，上传文件 %(files)s 个，"
           "审计日志至第 %(head)s 条。", seconds=time.monotonic() - started, target=done.target,
           files=done.files, head=head))
    if done.previous_db:
        _err(_("原数据库保留为：%(path)s", path=done.previous_db))
    if done.previous_uploads:
        _err(_("原上传文件目录保留为：%(path)s", path=done.previous_uploads))
