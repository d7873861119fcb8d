"""Director consultations through the pages, and the acceptance test of issue 5:
"Director: the move to pending_onboarding is refused without a consultation, accepted after
concurrence; an objection keeps it blocked"."""

from __future__ import annotations

from datetime import date

import pytest
from flask import render_template
from flask_login import login_user
from sqlalchemy import select

from lms.extensions import db
from lms.onboarding import consultations as svc
from lms.onboarding.models import Consultation, OnboardingRecord
from lms.org.models import Post
from lms.training.models import Enrollment
from tests.onboarding.factories import nominee, onboarding_program
from tests.querycount import count_queries


@pytest.fixture
def director(world):
    onboarding_program(world.city, "office_director")
    _person, post = nominee(world.town_a, "赵主任", "office_director")
    db.session.commit()
    return post


def _status(post_id):
    db.session.expire_all()
    return db.session.get(Post, post_id).status


def _consultation(post_id):
    db.session.expire_all()
    return db.session.scalar(select(Consultation).where(Consultation.post_id == post_id)
                             .order_by(Consultation.id.desc()).limit(1))


def _move(client, post_id):
    return client.post(f"/org/posts/{post_id}/status", {"status": "pending_onboarding"})


def _open(client, post_id, reason="党委会研究推荐，任民政办副主任三年"):
    return client.post(f"/onboarding/posts/{post_id}/consultation", {"reason": reason})


def _reply(client, c_id, decision, text=""):
    return client.post(f"/onboarding/consultations/{c_id}/reply",
                       {"decision": decision, "text": text})


# ---------------------------------------------------------------- acceptance


def test_director_needs_a_concurred_consultation_before_onboarding(client, world, director):
    post_id = director.id
    client.login("town_a_admin")
    resp = _move(client, post_id)
    assert resp.status_code == 200
    assert "须先征求县级民政部门意见" in resp.get_data(as_text=True)
    assert _status(post_id) == "nominated"

    resp = _open(client, post_id)
    assert resp.status_code == 302
    c = _consultation(post_id)
    assert (c.status, c.county_unit_id) == ("submitted", world.county_a.id)
    resp = _move(client, post_id)
    assert "尚未得到县级民政部门同意" in resp.get_data(as_text=True)
    assert _status(post_id) == "nominated"

    client.logout()
    client.login("a_admin")
    assert _reply(client, c.id, "concur", "同意").status_code == 302
    assert _consultation(post_id).status == "concurred"

    client.logout()
    client.login("town_a_admin")
    resp = _move(client, post_id)
    assert resp.status_code == 302
    assert _status(post_id) == "pending_onboarding"
    record = db.session.scalar(select(OnboardingRecord).where(OnboardingRecord.post_id == post_id))
    assert record is not None and record.program_id is not None
    assert db.session.scalar(select(Enrollment).where(
        Enrollment.person_id == director.person_id)) is not None


def test_an_objection_keeps_the_director_blocked(client, world, director):
    post_id = director.id
    client.login("town_a_admin")
    _open(client, post_id)
    c = _consultation(post_id)
    client.logout()
    client.login("a_admin")
    assert _reply(client, c.id, "object", "未参加过民政业务培训").status_code == 302
    assert _consultation(post_id).status == "objected"
    client.logout()
    client.login("town_a_admin")
    resp = _move(client, post_id)
    assert "县级民政部门不同意该人选：未参加过民政业务培训" in resp.get_data(as_text=True)
    assert _status(post_id) == "nominated"
    # the detail page offers a new consultation, not the move
    page = client.get(f"/onboarding/consultations/{c.id}").get_data(as_text=True)
    assert "重新征求意见" in page and "进入岗前培训" not in page


# ---------------------------------------------------------------- who may do what


def test_a_township_admin_cannot_concur(client, world, director):
    c = svc.open_consultation(director, "推荐", actor=world.town_a_admin, now=_now())
    db.session.commit()
    client.login("town_a_admin")
    page = client.get(f"/onboarding/consultations/{c.id}")
    assert page.status_code == 200
    assert 'value="concur"' not in page.get_data(as_text=True)
    assert _reply(client, c.id, "concur").status_code == 403
    assert _consultation(director.id).status == "submitted"


