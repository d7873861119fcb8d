"""First-contact behaviour: the home page is Chinese, login works, pages need login."""

from __future__ import annotations


def test_anonymous_home_redirects_to_login(client):
    resp = client.get("/")
    assert resp.status_code == 302
    assert "/auth/login" in resp.headers["Location"]


def test_login_page_is_chinese(client):
    html = client.get("/auth/login").get_data(as_text=True)
    assert "登录" in html and 'lang="zh-CN"' in html


def test_login_and_home(client, world):
    resp = client.login("a_admin")
    assert resp.status_code == 302
    html = client.get("/").get_data(as_text=True)
    assert "兰山区" in html


def test_wrong_password_is_generic(client, world):
    html = client.login("a_admin", "nope").get_data(as_text=True)
    html2 = client.login("nobody", "nope").get_data(as_text=True)
    assert "用户名或密码错误" in html and "用户名或密码错误" in html2
