"""Staffing quota: required township civil-affairs staff vs staff in post, shortfalls by county."""

from __future__ import annotations

from flask import g, render_template, request

from lms.auth.access import requires
from lms.auth.perms import Perm
from lms.org import queries
from lms.org.views import bp


@bp.get("/quota")
@requires(Perm.QUOTA_VIEW)
def quota() -> str:
    rows = queries.quota_rows(scope=g.scope)
    only_short = request.args.get("short") == "1"
    counties: dict[str, dict] = {}
    for r in rows:
        c = counties.setdefault(r.county_code or "", {
            "name": r.county_name or "", "townships": 0, "required": 0, "in_post": 0,
            "short_units": 0, "shortfall": 0})
        c["townships"] += 1
        c["required"] += r.required or 0
        c["in_post"] += r.in_post
        c["shortfall"] += r.shortfall
        c["short_units"] += 1 if r.shortfall else 0
    shown = [r for r in rows if r.shortfall] if only_short else rows
    return render_template("org/quota.html", rows=shown, counties=counties, only_short=only_short,
                           total=len(rows))