def test_county_b_cannot_see_or_answer_county_a(client, world, director):
    c = svc.open_consultation(director, "推荐", actor=world.town_a_admin, now=_now())
    db.session.commit()
    client.login("b_admin")
    assert client.get(f"/onboarding/consultations/{c.id}").status_code == 404
    assert _reply(client, c.id, "concur").status_code == 404
    assert client.post(f"/onboarding/consultations/{c.id}/withdraw").status_code == 404
    assert client.get(f"/onboarding/posts/{director.id}/consultation").status_code == 404
    assert "赵主任" not in client.get("/onboarding/consultations").get_data(as_text=True)
    assert _consultation(director.id).status == "submitted"


def test_an_objection_without_reasons_is_refused(client, world, director):
    c = svc.open_consultation(director, "推荐", actor=world.town_a_admin, now=_now())
    db.session.commit()
    client.login("a_admin")
    resp = _reply(client, c.id, "object", "   ")
    assert resp.status_code == 200
    assert "不同意时必须写明理由" in resp.get_data(as_text=True)
    assert _consultation(director.id).status == "submitted"
    resp = _reply(client, c.id, "approve_everything", "x")
    assert resp.status_code == 200 and "请选择答复意见" in resp.get_data(as_text=True)
    assert _consultation(director.id).status == "submitted"


def test_forged_fields_are_ignored_when_opening(client, world, director):
    other, _post = nominee(world.town_b, "孙某", "office_director")
    db.session.commit()
    client.login("town_a_admin")
    resp = client.post(f"/onboarding/posts/{director.id}/consultation", {
        "reason": "推荐", "status": "concurred", "county_unit_id": world.county_b.id,
        "person_id": other.id, "org_unit_id": world.town_b.id, "due_on": "2020-01-01"})
    assert resp.status_code == 302
    c = _consultation(director.id)
    assert (c.status, c.county_unit_id, c.person_id, c.org_unit_id) == (
        "submitted", world.county_a.id, director.person_id, world.town_a.id)
    assert c.due_on > date(2026, 1, 1)


def test_forged_fields_are_ignored_when_replying(client, world, director):
    c = svc.open_consultation(director, "推荐", actor=world.town_a_admin, now=_now())
    db.session.commit()
    client.login("a_admin")
    resp = client.post(f"/onboarding/consultations/{c.id}/reply", {
        "decision": "request_info", "text": "请补充", "status": "concurred",
        "due_on": "2099-01-01"})
    assert resp.status_code == 302
    got = _consultation(director.id)
    assert got.status == "info_requested" and got.due_on < date(2099, 1, 1)


def test_supplement_and_withdraw_through_the_pages(client, world, director):
    c = svc.open_consultation(director, "推荐", actor=world.town_a_admin, now=_now())
    svc.request_info(c, "请补充任职经历", actor=world.a_admin, now=_now())
    db.session.commit()
    client.login("town_a_admin")
    page = client.get(f"/onboarding/consultations/{c.id}").get_data(as_text=True)
    assert "请补充任职经历" in page and "提交补充材料" in page
    resp = client.post(f"/onboarding/consultations/{c.id}/supplement", {"supplement": ""})
    assert resp.status_code == 200 and "请填写补充的材料" in resp.get_data(as_text=True)
    resp = client.post(f"/onboarding/consultations/{c.id}/supplement",
                       {"supplement": "2019年起任副主任"})
    assert resp.status_code == 302
    got = _consultation(director.id)
    assert (got.status, got.supplement) == ("submitted", "2019年起任副主任")
    page = client.get(f"/onboarding/consultations/{c.id}").get_data(as_text=True)
    assert "补充材料" in page and "2019年起任副主任" in page  # the history shows it
    assert client.post(f"/onboarding/consultations/{c.id}/withdraw").status_code == 302
    assert _consultation(director.id).status == "withdrawn"
    # the county cannot answer a withdrawn consultation
    client.logout()
    client.login("a_admin")
    resp = _reply(client, c.id, "concur")
    assert _consultation(director.id).status == "withdrawn"
    assert resp.status_code == 302
    page = client.get(f"/onboarding/consultations/{c.id}").get_data(as_text=True)
    assert "不能再作此答复" in page and 'value="concur"' not in page


def test_the_open_form_explains_when_no_consultation_is_possible(client, world, director):
    client.login("town_a_admin")
    page = client.get(f"/onboarding/posts/{world.person_a.posts[0].id}/consultation")
    assert page.status_code == 200
    assert "只有乡镇民政办主任岗位" in page.get_data(as_text=True)
    resp = client.post(f"/onboarding/posts/{world.person_a.posts[0].id}/consultation",
                       {"reason": "x"})
    assert resp.status_code == 200
    assert db.session.scalar(select(Consultation)) is None
    resp = _open(client, director.id, reason="")
    assert "请写明提名理由" in resp.get_data(as_text=True)
    assert db.session.scalar(select(Consultation)) is None


