"""Trainee learning: who sees which course, lesson pages (safe HTML), completion, progress,
credit hours, reading time, the 我的培训 block on the home page, and query budgets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sqlalchemy import func, select

from lms.audit import AuditEntry
from lms.courses import learning
from lms.courses.models import Course, Lesson, LessonProgress
from lms.courses.sync import sync_from_disk
from lms.extensions import db
from lms.org.models import OrgUnit, PostStatus, PostType
from tests.courses import lesson_md, write_course
from tests.factories import make_person, make_user
from tests.querycount import count_queries

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
VA = PostType.VILLAGE_ASSISTANT.value


def _sync(root: Path) -> None:
    sync_from_disk(root, actor=None, now=NOW)
    db.session.commit()


def _course(code: str) -> Course:
    return db.session.execute(select(Course).where(Course.code == code)).scalar_one()


def _browser_course(unit: OrgUnit | None, code: str, lessons: int = 2, post_types: str = VA,
                    body: str = "正文。") -> Course:
    course = Course(slug=code.lower(), code=code, title=f"课程{code}", source="browser",
                    org_unit_id=unit.id if unit else None, post_types=post_types)
    course.lessons = [Lesson(slug=f"l{i}", position=i, title=f"{code} 第{i}课", minutes=45,
                             body=body) for i in range(1, lessons + 1)]
    db.session.add(course)
    db.session.commit()
    return course


@pytest.fixture
def va_course(app, world, tmp_path) -> Course:
    """The file course for village assistants (three lessons: 30, 45 and 15 minutes)."""
    write_course(tmp_path)
    _sync(tmp_path)
    return _course("ONB-VA")


def _learner(person) -> learning.Learner:
    found = learning.learner_for(person.id)
    assert found is not None
    return found


def _b_trainee(world):
    return make_user("13800000002", world.village_b, person=world.person_b, phone="13800000002")


def _director_in_county_a(world):
    person = make_person(world.town_a, "赵六", post_type=PostType.OFFICE_DIRECTOR.value)
    return make_user("13800000003", world.town_a, person=person)


# ---------------------------------------------------------------- who sees what

def test_visible_courses_follow_post_type_owner_unit_and_retirement(app, world, tmp_path):
    write_course(tmp_path)
    write_course(tmp_path, "everyone", code="ALL", post_types=[],
                 lessons={"01-rules.md": lesson_md("服务规范")})
    write_course(tmp_path, "directors", code="ONB-OD", post_types=["office_director"],
                 lessons={"01-duty.md": lesson_md("主任职责")})
    _sync(tmp_path)
    _browser_course(world.county_a, "A-COUNTY")
    _browser_course(world.village_a, "A-VILLAGE")
    _browser_course(world.city, "CITY")
    _browser_course(world.county_b, "B-COUNTY")
    _browser_course(world.town_b, "B-TOWN")
    _browser_course(world.county_a, "A-STAFF", post_types=PostType.TOWNSHIP_STAFF.value)
    _browser_course(world.county_a, "A-EMPTY", lessons=0)
    retired = _browser_course(world.county_a, "A-RETIRED")
    retired.is_retired = True
    db.session.commit()

    seen_a = [cp.course.code for cp in learning.visible_courses(_learner(world.person_a))]
    assert seen_a == ["A-COUNTY", "A-VILLAGE", "ALL", "CITY", "ONB-VA"]
    seen_b = [cp.course.code for cp in learning.visible_courses(_learner(world.person_b))]
    assert seen_b == ["ALL", "B-COUNTY", "B-TOWN", "CITY", "ONB-VA"]


def test_only_people_with_an_open_post_are_learners(app, world):
    removed = make_person(world.village_a, "钱七", post_type=VA, status=PostStatus.REMOVED.value)
    nominee = make_person(world.village_a, "孙八", post_type=VA, status=PostStatus.NOMINATED.value)
    db.session.commit()
    assert learning.learner_for(None) is None
    assert learning.learner_for(removed.id) is None
    assert learning.learner_for(nominee.id).post_types == {VA}


def test_a_trainee_of_another_county_or_post_type_gets_404(app, client, world, va_course):
    b_course = _browser_course(world.county_b, "B-COUNTY")
    a_course = _browser_course(world.county_a, "A-COUNTY")
    b_lesson, a_lesson = b_course.lessons[0], a_course.lessons[0]
    _b_trainee(world)
    _director_in_county_a(world)
    db.session.commit()

    client.login("13800000001")  # village assistant, county A
    for url in (f"/courses/learn/lesson/{b_lesson.id}", f"/courses/learn/course/{b_course.id}",
                "/courses/learn/lesson/999999", "/courses/learn/lesson/99999999999999"):
        assert client.get(url).status_code == 404, url
    for url in (f"/courses/learn/lesson/{b_lesson.id}/complete",
                f"/courses/learn/lesson/{b_lesson.id}/time"):
        assert client.post(url, {"seconds": "30"}).status_code == 404, url
    assert client.get(f"/courses/learn/lesson/{a_lesson.id}").status_code == 200
    assert db.session.execute(select(func.count(LessonProgress.id))).scalar_one() == 0
    client.logout()

    client.login("13800000002")  # village assistant, county B: the owner's subtree
    assert client.get(f"/courses/learn/lesson/{b_lesson.id}").status_code == 200
    assert client.get(f"/courses/learn/lesson/{a_lesson.id}").status_code == 404
    client.logout()

    client.login("13800000003")  # office director, county A: not the course's post type
    assert client.get(f"/courses/learn/lesson/{a_lesson.id}").status_code == 404
    assert client.get(f"/courses/learn/lesson/{va_course.lessons[0].id}").status_code == 404
    assert client.get(f"/courses/learn/course/{va_course.id}").status_code == 404


def test_staff_without_a_person_see_an_empty_state_and_no_lessons(app, client, world, va_course):
    client.login("a_admin")
    page = client.get("/courses/learn/")
    assert page.status_code == 200 and "没有课程" in page.get_data(as_text=True)
    assert client.get(f"/courses/learn/lesson/{va_course.lessons[0].id}").status_code == 404
    assert "我的培训" not in client.get("/").get_data(as_text=True)


def test_a_retired_lesson_is_hidden_and_its_progress_kept(app, client, world, tmp_path):
    folder = write_course(tmp_path)
    _sync(tmp_path)
    course = _course("ONB-VA")
    last = course.lessons[2]
    learning.mark_lesson_complete(world.person_a, last, now=NOW)
    db.session.commit()
    (folder / "lessons" / "03-linshi.md").unlink()
    _sync(tmp_path)

    client.login("13800000001")
    page = client.get(f"/courses/learn/course/{course.id}").get_data(as_text=True)
    assert "临时救助" not in page and "已学 0 / 2 课" in page
    assert client.get(f"/courses/learn/lesson/{last.id}").status_code == 404
    assert client.post(f"/courses/learn/lesson/{last.id}/complete").status_code == 404
    assert db.session.execute(select(LessonProgress.completed_at).where(
        LessonProgress.lesson_id == last.id)).scalar_one() == NOW
    # The work was done: its credit stays (15 minutes → 0.3 credit hours).
    assert learning.credit_hours(world.person_a.id) == Decimal("0.3")


# ---------------------------------------------------------------- the lesson page

XSS_BODY = """
## 标题

