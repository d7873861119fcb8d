"""The organiser's exam pages: list, create and edit (Beijing time in, UTC stored), the hub page
with its problems and status buttons, the paper editor, the keyed preview and extra time; county B
cannot reach a county A exam, and page query counts do not grow with the paper."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from lms.audit import AuditEntry
from lms.exams.models import BlueprintSlot, Exam, ExamOverride, PaperItem
from lms.extensions import db
from tests.exams.factories import make_attempt, make_bank, make_exam, make_question
from tests.querycount import count_queries

FORM = {"unit": "", "title": "2026年低保业务考试", "description": "**闭卷**",
        "opens_at": "2026-06-01T09:00", "closes_at": "2026-06-01T11:00",
        "time_limit_minutes": "90", "grace_seconds": "60", "attempts_allowed": "1",
        "grading_method": "highest", "pass_score": "60", "multiple_choice_rule": "partial_half",
        "shuffle_questions": "y", "show_score": "immediately", "show_answers": "after_close",
        "passcode": "", "query_window_days": "7", "paper_mode": "fixed", "audience_unit": ""}


@pytest.fixture
def admin(client, world):  # noqa: ANN001, ANN201
    client.login("a_admin")
    return world


def _text(resp) -> str:  # noqa: ANN001
    return resp.get_data(as_text=True)


def _exam() -> Exam | None:
    return db.session.execute(select(Exam)).scalars().first()


def test_nav_link_and_empty_list(client, admin):
    html = _text(client.get("/exams/manage"))
    assert 'href="/exams/manage"' in html and "考试管理" in html
    assert "还没有考试" in html


def test_trainee_has_no_exam_management(client, world):
    client.login("13800000001")
    assert client.get("/exams/manage").status_code in (403, 404)
    assert 'href="/exams/manage"' not in _text(client.get("/"))


def test_create_stores_beijing_time_as_utc_and_goes_to_the_paper(client, admin):
    resp = client.post("/exams/manage/new", FORM | {"unit": str(admin.county_a.id)})
    exam = _exam()
    assert resp.status_code == 302 and resp.headers["Location"].endswith(
        f"/exams/{exam.id}/paper")
    assert exam.opens_at == datetime(2026, 6, 1, 1, 0, tzinfo=UTC)
    assert exam.closes_at == datetime(2026, 6, 1, 3, 0, tzinfo=UTC)
    assert (exam.time_limit_minutes, exam.multiple_choice_rule, exam.status) == (
        90, "partial_half", "draft")
    assert exam.shuffle_questions is True and exam.shuffle_options is False
    html = _text(client.get(f"/exams/{exam.id}/edit"))
    assert 'value="2026-06-01T09:00"' in html


@pytest.mark.parametrize(("changes", "message"), [
    ({"title": ""}, "请填写考试名称"),
    ({"closes_at": "2026-06-01T08:00"}, "结束时间必须晚于开始时间"),
    ({"time_limit_minutes": "601"}, "限时应为 1 到 600 分钟"),
    ({"attempts_allowed": "abc"}, "作答次数应为"),
    ({"pass_score": "NaN"}, "及格分应为数字"),
    ({"pass_score": "60.25"}, "最多一位小数"),
    ({"passcode": "12"}, "考场口令应为"),
    ({"grading_method": "best"}, "请从列表中选择"),
    ({"audience_post_types": "mayor"}, "岗位类型"),
    ({"opens_at": "2026-13-01T09:00"}, "时间格式"),
])
def test_bad_input_is_shown_and_nothing_is_saved(client, admin, changes, message):
    resp = client.post("/exams/manage/new", FORM | {"unit": str(admin.county_a.id)} | changes)
    assert resp.status_code == 200
    assert message in _text(resp)
    assert _exam() is None


def test_audience_outside_the_unit_is_refused(client, admin):
    town = admin.town_a
    resp = client.post("/exams/manage/new", FORM | {"unit": str(town.id),
                                                     "audience_unit": str(admin.county_a.id)})
    assert "考试对象单位必须是本单位或其下级单位" in _text(resp)
    assert _exam() is None


def test_county_b_cannot_reach_a_county_a_exam(client, world):
    exam = make_exam(world.county_a, [make_question(make_bank(world.county_a))])
    db.session.commit()
    client.login("b_admin")
    for url in ("manage", "edit", "paper", "preview", "overrides"):
        assert client.get(f"/exams/{exam.id}/{url}").status_code == 404
    assert client.post(f"/exams/{exam.id}/status", {"action": "archive"}).status_code == 404
    assert "低保政策测试" not in _text(client.get("/exams/manage"))
    assert db.session.get(Exam, exam.id).status == "published"


def test_hub_page_lists_problems_and_publishes(client, admin):
    bank = make_bank(admin.county_a)
    make_question(bank, type="true_false", category="临时救助")
    exam = make_exam(admin.county_a, status="draft", paper_mode="blueprint",
                     pass_score=Decimal("1"))
    db.session.add(BlueprintSlot(exam_id=exam.id, position=1, bank_id=bank.id,
                                 type="true_false", category="临时救助", count=3,
                                 points=Decimal("1")))
    db.session.commit()
    html = _text(client.get(f"/exams/{exam.id}/manage"))
    assert "发布前需要解决" in html and "第1组" in html and "只有 1 题" in html
    hub = html.index('<div class="actions">')
    assert hub < html.index("发布前需要解决")
    resp = client.post(f"/exams/{exam.id}/status", {"action": "publish"})
    assert resp.status_code == 302
    assert "考试还不能发布" in _text(client.get(f"/exams/{exam.id}/manage"))
    assert _exam().status == "draft"
    make_question(bank, type="true_false", category="临时救助")
    make_question(bank, type="true_false", category="临时救助")
    db.session.commit()
    client.post(f"/exams/{exam.id}/status", {"action": "publish"})
    assert _exam().status == "published"
    client.post(f"/exams/{exam.id}/status", {"action": "nonsense"})
    assert _exam().status == "published"


def test_fixed_paper_editor_adds_moves_and_prices(client, admin):
    bank = make_bank(admin.county_a, title="兰山题库")
    q1 = make_question(bank, stem="低保对象的认定条件是什么？")
    q2 = make_question(bank, stem="特困人员供养包括哪些内容？")
    exam = make_exam(admin.county_a, status="draft", pass_score=Decimal("1"))
    db.session.commit()
    html = _text(client.get(f"/exams/{exam.id}/paper", query_string={"q": "特困"}))
    assert "特困人员供养" in html and "低保对象的认定" not in html
    client.post(f"/exams/{exam.id}/paper/add", {"questions": [str(q1.id), str(q2.id)]})
    items = db.session.execute(select(PaperItem).order_by(PaperItem.position)).scalars().all()
    assert [i.question_id for i in items] == [q1.id, q2.id]
    client.post(f"/exams/{exam.id}/paper/item", {"item": str(items[1].id), "action": "up"})
    client.post(f"/exams/{exam.id}/paper/item", {"item": str(items[0].id), "action": "points",
                                                 "points": "2.5"})
    db.session.expire_all()
    items = db.session.execute(select(PaperItem).order_by(PaperItem.position)).scalars().all()
    assert [i.question_id for i in items] == [q2.id, q1.id]
    assert items[1].points == Decimal("2.5")
    resp = client.post(f"/exams/{exam.id}/paper/item", {"item": str(items[1].id),
                                                        "action": "points", "points": "abc"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(PaperItem, items[1].id).points == Decimal("2.5")
    assert "已在试卷中" in _text(client.get(f"/exams/{exam.id}/paper"))


def test_paper_pages_are_read_only_once_an_attempt_exists(client, admin):
    bank = make_bank(admin.county_a)
    q = make_question(bank)
    exam = make_exam(admin.county_a, [q])
    make_attempt(exam, admin.person_a, admin.trainee.id)
    db.session.commit()
    html = _text(client.get(f"/exams/{exam.id}/paper"))
    assert "试卷已锁定" in html and "从题库选题" not in html
    item = exam.items[0]
    client.post(f"/exams/{exam.id}/paper/item", {"item": str(item.id), "action": "remove"})
    assert "已锁定" in _text(client.get(f"/exams/{exam.id}/manage"))
    assert db.session.execute(select(PaperItem)).scalars().all() != []
    assert "撤回为草稿" not in _text(client.get(f"/exams/{exam.id}/manage"))


def test_blueprint_editor_shows_pool_sizes(client, admin):
    bank = make_bank(admin.county_a, title="社会救助题库")
    for _ in range(3):
        make_question(bank, type="single_choice", difficulty=2)
    exam = make_exam(admin.county_a, status="draft", paper_mode="blueprint",
                     pass_score=Decimal("1"))
    db.session.commit()
    resp = client.post(f"/exams/{exam.id}/paper/slot", {
        "bank": str(bank.id), "type": "single_choice", "difficulty": "2", "count": "5",
        "points": "2"})
    assert resp.status_code == 302
    html = _text(client.get(f"/exams/{exam.id}/paper"))
    assert "社会救助题库" in html and "需要 5 题，题库中只有 3 题" in html
    assert 'class="status status-bad">3<' in html
    client.post(f"/exams/{exam.id}/paper/slot?slot=1", {
        "bank": str(bank.id), "type": "single_choice", "count": "2", "points": "2"})
    db.session.expire_all()
    [slot] = db.session.execute(select(BlueprintSlot)).scalars().all()
    assert (slot.count, slot.difficulty) == (2, None)
    html = _text(client.get(f"/exams/{exam.id}/paper/slot", query_string={"slot": "1"}))
    assert "修改第1组" in html
    resp = client.post(f"/exams/{exam.id}/paper/slot", {"bank": str(bank.id),
                                                        "type": "single_choice", "count": "0",
                                                        "points": "2"})
    assert "抽题数应为 1 到 200" in _text(resp)
    client.post(f"/exams/{exam.id}/paper/slot/remove?slot=1")
    assert db.session.execute(select(BlueprintSlot)).scalars().all() == []


def test_preview_shows_keys_and_a_new_draw_link(client, admin):
    bank = make_bank(admin.county_a)
    q = make_question(bank, stem="独一无二的题干ZX", options=["选项甲", "选项乙唯一答案"],
                      answer=[1])
    exam = make_exam(admin.county_a, [q], shuffle_options=True)
    db.session.commit()
    html = _text(client.get(f"/exams/{exam.id}/preview", query_string={"seed": "42"}))
    assert "独一无二的题干ZX" in html and "正确答案" in html
    assert re.search(r'class="right">.*选项乙唯一答案', html)
    assert "换一份" in html and "seed=" in html
    assert client.get(f"/exams/{exam.id}/preview?seed=abc").status_code == 200


def test_overrides_page_sets_and_removes_extra_time(client, admin):
    exam = make_exam(admin.county_a, [make_question(make_bank(admin.county_a))])
    db.session.commit()
    html = _text(client.get(f"/exams/{exam.id}/overrides", query_string={"q": "李四"}))
    assert "李四" in html
    html = _text(client.get(f"/exams/{exam.id}/overrides", query_string={"q": "王五"}))
    assert 'name="person"' not in html and "前村村委会" not in html
    client.post(f"/exams/{exam.id}/overrides/person", {
        "person": str(admin.person_a.id), "extra_minutes": "20", "reason": "视力障碍"})
    client.post(f"/exams/{exam.id}/overrides/group", {
        "unit": str(admin.town_a.id), "extra_minutes": "10", "reason": "停电"})
    resp = client.post(f"/exams/{exam.id}/overrides/group", {
        "unit": str(admin.town_a.id), "extra_minutes": "10", "reason": ""})
    assert "请填写延时原因" in _text(resp)
    rows = db.session.execute(select(ExamOverride)).scalars().all()
    assert sorted(o.extra_minutes for o in rows) == [10, 20]
    resp = client.post(f"/exams/{exam.id}/overrides/person", {
        "person": str(admin.person_b.id), "extra_minutes": "20", "reason": "x"})
    assert resp.status_code == 200
    assert len(db.session.execute(select(ExamOverride)).scalars().all()) == 2
    client.post(f"/exams/{exam.id}/overrides/remove", {"override": str(rows[0].id)})
    assert len(db.session.execute(select(ExamOverride)).scalars().all()) == 1
    actions = db.session.execute(select(AuditEntry.action).where(
        AuditEntry.action.like("exam.override%")).order_by(AuditEntry.id)).scalars().all()
    assert actions == ["exam.override_set", "exam.override_set", "exam.override_remove"]


def _paper(unit, n: int) -> Exam:  # noqa: ANN001
    bank = make_bank(unit)
    questions = [make_question(bank, type=("single_choice", "true_false", "fill_blank")[i % 3])
                 for i in range(n)]
    exam = make_exam(unit, questions, status="draft")
    db.session.commit()
    return exam


@pytest.mark.parametrize("page", ["manage", "paper", "preview?seed=7", "edit", "overrides"])
def test_query_count_does_not_grow_with_the_paper(client, admin, page):
    counts = []
    for n in (5, 50):
        exam = _paper(admin.county_a, n)
        with count_queries() as counter:
            assert client.get(f"/exams/{exam.id}/{page}").status_code == 200
        counts.append(counter.count)
    assert counts[0] == counts[1], counts


def test_list_query_count_does_not_grow(client, admin):
    counts = []
    for n in (2, 12):
        for _ in range(n):
            exam = make_exam(admin.county_a, [])
            make_attempt(exam, admin.person_a, admin.trainee.id)
        db.session.commit()
        with count_queries() as counter:
            html = _text(client.get("/exams/manage"))
        counts.append(counter.count)
    assert counts[0] == counts[1], counts
    assert "已发布" in html
