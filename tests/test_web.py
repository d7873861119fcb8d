"""Cross-cutting web behaviour: security headers, error pages, language, privacy, redirects."""

from __future__ import annotations

import re

from lms.auth.access import public, rule_of


def _get_routes(app):
    for rule in app.url_map.iter_rules():
        access = rule_of(app.view_functions.get(rule.endpoint)) if rule.endpoint != "static" else None
        if "GET" in rule.methods and access is not None and not access.loads:
            yield rule.rule


def test_security_headers_and_no_store_on_every_authenticated_page(app, client, world):
    client.login("city_admin")
    for url in _get_routes(app):
        resp = client.get(url)
        h = resp.headers
        assert "script-src 'self'" in h["Content-Security-Policy"], url
        assert h["X-Content-Type-Options"] == "nosniff", url
        assert h["Referrer-Policy"] == "same-origin", url
        assert h["Cache-Control"] == "no-store", url


def test_pages_reference_no_other_host(app, client, world):
    client.login("city_admin")
    for url in _get_routes(app):
        resp = client.get(url)
        if not resp.mimetype.startswith("text/"):
            continue
        html = resp.get_data(as_text=True)
        assert not re.search(r"""(src|href)=["'](https?:)?//""", html), url


def test_404_page_is_friendly_with_request_id(client, world):
    client.login("a_admin")
    resp = client.get("/org/units/999999")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 404
    assert "页面不存在" in html and "请求编号" in html
    assert resp.headers["X-Request-Id"] in html


def test_500_page_shows_only_request_id(app, client):
    def boom():
        raise RuntimeError("secret internals")

    app.add_url_rule("/boom", "boom", public(boom))
    resp = client.get("/boom")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 500
    assert "secret internals" not in html and "Traceback" not in html
    assert "请求编号" in html


def test_language_switch_to_english_and_back(client):
    resp = client.post("/language", {"lang": "en", "next": "/auth/login"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/auth/login")
    html = client.get("/auth/login").get_data(as_text=True)
    assert 'lang="en"' in html and "Log in" in html
    client.post("/language", {"lang": "zh_CN"})
    assert "登录" in client.get("/auth/login").get_data(as_text=True)


def test_language_switch_refuses_offsite_next(client):
    for target in ("https://evil.example/", "//evil.example/", "/\\evil", "javascript:alert(1)"):
        resp = client.post("/language", {"lang": "en", "next": target})
        assert resp.headers["Location"].endswith("/") and "evil" not in resp.headers["Location"]


def test_login_next_parameter_is_local_only(client, world):
    resp = client.post("/auth/login?next=//evil.example/x",
                       {"login": "a_admin", "password": "Test-pass-2026"})
    assert "evil" not in resp.headers["Location"]


def test_privacy_notice_is_public(client):
    html = client.get("/privacy").get_data(as_text=True)
    assert "个人信息保护说明" in html and "身份证" in html


def test_healthz(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_trainee_home_shows_own_post(client, world):
    client.login("13800000001")
    html = client.get("/").get_data(as_text=True)
    assert "我的岗位" in html and "金雀山社区居委会" in html


def test_trainee_cannot_open_staff_pages(client, world):
    client.login("13800000001")
    for url in ("/org/", "/org/people", "/org/quota", "/admin/accounts", "/admin/audit"):
        assert client.get(url).status_code == 403, url
