"""``flask exams sweep``: auto-submit abandoned attempts past their deadline + grace (run every
minute from cron or a systemd timer; safe on several machines at once)."""

from __future__ import annotations

import click

from lms.db import utcnow, write_intent
from lms.exams.attempts import finalise_overdue
from lms.extensions import db
from lms.i18n import _
from lms.jobs import job_lock

BATCH = 50


@click.command("sweep")
def sweep() -> None:
    """Submit every overdue attempt in progress (in short transactions of 50)."""
    write_intent.set(True)
    with job_lock("exam-sweep") as got:
        if not got:
            click.echo(_("另一个进程正在执行此任务，本次跳过。"), err=True)
            return
        total = 0
        while True:
            done = finalise_overdue(utcnow(), limit=BATCH)
            db.session.commit()
            total += done
            if done < BATCH:
                break
        click.echo(_("已自动交卷 %(n)s 份超时答卷。", n=total))