[ok](https://example.org/ "title")

<script>alert(1)</script>
<img src=x onerror="alert(2)">
[点我](javascript:alert(3))
<a href="javascript:alert(4)">甲</a>
<a href="JaVaScRiPt&colon;alert(5)">乙</a>
<a href=" &#106;avascript:alert(6)">丙</a>
<div onclick="alert(7)" style="background:url(javascript:alert(8))">丁</div>
<iframe src="https://evil.example/"></iframe>
<svg onload=alert(9)><circle r="1"/></svg>
<style>body { display: none }</style>
<form action="https://evil.example/"><input name="x"></form>
![图](javascript:alert(10))
<object data="x.swf"></object><embed src="x.swf">
<math><mtext><table><mglyph><style><img src=x onerror=alert(11)></style></mglyph></table>
</mtext></math>
<body onload="alert(12)">
<meta http-equiv="refresh" content="0;url=javascript:alert(13)">
<base href="javascript:alert(14)//">
"""
DANGEROUS_SCHEMES = ("javascript:", "vbscript:", "data:")
URL_ATTRS = {"href", "src", "action", "formaction", "xlink:href", "background", "poster", "data"}


class _Audit(HTMLParser):
    """Collects everything in a page that could run script."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.in_script = False

    def handle_starttag(self, tag, attrs):  # noqa: ANN001
        attrs = dict(attrs)
        if tag == "script":
            self.in_script = True
            if not (attrs.get("src") or "").startswith("/static/"):
                self.problems.append(f"script {attrs}")
        if tag in ("iframe", "object", "embed", "style", "base", "meta", "svg", "math") and \
                tag != "meta" or (tag == "meta" and "http-equiv" in attrs):
            self.problems.append(f"<{tag}>")
        if tag == "form" and not (attrs.get("action") or "").startswith("/"):
            self.problems.append(f"form {attrs}")
        for name, value in attrs.items():
            if name.startswith("on") or name == "style":
                self.problems.append(f"{tag} {name}={value}")
            cleaned = "".join((value or "").split()).lower()
            if name in URL_ATTRS and cleaned.startswith(DANGEROUS_SCHEMES):
                self.problems.append(f"{tag} {name}={value}")

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag):  # noqa: ANN001
        if tag == "script":
            self.in_script = False

    def handle_data(self, data):  # noqa: ANN001
        if self.in_script and data.strip():
            self.problems.append(f"inline script {data[:40]!r}")


