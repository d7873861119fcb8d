"""Password policy (spec decision 15, R02), hashing (R06), one-time passwords, password change."""

from __future__ import annotations

import pytest
from flask import current_app

from lms.auth import passwords
from lms.auth.models import User
from lms.extensions import db

POLICY = [
    # (password, accepted, why)
    ("Test-pass-2026", True, "four classes"),
    ("Hk7#pq2m", True, "exactly 8, four classes"),
    ("hk7#pq2m", True, "three classes: lower, digit, symbol"),
    ("HK7#PQ2M", True, "three classes: upper, digit, symbol"),
    ("Ab1!Ab1!", True, "short repetition is fine"),
    ("Correct horse battery staple", True, "passphrase: upper, lower, space"),
    ("我的密码Ab3!", True, "Chinese characters count toward the length"),
    ("Xy9#" * 16, True, "64 characters"),
    ("Xy9#" * 32, True, "128 characters: no truncation"),
    ("Xy9#" * 32 + "a", False, "129 characters"),
    ("Hk7#pq2", False, "7 characters"),
    ("", False, "empty"),
    ("HK7PQ2MX", False, "two classes"),
    ("correct horse battery staple", False, "two classes"),
    ("P@ssw0rd", False, "common password (case-insensitive)"),
    ("Password1", False, "common password"),
    ("Qwer1234", False, "common password"),
    ("Zz123456#", False, "123456 run"),
    ("Qwerty#99x", False, "keyboard run"),
    ("Aaaaaa1!x", False, "six identical characters"),
    ("Minzheng@2026", False, "context word: minzheng"),
    ("Linyi#2026x", False, "context word: city name"),
    ("民政Aa135!", False, "context word: 民政"),
    ("Shandong#88", False, "context word: province"),
    ("Trainee#9x", False, "contains the username"),
]


@pytest.mark.parametrize(("pw", "accepted", "why"), POLICY, ids=[p[2] for p in POLICY])
def test_password_policy(pw, accepted, why):
    problems = passwords.password_problems(pw, username="trainee")
    assert (problems == []) is accepted, (why, problems)


def test_policy_messages_are_chinese_and_name_the_rule(app):
    with app.test_request_context():
        problems = passwords.password_problems("abc", username="x")
    assert any("至少需要 8 个字符" in p for p in problems)
    assert any("至少三类" in p for p in problems)


@pytest.mark.parametrize("pw", [p for p, ok, _w in POLICY if ok])
def test_accepted_passwords_round_trip_exactly(app, pw):
    ph = passwords.hasher(current_app.config)
    stored = ph.hash(pw)
    assert stored.startswith("$argon2id$")
    assert passwords.verify(ph, stored, pw)
    assert not passwords.verify(ph, stored, pw[:-1])
    assert not passwords.verify(ph, stored, pw + "x")


def test_verify_refuses_a_garbage_hash(app):
    ph = passwords.hasher(current_app.config)
    assert passwords.verify(ph, "not-a-hash", "Test-pass-2026") is False


def test_production_hash_parameters_meet_the_floor():
    from lms.config import DefaultConfig

    assert DefaultConfig.ARGON2_TIME_COST >= 3
    assert DefaultConfig.ARGON2_MEMORY_KIB >= 65536
    assert DefaultConfig.ARGON2_PARALLELISM >= 1


def test_generated_passwords_meet_the_policy_and_avoid_look_alikes():
    seen = set()
    for _i in range(300):
        pw = passwords.generate_password()
        assert passwords.password_problems(pw) == []
        assert not set(pw) & set("0OoIl1")
        seen.add(pw)
    assert len(seen) == 300


def test_stored_hash_is_argon2id_and_never_the_password(client, world):
    from lms.auth import services
    from lms.db import utcnow

    user, otp = services.create_user("new.one", "新人", org_unit=world.town_a,
                                     actor=world.a_admin, now=utcnow())
    db.session.commit()
    stored = db.session.get(User, user.id).password_hash
    assert stored.startswith("$argon2id$") and otp not in stored


# ---------------------------------------------------------------- change password page


def _change(client, current, new, confirm=None):  # noqa: ANN001, ANN202
    return client.post("/auth/password", {"current": current, "new": new,
                                          "confirm": new if confirm is None else confirm})


def test_change_password_wrong_current(client, world):
    client.login("a_hr")
    html = _change(client, "Wrong-pass-1", "Neuer-Weg-77").get_data(as_text=True)
    assert "当前密码不正确" in html


def test_change_password_weak_new(client, world):
    client.login("a_hr")
    resp = _change(client, "Test-pass-2026", "password1")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "太常见" in html


def test_change_password_mismatch(client, world):
    client.login("a_hr")
    html = _change(client, "Test-pass-2026", "Neuer-Weg-77", "Neuer-Weg-78").get_data(as_text=True)
    assert "两次输入的新密码不一致" in html


def test_change_password_same_as_current(client, world):
    client.login("a_hr")
    html = _change(client, "Test-pass-2026", "Test-pass-2026").get_data(as_text=True)
    assert "不能与当前密码相同" in html


def test_change_password_success_is_audited(client, world):
    from sqlalchemy import select

    from lms.audit import AuditEntry

    client.login("a_hr")
    assert _change(client, "Test-pass-2026", "Neuer-Weg-77").status_code == 302
    entry = db.session.execute(select(AuditEntry).where(
        AuditEntry.action == "account.password_change")).scalar_one()
    assert entry.actor_name == "a_hr" and "Neuer-Weg-77" not in entry.data
