"""The assistant's own results: nothing while the round is open, the sheet and the appeal form in
the publication window, the home-page notice, and no appeal after the window or on another
person's sheet."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from lms.extensions import db
from lms.grading import cycle
from lms.grading.models import Appeal
from tests.factories import make_user
from tests.grading.cycle_world import OPENED, day, score_all
from tests.grading.round_pages_support import as_user, html, open_round, sheets_of

pytest_plugins = ["tests.grading.round_pages_fixtures"]


def _published(c):
    rnd = open_round(c)
    score_all(c, rnd, {i: (30, 12, 8, 12) for i in range(7)})
    cycle.publish(rnd, actor=c.county_hr, now=OPENED)
    db.session.commit()
    return rnd


def test_nothing_is_shown_while_the_round_is_open(client, c, world, clock):
    rnd = open_round(c)
    row = sheets_of(rnd)[world.person_a.id]
    as_user(client, world.trainee)
    assert "还没有公示的考评结果" in html(client.get("/grading/my"))
    assert client.get(f"/grading/my/{row.id}").status_code == 404
    assert client.post(f"/grading/my/{row.id}/appeal", {"text": "x"}).status_code == 404
    assert "考评结果正在公示" not in html(client.get("/"))


def test_published_result_notice_and_appeal(client, c, world, clock):
    rnd = _published(c)
    row = sheets_of(rnd)[world.person_a.id]
    as_user(client, world.trainee)
    home = html(client.get("/"))
    assert "2026 年度考评结果正在公示" in home and f"/grading/my/{row.id}" in home
    assert "我的考评结果" in html(client.get("/grading/"))
    page = html(client.get("/grading/my"))
    assert "62.0" in page and "基本称职" in page
    page = html(client.get(f"/grading/my/{row.id}"))
    assert "2026-12-08" in page and 'name="text"' in page and "工作实绩" in page

    resp = client.post(f"/grading/my/{row.id}/appeal", {"text": "  "})
    assert resp.status_code == 400 and "请写明申诉的事实和理由" in html(resp)
    resp = client.post(f"/grading/my/{row.id}/appeal", {"text": "长" * 2001})
    assert resp.status_code == 400 and "2000" in html(resp)
    assert db.session.scalar(select(Appeal)) is None

    assert client.post(f"/grading/my/{row.id}/appeal", {"text": "走访记录漏算"}).status_code \
        == 302
    page = html(client.get(f"/grading/my/{row.id}"))
    assert "走访记录漏算" in page and "待答复" in page and 'name="text"' not in page
    resp = client.post(f"/grading/my/{row.id}/appeal", {"text": "再次"})
    assert resp.status_code == 400 and "正在等待答复" in html(resp)
    assert len(db.session.scalars(select(Appeal)).all()) == 1


def test_after_the_window_no_appeal_and_no_notice(client, c, world, clock):
    rnd = _published(c)
    row = sheets_of(rnd)[world.person_a.id]
    clock.now = day(date(2026, 12, 9))
    as_user(client, world.trainee)
    assert "考评结果正在公示" not in html(client.get("/"))
    assert 'name="text"' not in html(client.get(f"/grading/my/{row.id}"))
    resp = client.post(f"/grading/my/{row.id}/appeal", {"text": "晚了"})
    assert resp.status_code == 400 and "不在公示期内" in html(resp)
    assert db.session.scalar(select(Appeal)) is None


def test_another_persons_sheet_is_404(client, c, world, clock):
    rnd = _published(c)
    other = sheets_of(rnd)[c.people[1].id]
    as_user(client, world.trainee)
    assert client.get(f"/grading/my/{other.id}").status_code == 404
    assert client.post(f"/grading/my/{other.id}/appeal", {"text": "x"}).status_code == 404
    staff = make_user("no_person", c.town)
    db.session.commit()
    as_user(client, staff)
    assert "我的考评结果" not in html(client.get("/grading/"))
    assert "还没有公示的考评结果" in html(client.get("/grading/my"))
    assert client.get(f"/grading/my/{other.id}").status_code == 404
