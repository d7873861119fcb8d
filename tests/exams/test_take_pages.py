"""The candidate's exam introduction and attempt page: what they show (never a key, R25), the
plain-form fallback without JavaScript, redirects once finished, and the CSP-safe scripts."""

from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser

import pytest

from lms.db import utcnow
from lms.exams.models import Attempt, AttemptItem
from lms.extensions import db
from tests.exams.factories import make_attempt, make_bank, make_exam, make_question

KEY_TEXT = "唯一答案词甲乙丙"
EXPLANATION = "解析里的独特说明丁戊"
REFERENCE = "参考答案的独特文字己庚"


class PageScan(HTMLParser):
    """Every <script> and every inline event handler / style attribute of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict] = []
        self.inline_handlers: list[str] = []
        self.script_text = ""
        self._in_script = False

    def handle_starttag(self, tag, attrs):  # noqa: ANN001, ANN201
        found = dict(attrs)
        if tag == "script":
            self.scripts.append(found)
            self._in_script = True
        self.inline_handlers += [f"{tag}[{k}]" for k in found if k.startswith("on")]

    def handle_endtag(self, tag):  # noqa: ANN001, ANN201
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):  # noqa: ANN001, ANN201
        if self._in_script:
            self.script_text += data


def scan(html: str) -> PageScan:
    parser = PageScan()
    parser.feed(html)
    return parser


def assert_csp_safe(html: str) -> None:
    page = scan(html)
    assert page.inline_handlers == []
    assert page.script_text.strip() == ""
    assert all(s.get("src", "").startswith("/static/") for s in page.scripts)


def static_file(client, name: str) -> bytes:  # noqa: ANN001
    resp = client.get(f"/static/{name}")
    try:
        assert resp.status_code == 200
        return resp.get_data()
    finally:
        resp.close()


@pytest.fixture
def paper(world):  # noqa: ANN001, ANN201
    bank = make_bank(world.county_a)
    questions = [
        make_question(bank, stem="低保对象认定应当以什么为单位？", options=["家庭", "个人"],
                      answer=[0], explanation=EXPLANATION),
        make_question(bank, type="multiple_choice", stem="哪些属于社会救助？"),
        make_question(bank, type="true_false", stem="特困人员可以申请低保。"),
        make_question(bank, type="fill_blank", stem="低保由____审核确认。",
                      answer=[[KEY_TEXT, "县民政局"]]),
        make_question(bank, type="short_answer", stem="简述低保申请流程。",
                      reference_answer=REFERENCE),
        make_question(bank, stem="{{7*7}} 是模板语法吗？", options=["是", "否"], answer=[1]),
    ]
    return questions


def _exam(world, paper, **settings):  # noqa: ANN001, ANN003, ANN202
    exam = make_exam(world.county_a, paper, **settings)
    db.session.commit()
    return exam


def _attempt(world, exam, **kw):  # noqa: ANN001, ANN003, ANN202
    attempt = make_attempt(exam, world.person_a, world.trainee.id, **kw)
    db.session.commit()
    return attempt


def test_intro_shows_paper_settings_and_passcode_field(client, world, paper) -> None:
    exam = _exam(world, paper, passcode="8848", description="**请独立作答**")
    client.login("13800000001")
    html = client.get(f"/exams/{exam.id}").get_data(as_text=True)
    assert "<strong>请独立作答</strong>" in html
    assert "共 6 题，满分 6.0 分" in html
    assert 'name="passcode"' in html
    assert f'action="/exams/{exam.id}/start"' in html
    assert "开始答题" in html
    assert_csp_safe(html)


def test_intro_without_passcode_has_no_field_and_lists_previous_attempts(
        client, world, paper) -> None:
    exam = _exam(world, paper, attempts_allowed=1)
    done = _attempt(world, exam, state="submitted")
    client.login("13800000001")
    html = client.get(f"/exams/{exam.id}").get_data(as_text=True)
    assert 'name="passcode"' not in html
    assert "答题次数已用完" in html
    assert f"/exams/attempts/{done.id}/review" in html


def test_intro_of_an_exam_outside_the_audience_is_404(client, world, paper) -> None:
    exam = make_exam(world.county_b, paper)
    db.session.commit()
    client.login("13800000001")
    assert client.get(f"/exams/{exam.id}").status_code == 404


def test_start_then_attempt_page(client, world, paper) -> None:
    exam = _exam(world, paper)
    client.login("13800000001")
    resp = client.post(f"/exams/{exam.id}/start")
    assert resp.status_code == 302
    attempt = db.session.execute(db.select(Attempt)).scalar_one()
    assert resp.headers["Location"].endswith(f"/exams/attempts/{attempt.id}")
    page = client.get(f"/exams/attempts/{attempt.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-remaining="' in html and 'data-last-seq="0"' in html
    assert f'data-save-url="/exams/attempts/{attempt.id}/save"' in html


def test_attempt_page_has_no_key_explanation_or_reference(client, world, paper) -> None:
    exam = _exam(world, paper)
    attempt = _attempt(world, exam)
    client.login("13800000001")
    html = client.get(f"/exams/attempts/{attempt.id}").get_data(as_text=True)
    assert "低保由____审核确认" in html  # the question is there ...
    for secret in (KEY_TEXT, "县民政局", EXPLANATION, REFERENCE):
        assert secret not in html  # ... its key, explanation and reference answer are not
    assert "correct" not in html.lower()
    # every question type renders its inputs
    assert 'type="radio" name="q1" value="0"' in html
    assert 'type="checkbox" name="q2"' in html
    assert 'name="q3" value="true"' in html
    assert 'name="q4_b0"' in html
    assert '<textarea id="q5-text" name="q5"' in html


def test_attempt_page_shows_template_syntax_literally(client, world, paper) -> None:
    exam = _exam(world, paper)
    attempt = _attempt(world, exam)
    client.login("13800000001")
    html = client.get(f"/exams/attempts/{attempt.id}").get_data(as_text=True)
    assert "{{7*7}} 是模板语法吗？" in html
    assert "49 是模板语法吗" not in html


def test_attempt_page_shows_saved_answers_and_flags(client, world, paper) -> None:
    exam = _exam(world, paper)
    attempt = _attempt(world, exam)
    items = {i.position: i for i in attempt.items}
    items[1].response, items[3].response = [1], False
    items[4].response, items[5].response = ["县级民政部门"], "先申请后审核"
    items[2].flagged = True
    attempt.last_seq = 7
    db.session.commit()
    client.login("13800000001")
    html = client.get(f"/exams/attempts/{attempt.id}").get_data(as_text=True)
    assert 'name="q1" value="1" checked' in html
    assert 'name="q3" value="false" checked' in html
    assert 'value="县级民政部门"' in html
    assert ">先申请后审核</textarea>" in html
    assert 'name="f2" value="1" checked' in html
    assert 'data-last-seq="7"' in html
    assert 'class="q-cell answered"' in html and "q-cell flagged" in html


def test_attempt_page_of_a_finished_attempt_redirects_to_review(client, world, paper) -> None:
    exam = _exam(world, paper)
    attempt = _attempt(world, exam, state="submitted")
    client.login("13800000001")
    resp = client.get(f"/exams/attempts/{attempt.id}")
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith(f"/exams/attempts/{attempt.id}/review")


def test_overdue_attempt_is_finalised_when_opened(client, world, paper) -> None:
    exam = _exam(world, paper, time_limit_minutes=30)
    attempt = _attempt(world, exam, started_at=utcnow() - timedelta(hours=2))
    client.login("13800000001")
    resp = client.get(f"/exams/attempts/{attempt.id}")
    assert resp.headers["Location"].endswith(f"/exams/attempts/{attempt.id}/review")
    db.session.expire_all()
    assert db.session.get(Attempt, attempt.id).state == "auto_submitted"


def test_someone_elses_attempt_is_404(client, world, paper) -> None:
    exam = make_exam(world.county_b, paper)
    other = make_attempt(exam, world.person_b, world.b_admin.id)
    db.session.commit()
    client.login("13800000001")
    for url in (f"/exams/attempts/{other.id}", f"/exams/attempts/{other.id}/review"):
        assert client.get(url).status_code == 404
    assert client.post(f"/exams/attempts/{other.id}/answers", {"q1": "0"}).status_code == 404


def test_plain_form_saves_only_what_changed(client, world, paper) -> None:
    exam = _exam(world, paper)
    attempt = _attempt(world, exam)
    client.login("13800000001")
    resp = client.post(f"/exams/attempts/{attempt.id}/answers",
                       {"q1": "1", "q2": ["0", "3"], "q3": "true", "q4_b0": "民政局",
                        "q5": "", "f6": "1", "action": "save"})
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith(f"/exams/attempts/{attempt.id}")
    db.session.expire_all()
    items = {i.position: i for i in db.session.get(Attempt, attempt.id).items}
    assert items[1].response == [1] and items[2].response == [0, 3]
    assert items[3].response is True and items[4].response == ["民政局"]
    assert items[5].client_seq == 0  # nothing written for an unchanged answer
    assert items[6].flagged is True and items[6].response is None
    assert db.session.get(Attempt, attempt.id).state == "in_progress"


def test_plain_form_submits_only_when_confirmed(client, world, paper) -> None:
    exam = _exam(world, paper)
    attempt = _attempt(world, exam)
    client.login("13800000001")
    resp = client.post(f"/exams/attempts/{attempt.id}/answers", {"q1": "0", "action": "submit"})
    assert resp.headers["Location"].endswith("#summary")
    db.session.expire_all()
    assert db.session.get(Attempt, attempt.id).state == "in_progress"
    resp = client.post(f"/exams/attempts/{attempt.id}/answers",
                       {"q1": "0", "action": "submit", "confirm": "1"})
    assert resp.headers["Location"].endswith(f"/exams/attempts/{attempt.id}/review")
    db.session.expire_all()
    done = db.session.get(Attempt, attempt.id)
    assert done.state == "submitted"
    assert done.items[0].response == [0] and str(done.items[0].score) == "1.0"


def test_plain_form_refuses_bad_values_and_changes_nothing(client, world, paper) -> None:
    exam = _exam(world, paper)
    attempt = _attempt(world, exam)
    client.login("13800000001")
    resp = client.post(f"/exams/attempts/{attempt.id}/answers",
                       {"q1": "0", "q2": "99", "q3": "maybe", "action": "save"})
    assert resp.status_code == 302
    db.session.expire_all()
    saved = db.session.execute(db.select(AttemptItem).where(
        AttemptItem.attempt_id == attempt.id, AttemptItem.response.is_not(None))).all()
    assert saved == []
    page = client.get(f"/exams/attempts/{attempt.id}").get_data(as_text=True)
    assert "未保存" in page


def test_exam_script_is_served_and_referenced(client, world, paper) -> None:
    exam = _exam(world, paper)
    attempt = _attempt(world, exam)
    client.login("13800000001")
    html = client.get(f"/exams/attempts/{attempt.id}").get_data(as_text=True)
    srcs = [s.get("src") for s in scan(html).scripts]
    assert "/static/js/exam.js" in srcs
    js = static_file(client, "js/exam.js")
    assert b"sessionStorage" in js
    assert b"localStorage." not in js and b"document.cookie" not in js
    # the script's messages come translated from the page, not from the script
    assert 'data-msg-retrying="未保存，正在重试"' in html
    assert 'data-msg-saved="已保存 {time}"' in html


def test_pages_have_no_inline_scripts(client, world, paper) -> None:
    exam = _exam(world, paper, show_answers="immediately")
    running = _attempt(world, exam)
    client.login("13800000001")
    pages = [client.get("/exams/my"), client.get(f"/exams/{exam.id}"),
             client.get(f"/exams/attempts/{running.id}")]
    client.post(f"/exams/attempts/{running.id}/answers",
                {"q1": "0", "action": "submit", "confirm": "1"})
    pages.append(client.get(f"/exams/attempts/{running.id}/review"))
    for resp in pages:
        assert resp.status_code == 200
        assert_csp_safe(resp.get_data(as_text=True))


def test_logout_form_is_marked_for_the_outbox_cleanup(client, world) -> None:
    client.login("13800000001")
    html = client.get("/exams/my").get_data(as_text=True)
    assert 'action="/auth/logout" class="inline" data-logout' in html
    app_js = static_file(client, "js/app.js")
    assert b"exam-outbox-" in app_js and b"form[data-logout]" in app_js


def _page_queries(client, world, n: int, page: str) -> int:  # noqa: ANN001
    from tests.querycount import count_queries

    bank = make_bank(world.county_a)
    exam = make_exam(world.county_a, [make_question(bank) for _ in range(n)],
                     show_answers="immediately", title=f"{n}题")
    attempt = make_attempt(exam, world.person_a, world.trainee.id,
                           state="in_progress" if page == "paper" else "submitted")
    db.session.commit()
    url = f"/exams/attempts/{attempt.id}" + ("" if page == "paper" else "/review")
    client.get(url)
    with count_queries() as counter:
        assert client.get(url).status_code == 200
    attempt.state = "abandoned"  # frees the one open attempt per person and exam
    db.session.commit()
    return counter.count


@pytest.mark.parametrize("page", ["paper", "review"])
def test_query_count_does_not_grow_with_questions(client, world, page: str) -> None:
    client.login("13800000001")
    assert _page_queries(client, world, 5, page) == _page_queries(client, world, 50, page)
