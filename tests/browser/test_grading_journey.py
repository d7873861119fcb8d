"""Journey 3: the township office enters an assistant's evaluation scores and the village's
satisfaction; the county publishes, the publication window passes, the county confirms; HR
opens the grade report with its chart and downloads the XLSX."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook

from lms.db import local_date, utcnow
from lms.extensions import db
from lms.grading import cycle
from lms.grading.models import EvaluationRound
from tests.browser.conftest import WIDTHS
from tests.factories import PASSWORD, build_world
from tests.grading import cycle_world


def _setup(live) -> dict:  # noqa: ANN001
    """County A's round of this year with every sheet scored but one (助理2) and its village."""
    with live.ctx():
        year = local_date(utcnow()).year
        world = build_world()
        c = cycle_world.build(world)
        rnd = cycle.open_round(c.county, year, actor=c.county_hr, now=utcnow())
        db.session.commit()
        rows = {r.person_id: r for r in cycle.rows_of(rnd)}
        for i, person in enumerate(c.people):
            if i == 1:
                continue
            row = rows[person.id]
            user = c.town2_user if row.township_id == c.town2.id else c.town_user
            cycle.enter_scores(row, cycle.ScoreSheet("32", "13", "8"), actor=user, now=utcnow())
            cycle.enter_satisfaction(rnd, row.org_unit, "12", actor=user, now=utcnow())
        db.session.commit()
        return {"round": rnd.id, "year": year, "town": c.town_user.username,
                "county": c.county_hr.username, "hr": world.city_admin.username,
                "person": c.people[1].name, "village": c.villages[1].name,
                "county_name": c.county.name}


def _window_passed(live, round_id: int) -> None:  # noqa: ANN001
    """Set data: the publication window ended yesterday (the clock moves on)."""
    with live.ctx():
        rnd = db.session.get(EvaluationRound, round_id)
        assert rnd.status == "published" and rnd.publish_until is not None
        rnd.publish_until = local_date(utcnow()) - timedelta(days=1)
        db.session.commit()


@pytest.mark.parametrize("width", WIDTHS)
def test_township_scores_county_confirms_hr_reports(live, journey, width):  # noqa: ANN001
    d = _setup(live)
    j = journey(width)
    page = j.page
    page.on("dialog", lambda dialog: dialog.accept())  # the publish / confirm questions

    # the township office scores the last assistant and the village's satisfaction
    j.login(d["town"], PASSWORD)
    j.nav("考评与补贴")
    j.shot("town-grading-hub")
    page.get_by_role("link", name="年度考评").first.click()
    j.shot("town-rounds")
    page.get_by_role("link", name=f"{d['year']} 年度").first.click()
    j.shot("town-round")
    page.get_by_role("link", name=d["person"], exact=True).click()
    j.shot("town-sheet")
    page.locator("#work").fill("35")
    page.locator("#diligence").fill("14")
    page.locator("#integrity").fill("9")
    page.get_by_role("button", name="保存评分").click()
    j.shot("town-sheet-saved")
    j.go(f"/grading/rounds/{d['round']}")
    page.get_by_role("link", name="录入群众满意度（按村）").click()
    j.shot("town-satisfaction")
    page.get_by_role("row").filter(has_text=d["village"]).get_by_role("link", name="录入").click()
    assert d["village"] in page.locator("#village option:checked").inner_text()
    page.locator("#satisfaction").fill("13")
    page.get_by_role("button", name="保存").click()
    j.shot("town-satisfaction-saved")
    j.logout()

    # the county publishes; after the window it confirms
    j.login(d["county"], PASSWORD)
    j.nav("考评与补贴")
    page.get_by_role("link", name="年度考评").first.click()
    page.get_by_role("link", name=f"{d['year']} 年度").first.click()
    j.shot("county-round")
    page.get_by_role("button", name="公示", exact=True).click()
    j.shot("county-published")
    _window_passed(live, d["round"])
    page.reload()
    page.get_by_role("button", name="审定", exact=True).click()
    j.shot("county-confirmed")
    with live.ctx():
        assert db.session.get(EvaluationRound, d["round"]).status == "confirmed"
    j.logout()

    # HR opens the grade report with its chart and downloads the workbook
    j.login(d["hr"], PASSWORD)
    j.nav("考评与补贴")
    page.get_by_role("link", name="考评统计报表").first.click()
    j.shot("hr-reports")
    page.get_by_role("link", name="等次分布").first.click()
    chart = page.locator("figure img")
    chart.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                           arg=chart.element_handle())
    j.shot("hr-grade-report")
    with page.expect_download() as info:
        page.get_by_role("link", name="导出 Excel").click()
    data = Path(info.value.path()).read_bytes()
    book = load_workbook(io.BytesIO(data))
    cells = [str(c) for row in book.active.iter_rows(values_only=True) for c in row if c]
    assert any(d["county_name"] in c for c in cells)
    j.check()
