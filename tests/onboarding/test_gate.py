"""The onboarding gate: every (from, to) post transition for every role, the program assigned
by tier, the equivalent of a transferred person, the refusal that names what is missing, and
the whole path of a new village assistant who fails the exam once and passes the retake."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from lms.audit import AuditEntry
from lms.db import utcnow
from lms.errors import DomainError, NotAllowed
from lms.extensions import db
from lms.onboarding.gate import gate_state, record_for
from lms.org.models import Post, PostStatus
from lms.org.services.posts import TRANSITIONS, change_post_status
from lms.training.completion import complete
from lms.training.models import Completion, Enrollment
from tests.factories import make_user
from tests.onboarding.factories import nominee, onboarding_program

VA = "village_assistant"


def fresh(obj):
    db.session.expire_all()
    return db.session.get(type(obj), obj.id)


def audits(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                   .order_by(AuditEntry.id)))


def _post_in(status: str, world, name: str = "新人") -> Post:
    person, post = nominee(world.village_a, name, VA)
    post.status = status
    db.session.flush()
    return post


def _onboarding_done(post: Post, world) -> None:
    """Give *post* an onboarding record with a completion, as the gate would have."""
    program = onboarding_program(world.town_a, VA, title="岗前培训（已结业）")
    change = PostStatus(post.status)
    post.status = PostStatus.NOMINATED.value
    db.session.flush()
    change_post_status(post, PostStatus.PENDING_ONBOARDING, actor=world.town_a_admin,
                       now=utcnow())
    enrolment = db.session.scalar(select(Enrollment).where(Enrollment.program_id == program.id))
    complete(enrolment, actor=world.town_a_admin, now=utcnow())
    assert fresh(post).status == PostStatus.ONBOARDED.value
    if change != PostStatus.ONBOARDED:
        post.status = change.value
        db.session.flush()


ROLES = ["town_a_admin", "a_admin", "city_admin", "a_hr", "trainer", "b_admin", "trainee"]
#: Who may move posts of village A: PERSON_MANAGE over it (township, county A, city admins).
MANAGERS = {"town_a_admin", "a_admin", "city_admin"}


def _actor(world, role: str):
    if role == "trainer":
        return make_user("town_trainer", world.town_a, [("trainer", world.town_a)])
    return getattr(world, role)


def _prepared(world, old: PostStatus, new: PostStatus) -> Post:
    """A post in *old*, with what the gate needs for the allowed move to *new*."""
    onboarding_program(world.town_a, VA)
    post = _post_in(old.value, world)
    if new in (PostStatus.ONBOARDED, PostStatus.IN_POST) or old in (
            PostStatus.ONBOARDED, PostStatus.IN_POST, PostStatus.SUSPENDED):
        _onboarding_done(post, world)
        post.status = old.value
        db.session.flush()
    return post


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("old", list(PostStatus))
@pytest.mark.parametrize("new", list(PostStatus))
def test_every_transition_for_every_role(world, role, old, new):
    post = _prepared(world, old, new)
    actor = _actor(world, role)
    before = len(audits("post.status"))
    allowed = role in MANAGERS and new in TRANSITIONS[old]
    # (pending → onboarded is allowed here because the post's completion exists; without one
    # it is refused: test_pending_onboarding_without_a_completion_cannot_be_marked_onboarded)
    if allowed:
        change_post_status(post, new, actor=actor, now=utcnow(), reason="测试")
        assert fresh(post).status == new.value
        entry = audits("post.status")[-1]
        assert entry.details["old"] == old.value and entry.details["new"] == new.value
        assert len(audits("post.status")) == before + 1
    else:
        with pytest.raises(DomainError) as refused:
            change_post_status(post, new, actor=actor, now=utcnow(), reason="测试")
        assert str(refused.value)  # a reason, in words
        if role not in MANAGERS:
            assert isinstance(refused.value, NotAllowed)
        assert fresh(post).status == old.value
        assert len(audits("post.status")) == before


def test_pending_onboarding_without_a_completion_cannot_be_marked_onboarded(world):
    onboarding_program(world.town_a, VA, title="村级岗前培训班")
    _person, post = nominee(world.village_a, "新人", VA)
    change_post_status(post, PostStatus.PENDING_ONBOARDING, actor=world.town_a_admin,
                       now=utcnow())
    with pytest.raises(DomainError, match="村级岗前培训班"):
        change_post_status(post, PostStatus.ONBOARDED, actor=world.town_a_admin, now=utcnow())
    with pytest.raises(DomainError, match="只有通过岗前培训的人员才能上岗") as refused:
        change_post_status(post, PostStatus.IN_POST, actor=world.town_a_admin, now=utcnow())
    assert "村级岗前培训班" in str(refused.value)
    assert fresh(post).status == "pending_onboarding"


def test_the_program_is_found_by_tier(world):
    """City for directors, county for township staff, township for village assistants; a
    program of another tier or another subtree is not used."""
    onboarding_program(world.town_b, VA, title="罗庄街道岗前培训")
    onboarding_program(world.county_a, VA, title="县级（不对口）")
    right = onboarding_program(world.town_a, VA, title="兰山街道岗前培训")
    staff_program = onboarding_program(world.county_a, "township_staff", title="县级岗前培训")
    _p, assistant = nominee(world.village_a, "助理员", VA)
    _q, staff = nominee(world.town_a, "工作人员", "township_staff")
    for post in (assistant, staff):
        change_post_status(post, PostStatus.PENDING_ONBOARDING, actor=world.a_admin,
                           now=utcnow())
    assert record_for(assistant).program_id == right.id
    assert record_for(staff).program_id == staff_program.id
    enrolled = set(db.session.scalars(select(Enrollment.program_id)))
    assert enrolled == {right.id, staff_program.id}


def test_a_transferred_persons_valid_completion_is_the_equivalent(world):
    program = onboarding_program(world.town_a, VA)
    person, post = nominee(world.village_a, "调入人员", VA)
    change_post_status(post, PostStatus.PENDING_ONBOARDING, actor=world.town_a_admin,
                       now=utcnow())
    complete(db.session.scalar(select(Enrollment)), actor=world.town_a_admin, now=utcnow())
    change_post_status(post, PostStatus.REMOVED, actor=world.town_a_admin, now=utcnow(),
                       reason="调动")
    again = Post(person_id=person.id, org_unit_id=world.village_a.id, post_type=VA,
                 status="nominated")
    db.session.add(again)
    db.session.flush()
    change_post_status(again, PostStatus.PENDING_ONBOARDING, actor=world.town_a_admin,
                       now=utcnow())
    assert fresh(again).status == "onboarded"
    assert record_for(again).how == "equivalent"
    assert db.session.scalar(select(Completion.program_id)) == program.id


def test_an_expired_completion_is_not_an_equivalent(world):
    onboarding_program(world.town_a, VA)
    person, post = nominee(world.village_a, "老人员", VA)
    change_post_status(post, PostStatus.PENDING_ONBOARDING, actor=world.town_a_admin,
                       now=utcnow())
    complete(db.session.scalar(select(Enrollment)), actor=world.town_a_admin, now=utcnow())
    completion = db.session.scalar(select(Completion))
    completion.valid_until = utcnow().date() - timedelta(days=1)
    other = Post(person_id=person.id, org_unit_id=world.village_a.id, post_type=VA,
                 status="nominated")
    db.session.add(other)
    db.session.flush()
    change_post_status(other, PostStatus.PENDING_ONBOARDING, actor=world.town_a_admin,
                       now=utcnow())
    assert fresh(other).status == "pending_onboarding"


def test_gate_page_names_what_is_missing(client, world):
    onboarding_program(world.town_a, VA, title="兰山街道助理员岗前培训")
    _person, post = nominee(world.village_a, "新人", VA)
    change_post_status(post, PostStatus.PENDING_ONBOARDING, actor=world.town_a_admin,
                       now=utcnow())
    db.session.commit()
    client.login("town_a_admin")
    page = client.get(f"/onboarding/posts/{post.id}").get_data(as_text=True)
    assert "兰山街道助理员岗前培训" in page and "上岗前还需要" in page
    assert gate_state(post, now=utcnow()).missing
    client.logout()
    client.login("b_admin")
    assert client.get(f"/onboarding/posts/{post.id}").status_code == 404


def test_forged_status_post_cannot_put_an_unonboarded_person_in_post(client, world):
    onboarding_program(world.town_a, VA)
    _person, post = nominee(world.village_a, "新人", VA)
    db.session.commit()
    client.login("town_a_admin")
    for data in ({"status": "in_post"}, {"status": "onboarded"},
                 {"status": "in_post", "is_legacy": "1", "legacy": "y"}):
        client.post(f"/org/posts/{post.id}/status", data)
        assert fresh(post).status == "nominated"


def test_completing_another_onboarding_program_of_the_tier_onboards_the_post(world):
    """Assigned this year's program, completed next year's: the post is onboarded and the
    record follows the program actually completed."""
    first = onboarding_program(world.town_a, VA, title="2026年岗前培训")
    _person, post = nominee(world.village_a, "新人", VA)
    change_post_status(post, PostStatus.PENDING_ONBOARDING, actor=world.town_a_admin,
                       now=utcnow())
    assert record_for(post).program_id == first.id
    second = onboarding_program(world.town_a, VA, title="2027年岗前培训")
    from lms.training.enrolment import add_person

    enrolment = add_person(second, post.person, actor=world.town_a_admin, now=utcnow())
    complete(enrolment, actor=world.town_a_admin, now=utcnow())
    assert fresh(post).status == "onboarded"
    assert record_for(post).program_id == second.id


def test_a_removal_just_after_midnight_in_shandong_ends_on_the_local_date(world):
    from datetime import UTC, date, datetime

    post = world.person_a.posts[0]
    change_post_status(post, PostStatus.REMOVED, actor=world.town_a_admin,
                       now=datetime(2026, 5, 31, 16, 30, tzinfo=UTC), reason="辞职")
    assert fresh(post).ended_on == date(2026, 6, 1)
