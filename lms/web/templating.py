"""Jinja filters and globals: local time, numbers, money, labels, ``can()``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from flask import Flask, request
from flask_babel import get_locale
from flask_login import current_user

from lms.auth.access import can as _can
from lms.auth.perms import Perm
from lms.labels import action_label, label, level_label, object_label

TZ = ZoneInfo("Asia/Shanghai")


def local_dt(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return "" if value is None else value.astimezone(TZ).strftime(fmt)


def local_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(TZ).date()
    return value.isoformat()


def num(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def money(fen: int | None) -> str:
    """Integer fen → ¥1,234.50 (no float on the way)."""
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(fen), 100)
    return f"{sign}¥{yuan:,}.{cents:02d}"


def url_with(**changes: Any) -> str:
    """The current URL with some query parameters changed (filters stay in the URL)."""
    args = request.args.to_dict()
    for k, v in changes.items():
        if v is None:
            args.pop(k, None)
        else:
            args[k] = v
    return request.path + ("?" + urlencode(args) if args else "")


def register(app: Flask) -> None:
    app.jinja_env.filters.update(local_dt=local_dt, local_date=local_date, num=num, money=money,
                                 label=label, level_label=level_label,
                                 action_label=action_label, object_label=object_label)
    app.jinja_env.globals.update(Perm=Perm, url_with=url_with, get_locale=get_locale)

    @app.context_processor
    def _inject() -> dict[str, Any]:
        user = current_user._get_current_object() if current_user.is_authenticated else None
        return {"can": lambda perm, unit=None: _can(user, perm, unit)}
