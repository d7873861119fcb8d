"""``flask lms demo`` and ``flask lms demo-logins`` (contract: shared/spec/cli.md)."""

from __future__ import annotations

import sys
import time
import unicodedata

import click

from lms.db import utcnow, write_intent
from lms.demo import accounts, load
from lms.demo.divisions import SIZES
from lms.extensions import db
from lms.i18n import _

DEFAULT_SEED = 3713


def _err(message: str) -> None:
    click.echo(message, err=True)


def _progress(stage: str, done: int, total: int) -> None:
    if done == 0:
        return
    if stage == "units":
        _err(_("已写入单位：%(done)s / %(total)s", done=done, total=total))
    elif stage == "people":
        _err(_("已写入人员和岗位：%(done)s / %(total)s", done=done, total=total))
    # The later stages (size L: accounts, training, exams, evaluation) are shown by
    # bench/template.py; their messages here wait for translated labels.


def _refuse(skip_if_loaded: bool) -> None:
    db.session.rollback()
    if skip_if_loaded:
        _err(_("数据库中已有数据，跳过加载演示数据。"))
        sys.exit(0)
    _err(_("数据库不是空的（已有单位、人员或账号），不能加载演示数据。"
           "演示数据只能加载到新建的空数据库中。"))
    sys.exit(1)


@click.command("demo")
@click.option("--size", type=click.Choice(SIZES, case_sensitive=False), default="M",
              show_default=True, help="S: one county; M: the Linyi city; L: Shandong province.")
@click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True,
              help="Random seed: the same seed gives the same data.")
@click.option("--skip-if-loaded", is_flag=True,
              help="Exit 0 with a note (instead of 1) when the database is not empty.")
def demo(size: str, seed: int, skip_if_loaded: bool) -> None:
    """Load the demo data set into an empty database."""
    write_intent.set(True)
    size = size.upper()
    load.lock()
    if not load.database_is_empty():
        _refuse(skip_if_loaded)
    started = time.monotonic()
    _err(_("正在加载演示数据（规模 %(size)s，随机种子 %(seed)s）……", size=size, seed=seed))
    result = load.load(size, seed, now=utcnow(), progress=_progress)
    db.session.commit()
    _err(_("演示数据已加载，用时 %(seconds)s 秒：%(units)s 个单位，%(people)s 名人员，"
           "%(accounts)s 个演示账号。", seconds=f"{time.monotonic() - started:.1f}",
           units=sum(result.units.values()), people=result.people,
           accounts=len(result.accounts)))
    _err(_("查看演示账号：flask --app wsgi lms demo-logins"))


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(_width(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell + " " * (w - _width(cell)) for cell, w in zip(r, widths, strict=True))
            .rstrip() for r in rows]


@click.command("demo-logins")
def demo_logins() -> None:
    """Print the demo accounts (role, unit, username, password) on stdout."""
    ids = accounts.loaded_account_ids()
    if ids is None:
        _err(_("没有加载演示数据，因此没有演示账号。"))
        return
    rows = [(_("角色"), _("单位"), _("用户名"), _("密码"))]
    rows += [(r.role, r.unit, r.username, r.password or _("（已修改）"))
             for r in accounts.login_rows(ids)]
    click.echo(_("演示账号（仅供演示和试用，所有账号共用一个公开的演示密码，"
                 "正式使用前必须停用或删除这些账号）："))
    for line in _table(rows):
        click.echo(line)