def test_detail_shows_the_candidate_profile(client, world, director):
    person = director.person
    person.education = "大学本科"
    c = svc.open_consultation(director, "推荐理由文字", actor=world.town_a_admin, now=_now())
    db.session.commit()
    client.login("a_hr")
    page = client.get(f"/onboarding/consultations/{c.id}").get_data(as_text=True)
    for text in ("赵主任", "大学本科", "1985", "推荐理由文字", "社会工作职业资格", "培训档案",
                 'value="concur"', 'value="request_info"', "提交主任人选征求意见"):
        assert text in page, text


# ---------------------------------------------------------------- the list


def test_list_scopes_filters_and_flags_overdue(client, world, director):
    from datetime import UTC, datetime

    old = svc.open_consultation(director, "推荐", actor=world.town_a_admin,
                                now=datetime(2025, 1, 6, 2, tzinfo=UTC))
    _p, fresh_post = nominee(world.town_a, "周某", "office_director")
    svc.open_consultation(fresh_post, "推荐", actor=world.town_a_admin, now=_now())
    _p, b_post = nominee(world.town_b, "吴某", "office_director")
    svc.open_consultation(b_post, "推荐", actor=world.b_admin, now=_now())
    db.session.commit()

    client.login("city_admin")
    page = client.get("/onboarding/consultations").get_data(as_text=True)
    assert all(n in page for n in ("赵主任", "周某", "吴某"))
    assert page.count("status-overdue") == 1
    page = client.get("/onboarding/consultations?overdue=y").get_data(as_text=True)
    assert "赵主任" in page and "周某" not in page and "吴某" not in page
    client.logout()

    client.login("a_admin")
    page = client.get("/onboarding/consultations").get_data(as_text=True)
    assert "赵主任" in page and "周某" in page and "吴某" not in page
    svc.concur(db.session.get(Consultation, old.id), "", actor=world.a_admin, now=_now())
    db.session.commit()
    page = client.get("/onboarding/consultations?status=concurred").get_data(as_text=True)
    assert "赵主任" in page and "周某" not in page
    page = client.get("/onboarding/consultations?status=open").get_data(as_text=True)
    assert "赵主任" not in page and "周某" in page
    assert client.get("/onboarding/consultations?status=bogus&page=x").status_code == 200
    client.logout()

    client.login("town_a_admin")
    page = client.get("/onboarding/consultations").get_data(as_text=True)
    assert "周某" in page and "吴某" not in page
    client.logout()
    client.login("13800000001")  # a trainee has neither permission
    assert client.get("/onboarding/consultations").status_code == 403


def test_list_queries_do_not_grow_with_rows(client, world, director):
    svc.open_consultation(director, "推荐", actor=world.town_a_admin, now=_now())
    db.session.commit()
    client.login("a_admin")
    db.session.expire_all()
    with count_queries() as one:
        assert client.get("/onboarding/consultations").status_code == 200
    for i in range(5):
        _p, post = nominee(world.town_a, f"人选{i}", "office_director")
        svc.open_consultation(post, "推荐", actor=world.town_a_admin, now=_now())
    db.session.commit()
    db.session.expire_all()
    with count_queries() as many:
        page = client.get("/onboarding/consultations")
    assert page.get_data(as_text=True).count("人选") >= 5
    assert many.count == one.count


# ---------------------------------------------------------------- the person page partial


def test_person_partial_lists_and_offers_to_open(app, world, director):
    from lms.auth.models import User

    user = db.session.get(User, world.town_a_admin.id)
    with app.test_request_context("/"):
        login_user(user)
        html = render_template("onboarding/_person_consultations.html",
                               items=svc.for_person(director.person_id), person=director.person)
        assert "征求县级意见" in html
        c = svc.open_consultation(director, "推荐", actor=user, now=_now())
        db.session.flush()
        html = render_template("onboarding/_person_consultations.html",
                               items=svc.for_person(director.person_id), person=director.person)
        assert f"/onboarding/consultations/{c.id}" in html
        assert "征求县级意见（" not in html


def _now():
    from lms.db import utcnow

    return utcnow()
