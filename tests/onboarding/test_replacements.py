"""Replacement cases (domain §3.5): opening, the person's statement, the township's decision,
and what a dismissal does (post removed, trainee account disabled, all audited)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from lms.audit import AuditEntry
from lms.auth.models import User, UserSession
from lms.db import utcnow
from lms.errors import InvalidState, NotAllowed, ValidationFailed
from lms.extensions import db
from lms.onboarding import replacements as rep
from lms.onboarding.models import ReplacementCase
from lms.org.models import Post, PostStatus
from tests.conftest import Client
from tests.factories import make_person, make_unit, make_user
from tests.onboarding.factories import nominee
from tests.querycount import count_queries

MONDAY = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Beijing
EVIDENCE = "2025年度考评结果为不称职，见乡镇考评表。"


def _actions(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def _open(world, *, now: datetime = MONDAY, actor=None) -> ReplacementCase:  # noqa: ANN001
    case = rep.open_case(world.person_a.posts[0], "annual_incompetent", EVIDENCE,
                         actor=actor or world.town_a_admin, now=now)
    db.session.commit()
    return case


# ---------------------------------------------------------------- services


def test_open_case_sets_the_statement_deadline_and_is_audited(world):
    case = _open(world)
    assert case.status == "open"
    assert case.township_unit_id == world.town_a.id
    assert case.org_unit_id == world.village_a.id
    assert case.person_id == world.person_a.id
    assert case.statement_due_on == date(2026, 3, 9)  # 5 working days after Monday 2 March
    [entry] = _actions("replacement.open")
    assert entry.object_id == case.id and entry.actor_id == world.town_a_admin.id


def test_open_case_refusals(world):
    post = world.person_a.posts[0]
    with pytest.raises(ValidationFailed):
        rep.open_case(post, "manual", "   ", actor=world.town_a_admin, now=MONDAY)
    with pytest.raises(ValidationFailed):
        rep.open_case(post, "manual", "x" * 2001, actor=world.town_a_admin, now=MONDAY)
    with pytest.raises(ValidationFailed):
        rep.open_case(post, "bored", EVIDENCE, actor=world.town_a_admin, now=MONDAY)
    with pytest.raises(NotAllowed):
        rep.open_case(post, "manual", EVIDENCE, actor=world.b_admin, now=MONDAY)
    _director, director_post = nominee(world.town_a, "赵主任", "office_director")
    with pytest.raises(InvalidState):
        rep.open_case(director_post, "manual", EVIDENCE, actor=world.town_a_admin, now=MONDAY)
    rep.open_case(post, "manual", EVIDENCE, actor=world.town_a_admin, now=MONDAY)
    with pytest.raises(InvalidState, match="正在办理"):
        rep.open_case(post, "absence", EVIDENCE, actor=world.town_a_admin, now=MONDAY)


def test_a_removed_post_cannot_get_a_case(world):
    post = world.person_a.posts[0]
    post.status = PostStatus.REMOVED.value
    db.session.flush()
    with pytest.raises(InvalidState):
        rep.open_case(post, "manual", EVIDENCE, actor=world.town_a_admin, now=MONDAY)


def test_the_county_may_open_a_case_too(world):
    case = _open(world, actor=world.a_admin)
    assert case.opened_by_id == world.a_admin.id


def test_open_from_flag_returns_the_open_case(world):
    first = rep.open_from_flag(world.person_a.posts[0], "annual_incompetent", EVIDENCE,
                               actor=None, now=MONDAY)
    again = rep.open_from_flag(world.person_a.posts[0], "basic_twice", EVIDENCE,
                               actor=None, now=MONDAY)
    assert again.id == first.id
    assert len(_actions("replacement.open")) == 1


def test_statement_only_by_the_person_and_before_the_deadline(world):
    case = _open(world)
    other = make_user("wangwu", world.village_b, person=world.person_b)
    with pytest.raises(InvalidState, match="本人"):
        rep.submit_statement(case, "不是我", user=other, now=MONDAY)
    with pytest.raises(InvalidState):
        rep.submit_statement(case, "不是我", user=world.town_a_admin, now=MONDAY)
    with pytest.raises(ValidationFailed):
        rep.submit_statement(case, "  ", user=world.trainee, now=MONDAY)
    late = datetime(2026, 3, 9, 16, 30, tzinfo=UTC)  # 10 March 00:30 in Beijing
    with pytest.raises(InvalidState, match="期限"):
        rep.submit_statement(case, "我有病假证明", user=world.trainee, now=late)
    rep.submit_statement(case, "我有病假证明", user=world.trainee,
                         now=datetime(2026, 3, 9, 15, 0, tzinfo=UTC))  # 23:00 on the due day
    assert case.statement == "我有病假证明"
    assert _actions("replacement.statement")[0].actor_id == world.trainee.id


def test_dismissal_waits_for_the_statement_or_the_deadline(world):
    case = _open(world)
    with pytest.raises(InvalidState, match="申辩期限"):
        rep.decide(case, "dismissed", "不称职", actor=world.town_a_admin,
                   now=MONDAY + timedelta(days=1))
    assert case.status == "open"
    rep.decide(case, "kept", "改正及时，留任观察", actor=world.town_a_admin,
               now=MONDAY + timedelta(days=1))  # keeping needs no wait
    assert case.status == "kept"
    assert world.person_a.posts[0].status == PostStatus.IN_POST.value
    assert db.session.get(User, world.trainee.id).is_active
    assert len(_actions("replacement.keep")) == 1


def test_decision_needs_a_note_and_the_township(world):
    case = _open(world)
    later = MONDAY + timedelta(days=10)
    with pytest.raises(ValidationFailed):
        rep.decide(case, "dismissed", " ", actor=world.town_a_admin, now=later)
    with pytest.raises(ValidationFailed):
        rep.decide(case, "fired", "x", actor=world.town_a_admin, now=later)
    with pytest.raises(NotAllowed):
        rep.decide(case, "dismissed", "不称职", actor=world.b_admin, now=later)
    with pytest.raises(NotAllowed):
        rep.decide(case, "dismissed", "不称职", actor=world.trainee, now=later)
    assert case.status == "open"


def test_dismissal_removes_the_post_and_disables_the_account(world):
    case = _open(world)
    later = MONDAY + timedelta(days=10)
    db.session.add(UserSession(token_hash="a" * 64, user_id=world.trainee.id, created_at=later,
                               last_seen_at=later))
    db.session.flush()
    rep.decide(case, "dismissed", "连续不称职，决定撤换", actor=world.town_a_admin, now=later)
    db.session.commit()
    post = db.session.get(Post, case.post_id)
    assert post.status == PostStatus.REMOVED.value
    assert post.ended_on == later.date()
    user = db.session.get(User, world.trainee.id)
    assert not user.is_active
    assert db.session.scalar(select(UserSession.revoked_at).where(
        UserSession.user_id == user.id)) is not None
    assert [e.object_id for e in _actions("replacement.dismiss")] == [case.id]
    [disable] = _actions("account.disable")
    assert disable.object_id == user.id and disable.details["replacement_case_id"] == case.id
    assert any(e.details.get("new") == "removed" for e in _actions("post.status"))


def test_decided_case_refuses_further_actions(world):
    case = _open(world)
    later = MONDAY + timedelta(days=10)
    rep.decide(case, "dismissed", "撤换", actor=world.town_a_admin, now=later)
    for attempt in (
        lambda: rep.decide(case, "kept", "留任", actor=world.town_a_admin, now=later),
        lambda: rep.decide(case, "dismissed", "再撤", actor=world.town_a_admin, now=later),
        lambda: rep.withdraw(case, "撤销", actor=world.town_a_admin, now=later),
        lambda: rep.submit_statement(case, "申辩", user=world.trainee, now=MONDAY),
    ):
        with pytest.raises(InvalidState):
            attempt()
    assert case.status == "dismissed"


def test_withdraw_closes_the_case_without_touching_the_post(world):
    case = _open(world)
    rep.withdraw(case, "启动有误", actor=world.town_a_admin, now=MONDAY)
    assert case.status == "withdrawn" and case.decision_note == "启动有误"
    assert world.person_a.posts[0].status == PostStatus.IN_POST.value
    with pytest.raises(ValidationFailed):
        rep.withdraw(_open(world), "", actor=world.town_a_admin, now=MONDAY)
    assert len(_actions("replacement.withdraw")) == 1


def test_an_account_with_a_role_or_another_open_post_keeps_access(world):
    # A person who also holds a township staff post keeps their login.
    case = _open(world)
    from lms.org.models import Post as PostModel

    db.session.add(PostModel(person_id=world.person_a.id, org_unit_id=world.town_a.id,
                             post_type="township_staff", status="in_post", is_legacy=True))
    db.session.flush()
    rep.decide(case, "dismissed", "撤换", actor=world.town_a_admin, now=MONDAY + timedelta(10))
    assert db.session.get(User, world.trainee.id).is_active
    assert _actions("account.disable") == []
    # An account with a role (an administrator) is never disabled by a dismissal.
    person = make_person(world.village_a, "钱七", post_type="village_assistant")
    make_user("qianqi", world.town_a, [("trainer", world.town_a)], person=person)
    case2 = rep.open_case(person.posts[0], "absence", EVIDENCE, actor=world.town_a_admin,
                          now=MONDAY)
    rep.decide(case2, "dismissed", "撤换", actor=world.town_a_admin, now=MONDAY + timedelta(10))
    assert db.session.scalar(select(User.is_active).where(User.username == "qianqi"))


def test_for_person_lists_newest_first(world):
    first = _open(world)
    rep.withdraw(first, "有误", actor=world.town_a_admin, now=MONDAY)
    second = _open(world, now=MONDAY + timedelta(days=1))
    assert [c.id for c in rep.for_person(world.person_a.id)] == [second.id, first.id]
    assert rep.for_person(world.person_b.id) == []


# ---------------------------------------------------------------- pages


def test_open_a_case_through_the_page(client, world):
    post = world.person_a.posts[0]
    client.login("town_a_admin")
    url = f"/onboarding/posts/{post.id}/replacement"
    assert "事实和证据" in client.get(url).get_data(as_text=True)
    resp = client.post(url, {"trigger": "absence", "evidence": ""})
    assert resp.status_code == 200 and "请填写事实和证据" in resp.get_data(as_text=True)
    assert db.session.scalar(select(ReplacementCase.id)) is None
    resp = client.post(url, {"trigger": "absence", "evidence": "连续四个月未到岗"})
    assert resp.status_code == 302
    case = db.session.scalars(select(ReplacementCase)).one()
    assert resp.headers["Location"].endswith(f"/onboarding/replacements/{case.id}")
    page = client.get(url).get_data(as_text=True)
    assert "已有正在办理的撤换案件" in page


def test_dismissal_through_the_pages_ends_trainee_login(app, client, world):
    case = _open(world, now=utcnow() - timedelta(days=30))  # statement period over
    trainee = Client(app)
    assert trainee.login("13800000001").status_code == 302
    assert trainee.get(f"/onboarding/my/replacements/{case.id}").status_code == 200

    client.login("town_a_admin")
    page = client.get(f"/onboarding/replacements/{case.id}").get_data(as_text=True)
    assert "作出决定" in page and EVIDENCE in page
    resp = client.post(f"/onboarding/replacements/{case.id}/decide",
                       {"outcome": "dismissed", "note": ""})
    assert "请填写决定理由" in resp.get_data(as_text=True)
    resp = client.post(f"/onboarding/replacements/{case.id}/decide",
                       {"outcome": "dismissed", "note": "连续不称职"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(ReplacementCase, case.id).status == "dismissed"
    assert db.session.get(Post, case.post_id).status == "removed"
    assert len(_actions("replacement.dismiss")) == 1

    # The trainee's open session is dead, and a new login is refused.
    assert trainee.get(f"/onboarding/my/replacements/{case.id}").status_code == 302
    other = Client(app)
    resp = other.login("13800000001")
    assert resp.status_code == 200 and "用户名或密码错误" in resp.get_data(as_text=True)

    # A second decision is refused with a message and changes nothing.
    resp = client.post(f"/onboarding/replacements/{case.id}/decide",
                       {"outcome": "kept", "note": "留任"}, follow_redirects=True)
    assert "不能再办理" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(ReplacementCase, case.id).status == "dismissed"
    resp = client.post(f"/onboarding/replacements/{case.id}/withdraw", {"withdraw-note": "撤销"},
                       follow_redirects=True)
    assert "不能再办理" in resp.get_data(as_text=True)


def test_the_person_submits_a_statement(client, world):
    case = _open(world, now=utcnow())
    client.login("13800000001")
    assert client.get("/onboarding/my/replacements").status_code == 200
    url = f"/onboarding/my/replacements/{case.id}"
    assert EVIDENCE in client.get(url).get_data(as_text=True)
    resp = client.post(url, {"statement": "我因病住院，附病历。"})
    assert resp.status_code == 302
    db.session.expire_all()
    saved = db.session.get(ReplacementCase, case.id)
    assert saved.statement == "我因病住院，附病历。" and saved.statement_at is not None
    # Somebody else's case does not exist for the trainee.
    assert client.get(f"/onboarding/replacements/{case.id}").status_code in (403, 404)


def test_another_person_cannot_see_or_answer_the_case(client, world):
    case = _open(world, now=utcnow())
    make_user("wangwu", world.village_b, person=world.person_b)
    db.session.commit()
    client.login("wangwu")
    url = f"/onboarding/my/replacements/{case.id}"
    assert client.get(url).status_code == 404
    assert client.post(url, {"statement": "冒名"}).status_code == 404
    db.session.expire_all()
    assert db.session.get(ReplacementCase, case.id).statement == ""


def test_out_of_scope_is_404(client, world):
    case = _open(world)
    client.login("b_admin")
    assert client.get(f"/onboarding/replacements/{case.id}").status_code == 404
    assert client.get(f"/onboarding/posts/{case.post_id}/replacement").status_code == 404
    assert client.post(f"/onboarding/replacements/{case.id}/decide",
                       {"outcome": "kept", "note": "x"}).status_code == 404
    assert client.post(f"/onboarding/replacements/{case.id}/withdraw",
                       {"withdraw-note": "x"}).status_code == 404
    page = client.get("/onboarding/replacements").get_data(as_text=True)
    assert world.person_a.name not in page
    db.session.expire_all()
    assert db.session.get(ReplacementCase, case.id).status == "open"


def test_list_filters_by_status_and_county_sees_township_cases(client, world):
    case = _open(world)
    client.login("a_hr")  # county HR: oversight, no decision
    page = client.get("/onboarding/replacements").get_data(as_text=True)
    assert world.person_a.name in page
    page = client.get("/onboarding/replacements?status=kept").get_data(as_text=True)
    assert world.person_a.name not in page
    detail = client.get(f"/onboarding/replacements/{case.id}").get_data(as_text=True)
    assert "作出决定" not in detail
    assert client.post(f"/onboarding/replacements/{case.id}/decide",
                       {"outcome": "kept", "note": "x"}).status_code in (403, 404)


def test_list_query_count_does_not_grow_with_rows(client, world):
    _open(world)
    client.login("a_admin")
    client.get("/onboarding/replacements")
    db.session.expire_all()
    with count_queries() as one:
        client.get("/onboarding/replacements")
    for i in range(5):  # each in a village of its own township
        town = make_unit(f"37130210{i}", f"镇{i}", "township", world.county_a)
        village = make_unit(f"37130210{i}001", f"村{i}", "village", town)
        person = make_person(village, f"助理员{i}", post_type="village_assistant")
        rep.open_case(person.posts[0], "manual", EVIDENCE, actor=world.a_admin, now=MONDAY)
    db.session.commit()
    db.session.expire_all()
    with count_queries() as many:
        page = client.get("/onboarding/replacements").get_data(as_text=True)
    assert "助理员4" in page
    assert many.count == one.count, "\n".join(many.statements)


def test_a_late_statement_is_refused_with_a_message(client, world):
    case = _open(world, now=utcnow() - timedelta(days=30))
    client.login("13800000001")
    url = f"/onboarding/my/replacements/{case.id}"
    assert "申辩期限已过" in client.get(url).get_data(as_text=True)
    resp = client.post(url, {"statement": "迟到的申辩"}, follow_redirects=True)
    assert "已过" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(ReplacementCase, case.id).statement == ""


def test_person_partial_lists_cases_and_offers_to_open_one(app, world):
    from flask import render_template
    from flask_login import login_user

    case = _open(world)
    rep.withdraw(case, "有误", actor=world.town_a_admin, now=MONDAY)
    db.session.commit()
    with app.test_request_context("/"):
        login_user(world.town_a_admin)
        html = render_template("onboarding/_person_replacements.html",
                               items=rep.for_person(world.person_a.id), person=world.person_a)
    assert f"/onboarding/replacements/{case.id}" in html and "已撤销" in html
    assert f"/onboarding/posts/{world.person_a.posts[0].id}/replacement" in html


def test_withdraw_through_the_page(client, world):
    case = _open(world)
    client.login("town_a_admin")
    url = f"/onboarding/replacements/{case.id}/withdraw"
    resp = client.post(url, {"withdraw-note": ""})
    assert resp.status_code == 200 and "请填写撤销理由" in resp.get_data(as_text=True)
    resp = client.post(url, {"withdraw-note": "启动有误"})
    assert resp.status_code == 302
    db.session.expire_all()
    saved = db.session.get(ReplacementCase, case.id)
    assert saved.status == "withdrawn" and saved.decision_note == "启动有误"
    page = client.get(f"/onboarding/replacements/{case.id}").get_data(as_text=True)
    assert "已撤销" in page and "作出决定" not in page


def test_the_person_sees_an_open_case_on_their_home_page(client, world):
    case = _open(world)
    db.session.commit()
    client.login("13800000001")
    page = client.get("/").get_data(as_text=True)
    assert "您有一项撤换事项" in page
    assert f"/onboarding/my/replacements/{case.id}" in page