def _dangers(html: str) -> list[str]:
    parser = _Audit()
    parser.feed(html)
    parser.close()
    return parser.problems


def test_xss_in_lesson_markdown_never_reaches_the_page_as_executable_html(app, client, world,
                                                                          tmp_path):
    title = "<script>alert('t')</script>低保"
    write_course(tmp_path, title="<img src=x onerror=alert('c')>课程", summary="<script>s</script>",
                 lessons={"01-x.md": f"---\ntitle: \"{title}\"\nminutes: 5\n---\n{XSS_BODY}",
                          "02-y.md": lesson_md("第二课")})
    _sync(tmp_path)
    course = _course("ONB-VA")
    client.login("13800000001")
    pages = {url: client.get(url) for url in (
        f"/courses/learn/lesson/{course.lessons[0].id}", f"/courses/learn/course/{course.id}",
        "/courses/learn/", "/")}
    for url, resp in pages.items():
        assert resp.status_code == 200, url
        html = resp.get_data(as_text=True)
        assert _dangers(html) == [], url
        assert "<script>alert" not in html and "<img src=x" not in html
    lesson = pages[f"/courses/learn/lesson/{course.lessons[0].id}"].get_data(as_text=True)
    assert "<h2>标题</h2>" in lesson and 'href="https://example.org/"' in lesson
    assert "&lt;script&gt;alert(&#39;t&#39;)&lt;/script&gt;低保" in lesson


def test_the_audit_parser_catches_what_it_looks_for():
    assert _dangers('<script>alert(1)</script>')
    assert _dangers('<img src=x onerror="alert(2)">')
    assert _dangers('<a href=" JavaScript:alert(3)">x</a>')
    assert _dangers('<a href="javascript&colon;alert(3)">x</a>')
    assert _dangers('<div style="color:red">x</div>')
    assert _dangers('<iframe src="/x"></iframe>')
    assert _dangers('<script src="/static/js/app.js" defer></script><p>ok</p>') == []


def test_lesson_page_has_text_navigation_and_the_complete_button(app, client, world, va_course):
    first, second, third = va_course.lessons
    client.login("13800000001")
    page = client.get(f"/courses/learn/lesson/{second.id}").get_data(as_text=True)
    assert "特困人员救助供养" in page and "第 2 / 3 课" in page and "约 45 分钟" in page
    assert "学完本课" in page and f'action="/courses/learn/lesson/{second.id}/complete"' in page
    assert f'href="/courses/learn/lesson/{first.id}">上一课' in page
    assert f'href="/courses/learn/lesson/{third.id}">下一课' in page
    assert page.index("学完本课") < page.index("下一课")
    first_page = client.get(f"/courses/learn/lesson/{first.id}").get_data(as_text=True)
    assert "上一课" not in first_page and "《社会救助暂行办法》" in first_page


