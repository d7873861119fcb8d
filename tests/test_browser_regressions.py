"""Regression tests (plain HTTP, no browser) for defects the browser journeys found
(tests/browser/)."""

from __future__ import annotations

import re


def test_every_page_names_its_icon_so_browsers_do_not_request_a_missing_favicon(client, world):
    """Chromium fetched /favicon.ico on every page: a 404 (an error in the console and the log)."""
    for login in (None, "city_admin"):
        if login:
            client.login(login)
        html = client.get("/auth/login" if login is None else "/").get_data(as_text=True)
        icon = re.search(r'<link rel="icon" href="([^"]+)"', html)
        assert icon, "no <link rel=icon>"
        resp = client.get(icon.group(1))
        resp.close()
        assert resp.status_code == 200 and resp.mimetype == "image/svg+xml"


def test_the_paper_page_opens_without_a_filter_error(client, world):
    """The question search of a fixed paper said 题型 “请从列表中选择。” before anything was
    searched (the type select had no default, so an empty query string was an invalid choice)."""
    from lms.extensions import db
    from tests.exams.factories import make_bank, make_exam, make_question
    from tests.factories import make_user

    bank = make_bank(world.town_a)
    make_question(bank)
    exam = make_exam(world.town_a, status="draft")
    make_user("town_trainer", world.town_a, [("trainer", world.town_a)])
    db.session.commit()
    client.login("town_trainer")
    for url in (f"/exams/{exam.id}/paper", "/exams/manage"):
        page = client.get(url).get_data(as_text=True)
        assert "请从列表中选择" not in page, url
    assert "把勾选的试题加入试卷" in client.get(f"/exams/{exam.id}/paper").get_data(as_text=True)
