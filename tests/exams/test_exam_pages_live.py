"""Exam-day and item-analysis pages: who may see them, what they show, the extend / reopen
forms, the roster, the XLSX downloads and query counts that do not grow with attempts."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from lms.audit import AuditEntry
from lms.db import utcnow
from lms.exams.models import Attempt
from lms.extensions import db
from lms.org.models import PostType
from tests.exams.factories import make_attempt, make_bank, make_exam, make_question
from tests.exams.test_analysis import marked, people
from tests.factories import build_world, make_user
from tests.querycount import count_queries


@pytest.fixture
def setup(app):  # noqa: ANN001, ANN201
    world = build_world()
    bank = make_bank(world.county_a)
    questions = [make_question(bank, stem=f"第{i}题：{{{{7*7}}}} 低保" if i == 1 else None)
                 for i in range(1, 4)]
    exam = make_exam(world.county_a, questions, title="低保政策测试",
                     audience_post_types=PostType.VILLAGE_ASSISTANT.value)
    make_user("a_trainer", world.county_a, [("trainer", world.county_a)])
    db.session.commit()
    return world, bank, exam


def _text(resp) -> str:  # noqa: ANN001
    return resp.get_data(as_text=True)


def test_live_view_lists_candidates_and_refreshes(client, setup):
    world, _bank, exam = setup
    attempt = make_attempt(exam, world.person_a, world.trainee.id)
    attempt.last_saved_at = utcnow()
    attempt.items[0].response = [2]
    db.session.commit()
    client.login("a_trainer")
    html = _text(client.get(f"/exams/{exam.id}/live"))
    assert "李四" in html and "答题中" in html and "1/3" in html
    assert "js/live.js" in html and "data-live-refresh=\"30\"" in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert "王五" not in html  # county B's assistant is not in the audience


def test_live_filters_by_state(client, setup):
    world, _bank, exam = setup
    db.session.commit()
    client.login("a_admin")
    html = _text(client.get(f"/exams/{exam.id}/live?state=in_progress"))
    assert "没有符合条件的考生" in html
    html = _text(client.get(f"/exams/{exam.id}/live?state=not_started&unit=x"))
    assert "李四" in html


def test_hr_sees_analysis_but_not_live_operations(client, setup):
    world, bank, exam = setup
    attempt = make_attempt(exam, world.person_a, world.trainee.id)
    db.session.commit()
    client.login("a_hr")
    assert client.get(f"/exams/{exam.id}/analysis").status_code == 200
    assert client.get(f"/exams/banks/{bank.id}/analysis").status_code == 200
    assert client.get(f"/exams/{exam.id}/live").status_code == 403
    assert client.get(f"/exams/{exam.id}/roster").status_code == 403
    assert client.get(f"/exams/live/attempts/{attempt.id}").status_code == 403
    resp = client.post(f"/exams/live/attempts/{attempt.id}/extend",
                       {"extend-minutes": "10", "extend-reason": "停电"})
    assert resp.status_code == 403


def test_other_county_gets_404(client, setup):
    world, bank, exam = setup
    attempt = make_attempt(exam, world.person_a, world.trainee.id)
    db.session.commit()
    client.login("b_admin")
    for url in (f"/exams/{exam.id}/live", f"/exams/{exam.id}/roster",
                f"/exams/live/attempts/{attempt.id}", f"/exams/{exam.id}/analysis",
                f"/exams/{exam.id}/analysis.xlsx", f"/exams/banks/{bank.id}/analysis",
                f"/exams/banks/{bank.id}/analysis.xlsx"):
        assert client.get(url).status_code == 404, url
    resp = client.post(f"/exams/live/attempts/{attempt.id}/reopen",
                       {"reopen-minutes": "10", "reopen-reason": "停电"})
    assert resp.status_code == 404


def test_extend_through_the_page(client, setup):
    world, _bank, exam = setup
    attempt = make_attempt(exam, world.person_a, world.trainee.id)
    old = attempt.deadline
    db.session.commit()
    client.login("a_trainer")
    page = _text(client.get(f"/exams/live/attempts/{attempt.id}"))
    assert "延长时间" in page and "重新开放" not in page
    resp = client.post(f"/exams/live/attempts/{attempt.id}/extend",
                       {"extend-minutes": "10", "extend-reason": ""})
    assert resp.status_code == 200 and "请填写原因" in _text(resp)
    resp = client.post(f"/exams/live/attempts/{attempt.id}/extend",
                       {"extend-minutes": "abc", "extend-reason": "停电"})
    assert "1 到 600" in _text(resp)
    db.session.expire_all()
    assert db.session.get(Attempt, attempt.id).deadline == old
    resp = client.post(f"/exams/live/attempts/{attempt.id}/extend",
                       {"extend-minutes": "10", "extend-reason": "停电"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(Attempt, attempt.id).deadline == old + timedelta(minutes=10)
    # reopening an attempt in progress is refused with the reason shown
    resp = client.post(f"/exams/live/attempts/{attempt.id}/reopen",
                       {"reopen-minutes": "10", "reopen-reason": "停电"})
    assert resp.status_code == 200 and "仍在答题中" in _text(resp)


def test_reopen_through_the_page(client, setup):
    world, _bank, exam = setup
    attempt = make_attempt(exam, world.person_a, world.trainee.id, state="submitted")
    db.session.commit()
    client.login("a_admin")
    page = _text(client.get(f"/exams/live/attempts/{attempt.id}"))
    assert "重新开放" in page
    resp = client.post(f"/exams/live/attempts/{attempt.id}/reopen",
                       {"reopen-minutes": "30", "reopen-reason": "考场断网"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(Attempt, attempt.id).state == "in_progress"
    entry = db.session.execute(select(AuditEntry).where(
        AuditEntry.action == "exam.attempt_reopen")).scalar_one()
    assert entry.actor_name == "a_admin" and entry.details["reason"] == "考场断网"


def test_roster_lists_the_audience(client, setup):
    world, _bank, exam = setup
    db.session.commit()
    client.login("a_admin")
    html = _text(client.get(f"/exams/{exam.id}/roster"))
    assert "考场签到表" in html and "李四" in html and "0001" in html
    assert "村(社区)民政助理员" in html and "王五" not in html
    assert "data-print" in html
    html = _text(client.get(f"/exams/{exam.id}/roster?unit={world.town_a.id}"))
    assert "李四" in html


def _analysed(world, exam, n, start=0):  # noqa: ANN001, ANN201
    for i, (p, uid) in enumerate(people(world, n, start)):
        marked(exam, p, uid, [1, int(i % 3 == 0), int(i % 2 == 0)])
    db.session.commit()


def test_analysis_page_warns_below_thirty_and_shows_dashes(client, setup):
    world, _bank, exam = setup
    _analysed(world, exam, 3)
    client.login("a_trainer")
    html = _text(client.get(f"/exams/{exam.id}/analysis"))
    assert "少于 30 份" in html
    assert "—" in html and "nan" not in html.lower()
    assert "{{7*7}}" in html and "49" not in html
    assert "过易" not in html.split("指标说明")[0]


def test_analysis_page_flags_with_thirty(client, setup):
    world, _bank, exam = setup
    _analysed(world, exam, 30)
    client.login("a_trainer")
    html = _text(client.get(f"/exams/{exam.id}/analysis"))
    assert "少于 30 份" not in html
    assert "过易" in html.split("指标说明")[0]


def test_analysis_downloads(client, setup):
    world, bank, exam = setup
    _analysed(world, exam, 4)
    client.login("a_hr")
    resp = client.get(f"/exams/{exam.id}/analysis.xlsx")
    wb = load_workbook(io.BytesIO(resp.data))
    assert wb.sheetnames == ["整卷统计", "试题分析"]
    rows = list(wb["试题分析"].values)
    assert len(rows) == 4 and rows[1][3].startswith("'第1题") is False
    assert rows[1][5] == 4
    resp = client.get(f"/exams/banks/{bank.id}/analysis.xlsx")
    rows = list(load_workbook(io.BytesIO(resp.data))["试题分析"].values)
    assert len(rows) == 4


@pytest.mark.parametrize("path", ["/exams/{exam}/live", "/exams/{exam}/analysis",
                                  "/exams/{exam}/roster", "/exams/banks/{bank}/analysis"])
def test_query_counts_do_not_grow(client, setup, path):
    world, bank, exam = setup
    client.login("a_admin")
    url = path.format(exam=exam.id, bank=bank.id)
    counts = []
    for n, start in ((3, 0), (27, 3)):  # 3 attempts, then 30
        _analysed(world, exam, n, start)
        client.get(url)  # warm caches
        with count_queries() as counter:
            assert client.get(url).status_code == 200
        counts.append(counter.count)
    assert counts[0] == counts[1]


def test_exam_page_links_to_exam_day_and_analysis(client, setup):
    _world, _bank, exam = setup
    client.login("a_trainer")
    html = _text(client.get(f"/exams/{exam.id}/manage"))
    for url in (f"/exams/{exam.id}/live", f"/exams/{exam.id}/roster",
                f"/exams/{exam.id}/analysis"):
        assert url in html
    live = _text(client.get(f"/exams/{exam.id}/live"))
    assert f"/exams/{exam.id}/manage" in live