def test_lesson_attachments_are_listed_through_the_file_route(app, client, world, va_course):
    from lms.courses.models import Attachment

    lesson = va_course.lessons[0]

    def att(kind: str, name: str, ctype: str, poster: Attachment | None = None) -> Attachment:
        row = Attachment(course_id=va_course.id, lesson_id=lesson.id, kind=kind,
                         original_name=name, stored_name=f"stored-{name}", content_type=ctype,
                         size_bytes=10, sha256="0" * 64, poster_id=poster.id if poster else None)
        db.session.add(row)
        db.session.flush()
        return row

    pdf = att("pdf", "办法.pdf", "application/pdf")
    poster = att("image", "封面.png", "image/png")
    video = att("video", "讲解.mp4", "video/mp4", poster)
    db.session.commit()
    if "courses.attachment_file" not in app.view_functions:
        pytest.skip("the attachment route is not in this build")
    client.login("13800000001")
    page = client.get(f"/courses/learn/lesson/{lesson.id}").get_data(as_text=True)
    assert f'href="/courses/files/{pdf.id}">办法.pdf' in page
    assert f'href="/courses/files/{pdf.id}?download=1"' in page
    assert f'poster="/courses/files/{poster.id}"' in page
    assert f'<source src="/courses/files/{video.id}" type="video/mp4">' in page
    assert "封面.png" not in page  # a poster is shown with its video, not as an attachment
    other = client.get(f"/courses/learn/lesson/{va_course.lessons[1].id}").get_data(as_text=True)
    assert "附件" not in other


# ---------------------------------------------------------------- completion, progress, credit

def test_completing_lessons_moves_on_and_updates_progress_and_credit(app, client, world, va_course):
    first, second, third = va_course.lessons
    client.login("13800000001")
    resp = client.post(f"/courses/learn/lesson/{first.id}/complete")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(
        f"/courses/learn/lesson/{second.id}")
    course_page = client.get(f"/courses/learn/course/{va_course.id}").get_data(as_text=True)
    assert "已学 1 / 3 课 · 33.3%" in course_page and 'value="33.3"' in course_page
    assert learning.credit_hours(world.person_a.id) == Decimal("0.7")  # 30 / 45

    again = client.post(f"/courses/learn/lesson/{first.id}/complete")
    assert again.status_code == 302
    assert db.session.execute(select(func.count(AuditEntry.id)).where(
        AuditEntry.action == "lesson.complete")).scalar_one() == 1

    client.post(f"/courses/learn/lesson/{second.id}/complete")
    last = client.post(f"/courses/learn/lesson/{third.id}/complete")
    assert last.headers["Location"].endswith(f"/courses/learn/course/{va_course.id}")
    course_page = client.get(f"/courses/learn/course/{va_course.id}").get_data(as_text=True)
    assert "已学 3 / 3 课 · 100.0%" in course_page and "全部学完" in course_page
    assert learning.credit_hours(world.person_a.id) == Decimal("2.0")  # 90 / 45
    entry = db.session.execute(select(AuditEntry).where(
        AuditEntry.action == "lesson.complete").order_by(AuditEntry.id)).scalars().first()
    assert entry.actor_name == "13800000001" and entry.org_unit_id == world.village_a.id
    assert entry.details["lesson"] == first.id


def test_credit_hours_conversion_config_and_daily_cap(app, world, va_course):
    assert learning.minutes_to_credit_hours(90, 45) == Decimal("2.0")
    assert learning.minutes_to_credit_hours(20, 45) == Decimal("0.4")
    assert learning.minutes_to_credit_hours(0, 45) == Decimal("0.0")
    for lesson in va_course.lessons:
        learning.mark_lesson_complete(world.person_a, lesson, now=NOW)
    db.session.commit()
    assert learning.credit_hours(world.person_a.id) == Decimal("2.0")
    app.config["CREDIT_HOUR_MINUTES"] = 60
    assert learning.credit_hours(world.person_a.id) == Decimal("1.5")

    app.config["CREDIT_HOUR_MINUTES"] = 45
    big = _browser_course(world.county_a, "LONG", lessons=12)  # 12 × 45 minutes
    for lesson in big.lessons[:10]:
        learning.mark_lesson_complete(world.person_a, lesson, now=NOW + timedelta(days=1))
    for lesson in big.lessons[10:]:
        learning.mark_lesson_complete(world.person_a, lesson, now=NOW + timedelta(days=2))
    db.session.commit()
    # Day 1: 2.0; day 2: 10 hours capped at 8; day 3: 2 hours.
    assert learning.credit_hours(world.person_a.id) == Decimal("12.0")


