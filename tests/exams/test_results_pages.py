"""The results table (filters, counts, fixed query count), its XLSX export (audited), and the
organiser's view of one attempt; HR reads results, county B sees nothing of county A."""

from __future__ import annotations

import io
import json
from decimal import Decimal

from openpyxl import load_workbook
from sqlalchemy import select

from lms.audit import AuditEntry
from lms.extensions import db
from tests.exams.factories import make_attempt, make_bank, make_exam, make_question
from tests.exams.marking_factories import candidate, finished
from tests.querycount import count_queries


def _exam(world):
    bank = make_bank(world.county_a)
    questions = [make_question(bank, points="6", options=["低保", "<i>特困</i>", "临时救助"]),
                 make_question(bank, type="short_answer", points="4",
                               reference_answer="参考要点")]
    return make_exam(world.county_a, questions, pass_score=Decimal("6"))


def _people(world, exam, n, prefix):
    made = []
    for i in range(n):
        unit = world.village_a if i % 2 else world.town_a
        person, user = candidate(unit, f"{prefix}{i}")
        attempt = finished(exam, person, user.id, {1: [i % 2], 2: "我的回答"})
        made.append(attempt)
    return made


def test_table_filters_and_counts(app, client, world):
    exam = _exam(world)
    passed, failed = _people(world, exam, 2, "考生")  # 0: right (6), 1: wrong (0)
    for a in (passed, failed):
        a.items[1].score = Decimal("2")
        from lms.exams.totals import recompute

        recompute(a, exam)
    pending = _people(world, exam, 1, "待阅")[0]
    person, user = candidate(world.village_a, "答题中")
    make_attempt(exam, person, user.id)
    db.session.commit()
    client.login("a_hr")  # HR reads results
    html = client.get(f"/exams/{exam.id}/results").get_data(as_text=True)
    for name in ("考生0", "考生1", "待阅0", "答题中"):
        assert name in html
    assert "8.0" in html and "待阅卷" in html and "无成绩" in html
    assert f"/exams/results/attempts/{passed.id}" in html
    only = client.get(f"/exams/{exam.id}/results?result=passed").get_data(as_text=True)
    assert "考生0" in only and "考生1" not in only and "待阅0" not in only
    only = client.get(f"/exams/{exam.id}/results?result=pending").get_data(as_text=True)
    assert "待阅0" in only and "考生0" not in only
    found = client.get(f"/exams/{exam.id}/results?q=考生1").get_data(as_text=True)
    assert "考生1" in found and "考生0" not in found
    village = client.get(f"/exams/{exam.id}/results?unit={world.town_a.id}&state=in_progress")
    assert "答题中" in village.get_data(as_text=True)
    assert "考生0" not in village.get_data(as_text=True)
    assert pending.needs_marking
    # HR may not mark.
    assert client.get(f"/exams/{exam.id}/marking").status_code == 403
    assert "评分</a>" not in client.get(
        f"/exams/results/attempts/{pending.id}").get_data(as_text=True)


def test_export_has_the_rows_and_is_audited(app, client, world):
    exam = _exam(world)
    attempts = _people(world, exam, 3, "导出")
    db.session.commit()
    client.login("a_admin")
    resp = client.get(f"/exams/{exam.id}/results.xlsx?result=pending")
    assert resp.status_code == 200
    wb = load_workbook(io.BytesIO(resp.data))
    rows = list(wb.active.iter_rows(values_only=True))
    assert rows[0][:7] == ("姓名", "单位", "岗位", "次数", "计分成绩", "是否通过", "交卷时间")
    assert sorted(r[0] for r in rows[1:]) == ["导出0", "导出1", "导出2"]
    assert rows[1][5] == "待阅卷" and rows[1][2] == "村(社区)民政助理员"
    entry = db.session.execute(select(AuditEntry).where(
        AuditEntry.action == "exam.results_export")).scalar_one()
    assert json.loads(entry.data)["rows"] == 3 and entry.object_id == exam.id
    assert len(attempts) == 3


def test_attempt_detail_maps_responses_and_escapes(app, client, world):
    exam = _exam(world)
    person, user = candidate(world.village_a, "详情")
    attempt = finished(exam, person, user.id, {1: [0], 2: "<script>x()</script>答"})
    attempt.items[0].option_order = [2, 0, 1]  # shown position 0 is original option C
    from lms.exams.totals import mark_objective

    mark_objective(attempt, exam)
    db.session.commit()
    client.login("a_admin")
    html = client.get(f"/exams/results/attempts/{attempt.id}").get_data(as_text=True)
    assert "&lt;script&gt;x()&lt;/script&gt;答" in html and "<script>x()" not in html
    assert "参考要点" in html
    assert "&lt;i&gt;特困&lt;/i&gt;" in html
    chosen = html.split("考生选择")[0].rsplit("<li", 1)[1]
    assert "临时救助" in chosen
    assert "评分</a>" in html


def test_county_b_gets_404(app, client, world):
    exam = _exam(world)
    attempt = _people(world, exam, 1, "甲")[0]
    db.session.commit()
    client.login("b_admin")
    for url in (f"/exams/{exam.id}/results", f"/exams/{exam.id}/results.xlsx",
                f"/exams/results/attempts/{attempt.id}"):
        assert client.get(url).status_code == 404


def _count(client, url):
    db.session.expire_all()
    with count_queries() as c:
        resp = client.get(url)
    assert resp.status_code == 200
    return c.count


def test_results_page_query_count_does_not_grow(app, client, world):
    exam = _exam(world)
    _people(world, exam, 3, "少")
    db.session.commit()
    client.login("a_admin")
    url = f"/exams/{exam.id}/results"
    few = _count(client, url)
    more = _people(world, exam, 27, "多")
    for a in more[:10]:
        person = a.person
        finished(exam, person, a.user_id, {1: [0]}, number=2)
    db.session.commit()
    assert _count(client, url) == few
    assert client.get(url).get_data(as_text=True).count("查看</a>") == 30
