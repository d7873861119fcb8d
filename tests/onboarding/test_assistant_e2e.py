"""End to end: a new village assistant is nominated, takes the township onboarding program,
fails the exam once, passes the retake, is set in post, the filing is created and the county
acknowledges it (issue 5 acceptance)."""

from __future__ import annotations

import json

from sqlalchemy import select

from lms.exams.models import Attempt
from lms.extensions import db
from lms.onboarding.models import Filing
from lms.org.models import Post
from lms.training.models import Completion, Enrollment
from tests.exams.factories import make_bank, make_exam, make_question
from tests.factories import make_user
from tests.onboarding.factories import nominee, onboarding_program

VA = "village_assistant"


def _json_post(client, url: str, body):
    client._fresh_g()
    return client.http.post(url, data=json.dumps(body), content_type="application/json",
                            headers={"X-CSRFToken": client.csrf()})


def _sit(client, exam, answer: bool) -> Attempt:
    assert client.post(f"/exams/{exam.id}/start", {}).status_code == 302
    attempt = db.session.scalar(select(Attempt).where(Attempt.state == "in_progress")
                                .execution_options(populate_existing=True))
    answers = [{"position": p, "seq": p, "response": answer} for p in (1, 2)]
    assert _json_post(client, f"/exams/attempts/{attempt.id}/save",
                      {"answers": answers}).status_code == 200
    assert _json_post(client, f"/exams/attempts/{attempt.id}/submit", {}).status_code == 200
    db.session.expire_all()
    return db.session.get(Attempt, attempt.id)


def _status(post_id: int) -> str:
    db.session.expire_all()
    return db.session.get(Post, post_id).status


def test_new_assistant_fails_once_passes_the_retake_is_posted_and_filed(client, world):
    program = onboarding_program(world.town_a, VA, requires_exam=True, title="村级助理员岗前培训")
    bank = make_bank(world.town_a)
    exam = make_exam(world.town_a, [make_question(bank, type="true_false") for _ in range(2)],
                     title="助理员岗前考试", attempts_allowed=2, program_id=program.id)
    person, post = nominee(world.village_a, "孙新", VA)
    make_user("13900000009", world.village_a, person=person, phone="13900000009")
    db.session.commit()
    post_id = post.id

    # the township moves the nomination into onboarding: the township's program is assigned
    client.login("town_a_admin")
    page = client.post(f"/org/posts/{post_id}/status", {"status": "in_post"})
    assert "只有通过岗前培训的人员才能上岗" in page.get_data(as_text=True)
    assert client.post(f"/org/posts/{post_id}/status",
                       {"status": "pending_onboarding"}).status_code == 302
    assert _status(post_id) == "pending_onboarding"
    assert db.session.scalar(select(Enrollment.status).where(
        Enrollment.program_id == program.id, Enrollment.person_id == person.id)) == "enrolled"
    client.logout()

    # the assistant fails the exam once: still pending, one attempt left
    client.login("13900000009")
    first = _sit(client, exam, False)
    assert first.passed is False
    assert _status(post_id) == "pending_onboarding"
    client.logout()
    client.login("town_a_admin")
    gate = client.get(f"/onboarding/posts/{post_id}").get_data(as_text=True)
    assert "结业考试未通过" in gate and "剩余考试机会 1 次" in gate
    client.logout()

    # passes the retake: the system completes the program and onboards the post
    client.login("13900000009")
    second = _sit(client, exam, True)
    assert second.passed is True and second.number == 2
    client.logout()
    assert _status(post_id) == "onboarded"
    completion = db.session.scalar(select(Completion).where(Completion.person_id == person.id))
    assert completion.program_id == program.id and completion.serial_no

    # the township sets the assistant in post: the filing to the county is created
    client.login("town_a_admin")
    assert client.post(f"/org/posts/{post_id}/status", {"status": "in_post"}).status_code == 302
    assert _status(post_id) == "in_post"
    filing = db.session.scalar(select(Filing).where(Filing.post_id == post_id))
    assert filing is not None and filing.status == "submitted"
    assert filing.county_unit_id == world.county_a.id
    assert filing.details.get("certificate_no") == completion.serial_no
    client.logout()

    # the county acknowledges the filing (registration, not approval)
    client.login("a_admin")
    assert client.post(f"/onboarding/filings/{filing.id}/acknowledge", {}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Filing, filing.id).status == "acknowledged"
    assert _status(post_id) == "in_post"



def test_after_the_last_failed_retake_the_course_is_repeated(client, world):
    program = onboarding_program(world.town_a, VA, requires_exam=True)
    bank = make_bank(world.town_a)
    exam = make_exam(world.town_a, [make_question(bank, type="true_false") for _ in range(2)],
                     attempts_allowed=1, program_id=program.id)
    person, post = nominee(world.village_a, "周重修", VA)
    make_user("13900000008", world.village_a, person=person, phone="13900000008")
    db.session.commit()
    client.login("town_a_admin")
    client.post(f"/org/posts/{post.id}/status", {"status": "pending_onboarding"})
    client.logout()
    client.login("13900000008")
    assert _sit(client, exam, False).passed is False
    assert client.post(f"/exams/{exam.id}/start", {}).status_code == 302  # refused, back to intro
    assert db.session.scalar(select(db.func.count(Attempt.id))) == 1
    client.logout()
    client.login("town_a_admin")
    gate = client.get(f"/onboarding/posts/{post.id}").get_data(as_text=True)
    assert "须重修课程" in gate and "安排重修" in gate
    assert client.post(f"/onboarding/posts/{post.id}/repeat", {}).status_code == 302
    client.logout()
    client.login("13900000008")
    assert _sit(client, exam, True).passed is True
    assert _status(post.id) == "onboarded"