def test_reading_time_is_capped_by_report_and_by_the_clock(app, client, world, va_course):
    lesson = va_course.lessons[0]
    assert learning.record_time(world.person_a, lesson, 100_000, now=NOW) == \
        learning.MAX_SECONDS_PER_REPORT
    assert learning.record_time(world.person_a, lesson, 60, now=NOW + timedelta(seconds=10)) == 10
    assert learning.record_time(world.person_a, lesson, 60, now=NOW + timedelta(seconds=10)) == 0
    assert learning.record_time(world.person_a, lesson, 45, now=NOW + timedelta(seconds=70)) == 45
    db.session.commit()
    row = db.session.execute(select(LessonProgress)).scalar_one()
    assert row.seconds_spent == learning.MAX_SECONDS_PER_REPORT + 55 and row.completed_at is None
    client.login("13800000001")
    assert client.post(f"/courses/learn/lesson/{lesson.id}/time",
                       {"seconds": "60"}).status_code == 204
    assert client.post(f"/courses/learn/lesson/{lesson.id}/time",
                       {"seconds": "-5"}).status_code == 400


# ---------------------------------------------------------------- home: 我的培训

def test_home_shows_my_training_with_one_next_step_button(app, client, world, va_course):
    other = _browser_course(world.county_a, "A-COUNTY", lessons=2)
    learning.mark_lesson_complete(world.person_a, va_course.lessons[0], now=NOW)
    db.session.commit()
    client.login("13800000001")
    home = client.get("/").get_data(as_text=True)
    assert "我的培训" in home and home.index("我的培训") < home.index("我的岗位")
    assert home.count("继续学习") == 1
    assert f'href="/courses/learn/lesson/{va_course.lessons[1].id}">继续学习' in home
    assert "已学 1 / 3 课 · 33.3%" in home and "已学 0 / 2 课 · 0.0%" in home
    assert "累计学时：0.7" in home and other.title in home

    for lesson in list(va_course.lessons[1:]) + list(other.lessons):
        learning.mark_lesson_complete(world.person_a, lesson, now=NOW)
    db.session.commit()
    home = client.get("/").get_data(as_text=True)
    assert "继续学习" not in home and "已全部学完" in home


def test_my_courses_lists_courses_with_progress(app, client, world, va_course):
    client.login("13800000001")
    page = client.get("/courses/learn/").get_data(as_text=True)
    assert va_course.title in page and "已学 0 / 3 课" in page and "未开始" in page
    assert f'href="/courses/learn/lesson/{va_course.lessons[0].id}">继续学习' in page


# ---------------------------------------------------------------- query budgets

def _count(client, url: str) -> int:
    db.session.expire_all()
    with count_queries() as c:
        assert client.get(url).status_code == 200, url
    return c.count


def _grow(world, course: Course) -> None:
    """More lessons in the course, more courses, progress on many of them."""
    for i in range(4, 16):
        course.lessons.append(Lesson(slug=f"extra{i}", position=i, title=f"补充{i}", minutes=20,
                                     body="正文"))
    for n in range(8):
        _browser_course(world.county_a if n % 2 else None, f"GROW-{n}", lessons=6)
    db.session.commit()
    for lesson in db.session.scalars(select(Lesson).where(Lesson.position <= 3)):
        learning.mark_lesson_complete(world.person_a, lesson, now=NOW)
    db.session.commit()


def test_trainee_pages_have_fixed_query_counts(app, client, world, va_course):
    learning.mark_lesson_complete(world.person_a, va_course.lessons[0], now=NOW)
    db.session.commit()
    client.login("13800000001")
    urls = ["/", "/courses/learn/", f"/courses/learn/course/{va_course.id}",
            f"/courses/learn/lesson/{va_course.lessons[1].id}"]
    small = {u: _count(client, u) for u in urls}
    _grow(world, va_course)
    large = {u: _count(client, u) for u in urls}
    assert large == small, (small, large)
    page = client.get(f"/courses/learn/course/{va_course.id}").get_data(as_text=True)
    assert "补充15" in page
