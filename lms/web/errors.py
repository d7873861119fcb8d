"""Friendly error pages with a request id; no tracebacks; the 500 handler rolls back."""

from __future__ import annotations

import logging

from flask import Flask, g, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from lms.db import write_intent
from lms.extensions import db
from lms.i18n import _

log = logging.getLogger(__name__)


def _page(code: int, title: str, message: str):  # noqa: ANN202
    if request.accept_mimetypes.best == "application/json" or request.is_json:
        return {"error": title, "message": message, "request_id": g.get("request_id")}, code
    return render_template("errors/error.html", code=code, title=title, message=message), code


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):  # noqa: ANN202
        return _page(400, _("页面已过期"), _("安全校验失败，请刷新页面后重试。"))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):  # noqa: ANN202
        messages = {
            400: (_("请求有误"), _("提交的内容无法处理，请检查后重试。")),
            401: (_("请先登录"), _("登录已失效，请重新登录。")),
            403: (_("没有权限"), _("您的账号没有访问此页面的权限。")),
            404: (_("页面不存在"), _("您要找的内容不存在，或不在您的管辖范围内。")),
            405: (_("请求方式不正确"), _("此页面不支持这种操作。")),
            413: (_("文件太大"), _("上传的内容超过了大小限制。")),
            429: (_("操作太频繁"), _("请稍后再试。")),
        }
        title, message = messages.get(exc.code or 500, (_("出错了"), _("请稍后再试。")))
        return _page(exc.code or 500, title, message)

    @app.errorhandler(OperationalError)
    def db_busy(exc: OperationalError):  # noqa: ANN202
        db.session.rollback()
        # The page below may read (the user's language): as a plain read, not another
        # BEGIN IMMEDIATE on the database that is still locked.
        write_intent.set(False)
        log.warning("database busy or unavailable (request %s): %s", g.get("request_id"), exc)
        body, code = _page(503, _("系统繁忙"), _("数据库暂时繁忙，您的操作没有保存，请稍后重试。"))
        return body, code, {"Retry-After": "2"}

    @app.errorhandler(Exception)
    def server_error(exc: Exception):  # noqa: ANN202
        db.session.rollback()
        log.exception("unhandled error (request %s)", g.get("request_id"))
        return _page(500, _("系统错误"), _("系统出现错误，已记录。请把请求编号告诉管理员。"))
