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
