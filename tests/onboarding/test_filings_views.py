"""Filing pages for both sides, and the acceptance path through the routes: a new village
assistant goes through the gate, is set in post, the filing is created and answered."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from flask import render_template
from sqlalchemy import select

from lms.db import utcnow
from lms.extensions import db
from lms.onboarding import filings
from lms.onboarding.models import Filing
from lms.onboarding.rules import FILING_DAYS, add_working_days
from lms.org.models import Post, PostStatus
from lms.training.completion import complete, local_date
from lms.training.models import Enrollment
from tests.factories import make_unit
from tests.onboarding.factories import nominee, onboarding_program
from tests.querycount import count_queries

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


def _text(resp) -> str:  # noqa: ANN001
    return resp.get_data(as_text=True)


def _filing(unit, name: str, *, due_on: date | None = None, status: str = "submitted") -> Filing:  # noqa: ANN001
    """A filing on a new assistant post in *unit* (a village), made by the service."""
    _person, post = nominee(unit, name, "village_assistant")
    filing = filings.submit(post, actor=None, now=NOW)
    filing.status = status
    if due_on is not None:
        filing.due_on = due_on
    db.session.flush()
    return filing


def _detail(filing: Filing) -> str:
    return f"/onboarding/filings/{filing.id}"


# ---------------------------------------------------------------- acceptance


def test_assistant_nominated_onboarded_in_post_filed_and_answered(client, world):
    onboarding_program(world.town_a, "village_assistant")
    person, post = nominee(world.village_a, "赵六", "village_assistant")
    person.education = "大专"
    db.session.commit()
    post_id, person_id = post.id, person.id
    status_url = f"/org/posts/{post_id}/status"

    client.login("town_a_admin")
    assert client.post(status_url, {"status": "pending_onboarding"}).status_code == 302
    assert db.session.get(Post, post_id).status == "pending_onboarding"
    refused = client.post(status_url, {"status": "in_post"})
    assert refused.status_code == 200 and "岗前培训" in _text(refused)
    assert db.session.scalar(select(Filing.id)) is None

    enrollment = db.session.scalar(select(Enrollment).where(Enrollment.person_id == person_id))
    complete(enrollment, actor=world.town_a_admin, now=utcnow())
    db.session.commit()
    assert db.session.get(Post, post_id).status == "onboarded"

    assert client.post(status_url, {"status": "in_post"}).status_code == 302
    filing = db.session.scalar(select(Filing).where(Filing.post_id == post_id))
    assert filing is not None and filing.status == "submitted"
    assert filing.county_unit_id == world.county_a.id
    assert filing.due_on == add_working_days(local_date(filing.submitted_at), FILING_DAYS)
    assert filing.details["certificate_no"] and filing.details["education"] == "大专"
    filing_id = filing.id
    url = _detail(filing)

    # the township sees it but cannot answer for the county
    page = client.get(url)
    assert page.status_code == 200 and "赵六" in _text(page)
    assert f'{url}/acknowledge"' not in _text(page)
    refused = client.post(f"{url}/acknowledge", {"note": ""})
    assert refused.status_code == 200 and "没有在该单位执行此操作的权限" in _text(refused)
    assert db.session.get(Filing, filing_id).status == "submitted"
    client.logout()

    # another county does not even see it
    client.login("b_admin")
    assert client.get(url).status_code == 404
    assert client.post(f"{url}/acknowledge", {"note": ""}).status_code == 404
    assert client.post(f"{url}/return", {"reasons": "x"}).status_code == 404
    assert "赵六" not in _text(client.get("/onboarding/filings"))
    client.logout()

    # county A returns it for correction (reasons required)
    client.login("a_admin")
    listing = _text(client.get("/onboarding/filings?status=submitted"))
    assert "赵六" in listing and url in listing
    page = _text(client.get(url))
    assert f'{url}/acknowledge"' in page and f'{url}/return"' in page
    assert f'{url}/resubmit"' not in page
    empty = client.post(f"{url}/return", {"reasons": "  "})
    assert empty.status_code == 200 and "须写明需要更正的内容" in _text(empty)
    assert db.session.get(Filing, filing_id).status == "submitted"
    assert client.post(f"{url}/return", {"reasons": "学历与档案不符"}).status_code == 302
    assert db.session.get(Filing, filing_id).status == "returned"
    assert db.session.get(Post, post_id).status == "in_post"  # registration, not approval
    client.logout()

    # the township finds it among the returned ones and resubmits
    client.login("town_a_admin")
    returned = _text(client.get("/onboarding/filings?status=returned"))
    assert "赵六" in returned
    page = _text(client.get(url))
    assert "学历与档案不符" in page and f'{url}/resubmit"' in page
    db.session.get(Post, post_id).person.education = "本科"
    db.session.commit()
    assert client.post(f"{url}/resubmit", {"note": "已更正"}).status_code == 302
    filing = db.session.get(Filing, filing_id)
    assert filing.status == "submitted" and filing.details["education"] == "本科"
    client.logout()

    # overdue filings are listed for both sides
    filing.due_on = local_date(utcnow()) - timedelta(days=1)
    db.session.commit()
    for who in ("a_admin", "town_a_admin"):
        client.login(who)
        assert "赵六" in _text(client.get("/onboarding/filings?status=overdue"))
        client.logout()

    # county A acknowledges
    client.login("a_admin")
    assert client.post(f"{url}/acknowledge", {"note": "已登记"}).status_code == 302
    assert db.session.get(Filing, filing_id).status == "acknowledged"
    assert f'href="{url}"' not in _text(client.get("/onboarding/filings?status=overdue"))
    history = _text(client.get(url))
    for word in ("提交助理员备案", "退回备案", "重新提交备案", "备案已接收"):
        assert word in history
    assert db.session.get(Post, post_id).status == PostStatus.IN_POST.value


# ---------------------------------------------------------------- the list


def test_list_filters_and_scope(client, world):
    _filing(world.village_a, "甲", due_on=date(2026, 1, 5))
    _filing(world.village_a, "乙", due_on=date(2099, 1, 5))
    _filing(world.village_a, "丙", status="returned")
    _filing(world.village_a, "丁", status="acknowledged")
    _filing(world.village_b, "戊")
    db.session.commit()
    client.login("a_admin")

    def names(query: str = "") -> set[str]:
        html = _text(client.get("/onboarding/filings" + query))
        return {n for n in "甲乙丙丁戊" if f">{n}<" in html}

    assert names() == set("甲乙丙丁")
    assert names("?status=overdue") == {"甲"}
    assert names("?status=submitted") == {"甲", "乙"}
    assert names("?status=returned") == {"丙"}
    assert names("?status=acknowledged") == {"丁"}
    assert names("?q=丙") == {"丙"}
    bogus = client.get("/onboarding/filings?status=bogus&page=abc")
    assert bogus.status_code == 200 and "请从列表中选择状态" in _text(bogus)
    assert client.get("/onboarding/filings?q=" + "长" * 60).status_code == 200
    client.logout()

    client.login("b_admin")
    assert names() == {"戊"}
    client.logout()
    client.login("town_a_admin")
    assert names() == set("甲乙丙丁")
    client.logout()
    client.login("sysadmin")  # manages people everywhere
    assert names() == set("甲乙丙丁戊")


def test_list_counts_and_empty_state(client, world):
    client.login("a_admin")
    assert "还没有备案" in _text(client.get("/onboarding/filings"))
    _filing(world.village_a, "甲", due_on=date(2026, 1, 5))
    _filing(world.village_a, "乙", status="returned")
    db.session.commit()
    html = _text(client.get("/onboarding/filings"))
    assert "已逾期 1" in html and "已退回 1" in html and "待县级接收 1" in html


def test_users_without_either_side_are_refused(client, world):
    filing = _filing(world.village_a, "甲")
    db.session.commit()
    client.login("security")  # sees people, neither reviews nor manages them
    assert client.get("/onboarding/filings").status_code == 403
    assert client.get(_detail(filing)).status_code == 404


def test_list_queries_do_not_grow_with_rows(client, world):
    _filing(world.village_a, "甲")
    db.session.commit()
    client.login("a_admin")
    client.get("/onboarding/filings")
    with count_queries() as one:
        assert client.get("/onboarding/filings").status_code == 200
    town = make_unit("371302002", "银雀山街道", "township", world.county_a)
    for i in range(4):
        village = make_unit(f"37130200200{i}", f"第{i}村委会", "village", town)
        _filing(village, f"人{i}", due_on=date(2026, 1, 5))
    _filing(world.village_a, "乙", status="returned")
    db.session.commit()
    client.get("/onboarding/filings")
    with count_queries() as many:
        html = _text(client.get("/onboarding/filings"))
    assert "人3" in html and "银雀山街道" in html
    assert many.count == one.count, "\n\n".join(s[:300] for s in many.statements)


# ---------------------------------------------------------------- one filing


def test_detail_shows_snapshot_and_actions(client, world):
    filing = _filing(world.village_a, "甲")
    filing.details = {**filing.details, "id_masked": "371302********123X"}
    db.session.commit()
    client.login("a_hr")
    html = _text(client.get(_detail(filing)))
    assert "371302********123X" in html and world.village_a.code in html
    assert f'{_detail(filing)}/acknowledge"' in html
    client.logout()
    client.login("town_a_admin")
    html = _text(client.get(_detail(filing)))
    assert "371302********123X" in html
    assert f'{_detail(filing)}/acknowledge"' not in html
    assert f'{_detail(filing)}/return"' not in html


def test_detail_copes_with_an_empty_snapshot(client, world):
    filing = _filing(world.village_a, "甲")
    filing.details = {}
    db.session.commit()
    client.login("a_admin")
    assert client.get(_detail(filing)).status_code == 200


@pytest.mark.parametrize(("action", "data", "message"), [
    ("return", {"reasons": "长" * 501}, "不能超过500个字"),
    ("acknowledge", {"note": "长" * 501}, "不能超过500个字"),
    ("return", {"reasons": "a\x07b"}, "控制字符"),
])
def test_bad_input_changes_nothing(client, world, action, data, message):
    filing = _filing(world.village_a, "甲")
    db.session.commit()
    client.login("a_admin")
    resp = client.post(f"{_detail(filing)}/{action}", data)
    assert resp.status_code == 200 and message in _text(resp)
    assert db.session.get(Filing, filing.id).status == "submitted"


def test_stale_actions_are_refused_with_a_message(client, world):
    filing = _filing(world.village_a, "甲", status="acknowledged")
    db.session.commit()
    client.login("a_admin")
    resp = client.post(f"{_detail(filing)}/return", {"reasons": "再看看"})
    assert resp.status_code == 200 and "只有待接收的备案" in _text(resp)
    resp = client.post(f"{_detail(filing)}/resubmit", {"note": ""})
    assert resp.status_code == 200 and "只有被退回的备案" in _text(resp)
    assert db.session.get(Filing, filing.id).status == "acknowledged"


def test_person_partial(app, world):
    filing = _filing(world.village_a, "甲", due_on=date(2026, 1, 5))
    db.session.commit()
    person = db.session.get(Post, filing.post_id).person
    with app.test_request_context():
        html = render_template("onboarding/_person_filings.html",
                               items=filings.for_person(person.id), person=person)
        empty = render_template("onboarding/_person_filings.html", items=[], person=person)
    assert _detail(filing) in html and "已逾期" in html and "待县级接收" in html
    assert "没有助理员备案" in empty
