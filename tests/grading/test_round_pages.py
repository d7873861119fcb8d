"""The annual round through HTTP: the county opens the year, the townships score and enter
satisfaction, the county publishes, answers the appeal and confirms after the window; bad input
gives 400 and changes nothing; another county gets 404; the lists keep their query count."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from lms.extensions import db
from lms.grading import appeals
from lms.grading.models import Appeal, Evaluation, EvaluationRound, RoundStatus
from lms.org.models import PostType
from tests.factories import make_person, make_unit
from tests.grading.cycle_world import OPENED, day
from tests.grading.round_pages_support import as_user, html, open_round, sheets_of
from tests.querycount import count_queries

pytest_plugins = ["tests.grading.round_pages_fixtures"]
D = Decimal
SCORES = {"work": "30", "diligence": "12", "integrity": "8"}


def _score_everyone(client, c, rnd) -> None:
    rows = sheets_of(rnd)
    for user, town in ((c.town_user, c.town), (c.town2_user, c.town2)):
        as_user(client, user)
        for row in rows.values():
            if row.township_id != town.id:
                continue
            resp = client.post(f"/grading/sheets/{row.id}", SCORES)
            assert resp.status_code == 302, html(resp)
        villages = {r.org_unit_id for r in rows.values() if r.township_id == town.id}
        for village_id in villages:
            resp = client.post(f"/grading/rounds/{rnd.id}/satisfaction",
                               {"village": village_id, "satisfaction": "12"})
            assert resp.status_code == 302, html(resp)


def test_full_round_through_the_pages(client, c, world, clock):
    as_user(client, c.county_hr)
    page = html(client.get("/grading/rounds"))
    assert "开启年度考评" in page and 'value="2026"' in page
    resp = client.post("/grading/rounds", {"unit": c.county.id, "year": "2026"})
    assert resp.status_code == 302
    rnd = db.session.scalar(select(EvaluationRound))
    assert resp.headers["Location"].endswith(f"/grading/rounds/{rnd.id}")
    assert len(sheets_of(rnd)) == 7

    # the township sees its county's round, its own townships' sheets only
    as_user(client, c.town2_user)
    assert "2026 年度" in html(client.get("/grading/rounds"))
    page = html(client.get(f"/grading/rounds/{rnd.id}"))
    assert "东关助理" in page and "助理2" not in page and "公示" not in page.split("评分表")[-1]

    _score_everyone(client, c, rnd)
    db.session.expire_all()
    rows = sheets_of(rnd)
    assert all(r.total == D("62.0") for r in rows.values())  # 30+12+8+12, competence 0
    assert all(r.grade == "basically_competent" for r in rows.values())

    as_user(client, c.county_hr)
    page = html(client.get(f"/grading/rounds/{rnd.id}"))
    assert "7 / 7" not in page and "6 / 6" in page and "1 / 1" in page
    assert "基本称职" in page and "兰山街道" in page
    filtered = html(client.get(f"/grading/rounds/{rnd.id}?township={c.town2.id}"))
    assert "东关助理" in filtered and "助理2" not in filtered
    assert client.get(f"/grading/rounds/{rnd.id}?township=abc").status_code == 404
    assert client.get(f"/grading/rounds/{rnd.id}?township={world.town_b.id}").status_code == 404
    assert client.get(f"/grading/rounds/{rnd.id}?page=abc").status_code == 200

    resp = client.post(f"/grading/rounds/{rnd.id}/publish", follow_redirects=True)
    assert "已公示" in html(resp) or "公示中" in html(resp)
    db.session.refresh(rnd)
    assert rnd.status == RoundStatus.PUBLISHED and rnd.publish_until == date(2026, 12, 8)

    # the assistant appeals from their own account
    as_user(client, world.trainee)
    row = sheets_of(rnd)[world.person_a.id]
    resp = client.post(f"/grading/my/{row.id}/appeal", {"text": "走访记录漏算"})
    assert resp.status_code == 302
    appeal = db.session.scalar(select(Appeal))

    as_user(client, c.county_hr)
    clock.now = day(date(2026, 12, 9))
    resp = client.post(f"/grading/rounds/{rnd.id}/confirm", follow_redirects=True)
    assert "申诉未答复" in html(resp)
    db.session.refresh(rnd)
    assert rnd.status == RoundStatus.PUBLISHED
    page = html(client.get(f"/grading/rounds/{rnd.id}/appeals"))
    assert "李四" in page and "待答复" in page
    resp = client.post(f"/grading/appeals/{appeal.id}", {"reply": ""})
    assert resp.status_code == 400 and "请填写答复意见" in html(resp)
    resp = client.post(f"/grading/appeals/{appeal.id}", {"reply": "经核实，维持原结果。"})
    assert resp.status_code == 302
    resp = client.post(f"/grading/rounds/{rnd.id}/confirm", follow_redirects=True)
    assert "已审定" in html(resp)
    db.session.refresh(rnd)
    assert rnd.status == RoundStatus.CONFIRMED

    as_user(client, world.trainee)
    page = html(client.get(f"/grading/my/{row.id}"))
    assert "经核实，维持原结果。" in page and "已审定" in page and 'name="text"' not in page


def test_confirm_before_the_window_ends_is_refused_with_the_reason(client, c, clock):
    rnd = open_round(c)
    _score_everyone(client, c, rnd)
    as_user(client, c.county_hr)
    client.post(f"/grading/rounds/{rnd.id}/publish")
    resp = client.post(f"/grading/rounds/{rnd.id}/confirm", follow_redirects=True)
    assert "公示期满后才能审定" in html(resp)
    resp = client.post(f"/grading/rounds/{rnd.id}/reopen", {"reason": " "})
    assert resp.status_code == 400 and "撤回公示的理由" in html(resp)
    db.session.refresh(rnd)
    assert rnd.status == RoundStatus.PUBLISHED
    as_user(client, c.town_user)
    resp = client.post(f"/grading/rounds/{rnd.id}/satisfaction",
                       {"village": c.villages[0].id, "satisfaction": "15"})
    assert resp.status_code == 400 and "已进入公示" in html(resp)
    as_user(client, c.county_hr)
    resp = client.post(f"/grading/rounds/{rnd.id}/reopen", {"reason": "申诉成立"})
    assert resp.status_code == 302
    db.session.refresh(rnd)
    assert rnd.status == RoundStatus.OPEN


def test_publish_with_incomplete_sheets_flashes_the_count(client, c, clock):
    rnd = open_round(c)
    as_user(client, c.county_hr)
    resp = client.post(f"/grading/rounds/{rnd.id}/publish", follow_redirects=True)
    assert "7 名民政助理员的评分未填完整" in html(resp)
    resp = client.post(f"/grading/rounds/{rnd.id}/refresh", follow_redirects=True)
    assert "已更新参评名单" in html(resp)
    resp = client.post(f"/grading/rounds/{rnd.id}/reopen", {"reason": "更正"})
    assert resp.status_code == 400 and "正在评分" in html(resp)
    db.session.refresh(rnd)
    assert rnd.status == RoundStatus.OPEN


def test_township_cannot_use_the_county_actions(client, c, clock):
    rnd = open_round(c)
    as_user(client, c.town_user)
    page = html(client.get(f"/grading/rounds/{rnd.id}"))
    assert "县级操作" not in page
    resp = client.post(f"/grading/rounds/{rnd.id}/publish", follow_redirects=True)
    assert "没有在该单位执行此操作的权限" in html(resp)
    assert client.post("/grading/rounds", {"unit": c.county.id, "year": "2025"}).status_code \
        == 400
    assert db.session.scalar(select(EvaluationRound.status)) == RoundStatus.OPEN


@pytest.mark.parametrize(("values", "words"), [
    ({"work": "41"}, "0 到 40"),
    ({"work": "abc"}, "分数应为数字"),
    ({"work": "12.25"}, "一位小数"),
    ({"work": "9" * 30}, "分数应为数字"),
    ({"work": ""}, "分数应为数字"),
    ({"diligence": "-1"}, "分数应为数字"),
    ({"work": "1e30"}, "分数应为数字"),
    ({"veto": "y", "veto_reason": ""}, "一票否决"),
    ({"comment": "长" * 2001}, "2000"),
])
def test_bad_scores_give_400_and_change_nothing(client, c, clock, values, words):
    rnd = open_round(c)
    row = sheets_of(rnd)[c.people[0].id]
    as_user(client, c.town_user)
    resp = client.post(f"/grading/sheets/{row.id}", {**SCORES, **values})
    assert resp.status_code == 400
    assert words in html(resp)
    db.session.expire_all()
    row = db.session.get(Evaluation, row.id)
    assert row.work is None and row.veto is False and row.comment == ""


@pytest.mark.parametrize(("values", "words"), [
    ({"year": "abc"}, "四位数字"),
    ({"year": "99999999999999"}, "年度"),
    ({"year": "2027"}, "今年或以前"),
    ({"unit": "x"}, "请从列表中选择单位"),
    ({"unit": "99999999999"}, "请从列表中选择单位"),
])
def test_bad_open_input_gives_400(client, c, world, clock, values, words):
    as_user(client, c.county_hr)
    resp = client.post("/grading/rounds", {"unit": c.county.id, "year": "2026", **values})
    assert resp.status_code == 400 and words in html(resp)
    assert db.session.scalar(select(EvaluationRound)) is None


def test_open_for_another_county_is_refused(client, c, world, clock):
    as_user(client, c.county_hr)
    resp = client.post("/grading/rounds", {"unit": world.county_b.id, "year": "2026"})
    assert resp.status_code == 400 and "请从列表中选择单位" in html(resp)
    open_round(c)
    resp = client.post("/grading/rounds", {"unit": c.county.id, "year": "2026"})
    assert resp.status_code == 400 and "已开启" in html(resp)


def test_bad_satisfaction_gives_400(client, c, clock):
    rnd = open_round(c)
    as_user(client, c.town_user)
    url = f"/grading/rounds/{rnd.id}/satisfaction"
    page = html(client.get(url))
    assert "第2村" in page and "东关村" not in page
    for data, words in (({"village": c.villages[-1].id, "satisfaction": "12"}, "选择"),
                        ({"village": "abc", "satisfaction": "12"}, "选择"),
                        ({"village": c.villages[0].id, "satisfaction": "16"}, "0 到 15"),
                        ({"village": c.villages[0].id, "satisfaction": "NaN"}, "分数")):
        resp = client.post(url, data)
        assert resp.status_code == 400 and words in html(resp), data
    db.session.expire_all()
    assert all(r.satisfaction is None for r in sheets_of(rnd).values())


def test_another_county_gets_404(client, c, world, clock):
    rnd = open_round(c)
    row = sheets_of(rnd)[c.people[0].id]
    appeal = Appeal(evaluation_id=row.id, person_id=row.person_id, org_unit_id=row.org_unit_id,
                    text="申诉", submitted_at=OPENED)
    db.session.add(appeal)
    db.session.commit()
    as_user(client, world.b_admin)
    for url in (f"/grading/rounds/{rnd.id}", f"/grading/rounds/{rnd.id}/satisfaction",
                f"/grading/rounds/{rnd.id}/appeals", f"/grading/sheets/{row.id}",
                f"/grading/appeals/{appeal.id}"):
        assert client.get(url).status_code == 404, url
    for url in (f"/grading/rounds/{rnd.id}/publish", f"/grading/sheets/{row.id}",
                f"/grading/appeals/{appeal.id}"):
        assert client.post(url, {**SCORES, "reply": "x"}).status_code == 404, url
    assert str(rnd.year) not in html(client.get("/grading/rounds")).split("<h1>")[-1] \
        .split("开启年度考评")[0].replace("2026 年度考评", "")
    assert appeals.window_open(row, OPENED) is False


def _grow(c, world, rnd, n: int) -> None:
    """n more assistants in new villages of town A, added to the round and scored."""
    from lms.grading import cycle

    start = len(c.villages) + 10
    for i in range(start, start + n):
        v = make_unit(f"371302001{i:03d}", f"新{i}村", "village", c.town)
        make_person(v, f"新助理{i}", post_type=PostType.VILLAGE_ASSISTANT.value)
    db.session.commit()
    cycle.refresh(rnd, actor=c.county_hr, now=OPENED)
    for row in sheets_of(rnd).values():
        if row.township_id == c.town.id:
            cycle.enter_scores(row, cycle.ScoreSheet(30, 12, 8), actor=c.town_user, now=OPENED)
    db.session.commit()


def test_query_counts_do_not_grow_with_assistants(client, c, world, clock):
    rnd = open_round(c)
    open_round(c, 2025)
    as_user(client, c.county_hr)
    urls = ("/grading/rounds", f"/grading/rounds/{rnd.id}",
            f"/grading/rounds/{rnd.id}/satisfaction", f"/grading/rounds/{rnd.id}/appeals")
    before = {url: _count(client, url) for url in urls}
    _grow(c, world, rnd, 12)
    assert len(sheets_of(rnd)) == 19
    assert {url: _count(client, url) for url in urls} == before


def _count(client, url: str) -> int:
    """Statements of one GET, with the test's shared session as a fresh request would find it."""
    db.session.expire_all()
    with count_queries() as q:
        assert client.get(url).status_code == 200
    return q.count
