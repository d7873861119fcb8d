"""HR reports of the evaluation and the stipends (考评统计报表): a landing page and, for each
report, its page, its chart (PNG) and its table as XLSX and CSV. Everything reads through the
user's ``GRADING_REPORTS`` scope; ``?unit=`` drills down (out of scope → 404) and ``?year=``
picks the year (default: the latest with data). Exports are refused while a grade or stipend
row of the unit fails its integrity code (security R41) and are audited."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import abort, flash, g, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from lms import audit
from lms.auth.access import MAX_ID, Scope, requires
from lms.auth.perms import Perm
from lms.db import local_date, utcnow
from lms.extensions import db
from lms.grading import charts, reports, verified
from lms.grading import report_export as export
from lms.grading.views import bp
from lms.i18n import _, _l
from lms.org import queries
from lms.org.models import Level, OrgUnit
from lms.org.services import breadcrumbs
from lms.web.actions import begin_write, page_number

PAGE_SIZE = 50
TITLES = {"grades": _l("等次分布"), "levels": _l("等级分布与变化"),
          "stipends": _l("补贴发放汇总"), "progress": _l("考评进度"),
          "flagged": _l("拟撤换人员"), "years": _l("历年等次对比")}
HINTS = {
    "grades": _l("已评定等次的民政助理员人数，按单位和等次统计。"),
    "levels": _l("本年所在等级与评定后的新等级（次年 1 月 1 日起执行）；一级为最高等级。"),
    "stipends": _l("已计算的季度补贴合计（元）与发放人数，按单位和季度统计。"),
    "progress": _l("评分表总数、已评分、已公示和已审定的人数；尚未开启考评的单位显示为 0。"),
    "flagged": _l("本年度考评提出撤换的民政助理员，以及是否已启动撤换程序。"),
    "years": _l("各年度已评定等次的人数，用于对比变化。"),
}
CHARTED = ("grades", "levels", "stipends", "years")


# ---------------------------------------------------------------- query arguments


def _unit(scope: Scope) -> OrgUnit | None:
    """``?unit=``: a malformed id is a 400, an unknown or out-of-scope unit a 404; without it the
    top of the scope when it is a single unit, else the whole scope (None)."""
    raw = request.args.get("unit", "").strip()
    if not raw:
        tops = queries.top_units(scope)
        return tops[0] if len(tops) == 1 else None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 10:
        abort(400)
    if not 0 < int(raw) <= MAX_ID:
        abort(404)
    unit = queries.unit_in_scope(int(raw), scope)
    if unit is None:
        abort(404)
    return unit


def _year(known: list[int]) -> int:
    raw = request.args.get("year", "").strip()
    if not raw:
        return known[0] if known else local_date(utcnow()).year
    if not raw.isascii() or not raw.isdigit() or len(raw) != 4 or not 2000 <= int(raw) <= 2100:
        abort(400)
    return int(raw)


@dataclass(frozen=True)
class Args:
    frame: reports.Frame
    years: list[int]

    @property
    def query(self) -> dict[str, Any]:
        unit = self.frame.unit
        return {"year": self.frame.year, "unit": unit.id if unit is not None else None}


def _args() -> Args:
    scope = g.scope
    unit = _unit(scope)
    known = reports.years(scope, unit)
    return Args(reports.Frame(scope, unit, _year(known)), known)


def _unit_name(frame: reports.Frame) -> str:
    return frame.unit.name if frame.unit is not None else _("管辖范围")


def _title(name: str, frame: reports.Frame) -> str:
    if name == "years":
        return _("%(unit)s %(report)s", unit=_unit_name(frame), report=TITLES[name])
    return _("%(year)s年度 %(unit)s %(report)s", year=frame.year, unit=_unit_name(frame),
             report=TITLES[name])


# ---------------------------------------------------------------- building a report


def _links(rows: list[Any], frame: reports.Frame) -> list[int | None]:
    """Drill-down targets: each unit row links to the same report for that unit (not below the
    township: a village is the finest unit)."""
    if frame.group_level == Level.VILLAGE:
        return [None] * len(rows)
    return [r.unit.id if r.unit is not None else None for r in rows]


@dataclass(frozen=True)
class Built:
    table: export.Table
    links: list[int | None]
    chart: Callable[[], bytes] | None = None
    total: int = 0


def _build(name: str, frame: reports.Frame, page: int | None) -> Built:
    title = _title(name, frame)
    if name == "grades":
        rows, total = reports.grade_distribution(frame)
        return Built(export.grades_table(rows, total, title), _links(rows, frame),
                     lambda: charts.grades_chart(rows, title))
    if name == "levels":
        levels = reports.level_changes(frame)
        return Built(export.levels_table(levels, title), [],
                     lambda: charts.levels_chart(levels, title))
    if name == "stipends":
        pay, pay_total = reports.stipend_totals(frame)
        return Built(export.stipends_table(pay, pay_total, title), _links(pay, frame),
                     lambda: charts.stipends_chart(pay, title))
    if name == "progress":
        done, done_total = reports.progress(frame)
        return Built(export.progress_table(done, done_total, title), _links(done, frame))
    if name == "flagged":
        count = reports.flagged_count(frame) if page is not None else 0
        flagged = reports.flagged(frame, page=page, size=PAGE_SIZE)
        return Built(export.flagged_table(flagged, title), [], total=count)
    history = reports.year_over_year(frame)
    return Built(export.years_table(history, title), [],
                 lambda: charts.years_chart(history, title))


def _page(name: str) -> str:
    args = _args()
    page = page_number() if name == "flagged" else None
    built = _build(name, args.frame, page)
    unit = args.frame.unit
    crumbs = [u for u in breadcrumbs(unit) if g.scope.covers(u)] if unit is not None else []
    return render_template(
        "grading/report.html", name=name, titles=TITLES, hint=HINTS[name], args=args,
        built=built, table=built.table, crumbs=crumbs, charted=name in CHARTED, page=page,
        size=PAGE_SIZE, drill=args.frame.group_level != Level.VILLAGE,
        is_money=lambda v: isinstance(v, export.Money))


def _integrity(frame: reports.Frame) -> verified.Verdict:
    """No broken grade or stipend row in the unit (the whole database for a city view)."""
    unit = frame.unit
    column = {Level.COUNTY.value: "county_id", Level.TOWNSHIP.value: "township_id",
              Level.VILLAGE.value: "org_unit_id"}.get(unit.level) if unit is not None else None
    where = {column: unit.id} if column and unit is not None else {}
    return verified.check(**where)


def _export(name: str, kind: str) -> Response:
    args = _args()
    checked = _integrity(args.frame)
    if not checked.ok:
        flash(_("考评或补贴数据的完整性校验未通过，已暂停导出。请联系安全管理员核查。"), "error")
        return redirect(url_for(f"grading.report_{name}", **args.query))
    built = _build(name, args.frame, None)
    data = export.to_xlsx(built.table) if kind == "xlsx" else export.to_csv(built.table)
    unit = args.frame.unit
    begin_write()
    verified.record(checked, current_user, now=utcnow())
    audit.record(current_user, "grading.report_export", None,
                 org_unit_id=unit.id if unit is not None else None, now=utcnow(), report=name,
                 year=args.frame.year, format=kind, rows=len(built.table.rows))
    db.session.commit()
    filename = "".join("-" if c in '/\\:*?"<>| ' else c for c in built.table.title)[:80]
    return send_file(data, as_attachment=True, download_name=f"{filename}.{kind}",
                     mimetype=export.XLSX if kind == "xlsx" else export.CSV)


def _chart(name: str) -> Response:
    args = _args()
    built = _build(name, args.frame, None)
    assert built.chart is not None
    return send_file(io.BytesIO(built.chart()), mimetype="image/png")


# ---------------------------------------------------------------- routes


@bp.get("/reports")
@requires(Perm.GRADING_REPORTS)
def reports_index() -> str:
    args = _args()
    return render_template("grading/reports.html", titles=TITLES, hints=HINTS, args=args)


def _register(name: str) -> None:
    """The page, the two table files and (for charted reports) the chart of one report."""

    @bp.get(f"/reports/{name}", endpoint=f"report_{name}")
    @requires(Perm.GRADING_REPORTS)
    def page() -> str:
        return _page(name)

    @bp.get(f"/reports/{name}.xlsx", endpoint=f"report_{name}_xlsx")
    @requires(Perm.GRADING_REPORTS)
    def xlsx() -> Response:
        return _export(name, "xlsx")

    @bp.get(f"/reports/{name}.csv", endpoint=f"report_{name}_csv")
    @requires(Perm.GRADING_REPORTS)
    def csv() -> Response:
        return _export(name, "csv")

    if name in CHARTED:
        @bp.get(f"/reports/{name}.png", endpoint=f"report_{name}_png")
        @requires(Perm.GRADING_REPORTS)
        def png() -> Response:
            return _chart(name)


for _name in TITLES:
    _register(_name)
