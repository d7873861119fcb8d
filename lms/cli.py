"""``flask lms ...``: administrator bootstrap, audit verification, periodic housekeeping."""

from __future__ import annotations

import sys
from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import delete, or_

from lms import audit
from lms.auth import services as auth_services
from lms.auth.models import UserSession
from lms.auth.perms import Role
from lms.backup_cli import backup_command, restore_command
from lms.db import utcnow, write_intent
from lms.demo.cli import demo, demo_logins
from lms.errors import DomainError
from lms.extensions import db
from lms.grading import integrity
from lms.i18n import _
from lms.jobs import job_lock

lms_cli = AppGroup("lms", help="minzheng-lms administration.")
lms_cli.add_command(demo)
lms_cli.add_command(demo_logins)
lms_cli.add_command(backup_command)
lms_cli.add_command(restore_command)


def err(message: str) -> None:
    click.echo(message, err=True)


@lms_cli.command("create-admin")
@click.argument("username")
@click.option("--role", type=click.Choice(["system_admin", "security_admin", "audit_admin"]),
              default="system_admin", show_default=True)
def create_admin(username: str, role: str) -> None:
    """Create an administrator and print a one-time password (changed at first login)."""
    write_intent.set(True)
    now = utcnow()
    try:
        user, otp = auth_services.create_user(username, username, org_unit=None, actor=None,
                                              now=now)
        auth_services.grant_role(user, Role(role), None, actor=None, now=now)
    except DomainError as exc:
        db.session.rollback()
        err(_("未创建：%(reason)s", reason=str(exc)))
        sys.exit(1)
    db.session.commit()
    err(_("已创建管理员 %(name)s。一次性密码（首次登录后必须修改）：", name=user.username))
    click.echo(otp)


def _head(_ctx: click.Context, _param: click.Parameter, value: str | None
          ) -> tuple[int, str] | None:
    if value is None:
        return None
    number, _sep, digest = value.strip().partition(":")
    if not number.isdigit() or len(digest) != 64:
        raise click.BadParameter(_("应为“编号:哈希”，即 flask lms audit-head 的输出。"))
    return int(number), digest.lower()


@lms_cli.command("audit-head")
def audit_head() -> None:
    """Print the audit chain head as ID:HASH, to be kept off the box (daily, R37)."""
    head = audit.chain_head()
    click.echo(f"{head[0]}:{head[1]}" if head else f"0:{audit.GENESIS}")


@lms_cli.command("audit-verify")
@click.option("--head", "head", callback=_head, metavar="ID:HASH",
              help="A chain head exported earlier by audit-head: the chain must still reach it "
                   "(catches deleted newest entries).")
def audit_verify(head: tuple[int, str] | None) -> None:
    """Check the audit hash chain and the integrity codes of grade and stipend rows; print the
    first broken entry (exit 1 if any)."""
    problem = audit.verify_chain(head if head and head[0] else None)
    if problem is not None:
        err(_("审计日志第 %(id)s 条校验失败：%(reason)s", id=problem.entry_id,
              reason=problem.reason))
        sys.exit(1)
    row = integrity.first_problem()
    if row is not None:
        err(row.message())
        sys.exit(1)
    err(_("审计日志、考评结果和补贴明细校验通过。"))


@lms_cli.command("housekeeping")
def housekeeping() -> None:
    """Delete ended sessions (safe to run from several machines at once)."""
    write_intent.set(True)
    with job_lock("housekeeping") as got:
        if not got:
            err(_("另一个进程正在执行此任务，本次跳过。"))
            return
        cfg = current_app.config
        cutoff = utcnow() - timedelta(hours=cfg["ABSOLUTE_TIMEOUT_HOURS"])
        n = db.session.execute(delete(UserSession).where(
            or_(UserSession.revoked_at.is_not(None), UserSession.created_at < cutoff))).rowcount
        db.session.commit()
        err(_("已清理 %(n)s 个过期会话。", n=n))
