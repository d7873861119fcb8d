"""People and post services: validation, acting flag, transfers, qualifications, audit."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from lms.audit import AuditEntry, verify_chain
from lms.db import utcnow
from lms.errors import InvalidState, NotAllowed, ValidationFailed
from lms.extensions import db
from lms.org import services
from lms.org.models import PostStatus, PostType, QualificationLevel
from tests.factories import make_person, make_unit


def actions() -> list[str]:
    return list(db.session.execute(select(AuditEntry.action).order_by(AuditEntry.id)).scalars())


@pytest.mark.parametrize(("data", "field"), [
    ({"name": ""}, "name"), ({"name": "   "}, "name"), ({"name": "名" * 51}, "name"),
    ({"name": "李\x00四"}, "name"), ({"name": "李\u2028四\ud800"}, "name"),
    ({"name": "李四", "phone": "1" * 21}, "phone"), ({"name": "李四", "education": "x" * 31},
                                                    "education"),
    ({"name": "李四", "note": "x\x1b"}, "note"), ({"name": "李四", "gender": "other"}, "gender"),
    ({"name": "李四", "birth_year": 1899}, "birth_year"),
    ({"name": "李四", "birth_year": 3000}, "birth_year"),
    ({"name": "李四", "id_number": "123"}, "id_number"),
])
def test_create_person_refuses_values_the_columns_cannot_hold(app, world, data, field):
    with pytest.raises(ValidationFailed) as exc:
        services.create_person(world.village_a, data, actor=world.a_admin, now=utcnow())
    assert exc.value.field == field


def test_a_note_may_hold_line_breaks(app, world):
    person = services.create_person(world.village_a, {"name": "周八", "note": "第一行\r\n第二行"},
                                    actor=world.a_admin, now=utcnow())
    assert person.note == "第一行\r\n第二行"


def test_update_person_validates_too(app, world):
    with pytest.raises(ValidationFailed):
        services.update_person(world.person_a, {"name": "x" * 60}, actor=world.a_admin,
                               now=utcnow())


def test_people_services_refuse_an_actor_outside_the_unit(app, world):
    now = utcnow()
    with pytest.raises(NotAllowed):
        services.create_person(world.village_b, {"name": "x"}, actor=world.a_admin, now=now)
    with pytest.raises(NotAllowed):
        services.set_acting(world.person_b.posts[0], True, actor=world.a_admin, now=now)
    with pytest.raises(NotAllowed):
        services.transfer_person(world.person_a, world.village_b, PostType.VILLAGE_ASSISTANT,
                                 actor=world.a_admin, now=now)
    with pytest.raises(NotAllowed):
        services.set_acting(world.person_a.posts[0], True, actor=world.a_hr, now=now)


def test_set_acting_marks_audits_and_is_idempotent(app, world):
    post = world.person_a.posts[0]
    now = utcnow()
    assert services.set_acting(post, True, actor=world.town_a_admin, now=now) is True
    assert services.set_acting(post, True, actor=world.town_a_admin, now=now) is False
    assert post.is_acting
    assert actions().count("post.acting") == 1


def test_set_acting_refuses_a_removed_post(app, world):
    post = world.person_a.posts[0]
    services.change_post_status(post, PostStatus.REMOVED, actor=world.a_admin, now=utcnow(),
                                reason="离职")
    with pytest.raises(InvalidState):
        services.set_acting(post, True, actor=world.a_admin, now=utcnow())


def test_transfer_ends_open_posts_and_opens_a_nominated_one(app, world):
    town2 = make_unit("371302002", "柳青街道", "township", world.county_a)
    person = world.person_a
    services.open_post(person, world.town_a, PostType.TOWNSHIP_STAFF, actor=world.a_admin,
                       now=utcnow())
    post = services.transfer_person(person, town2, PostType.TOWNSHIP_STAFF, actor=world.a_admin,
                                    now=utcnow(), reason="轮岗")
    assert post.status == PostStatus.NOMINATED and post.org_unit_id == town2.id
    assert [p.status for p in person.posts] == ["removed", "removed", "nominated"]
    assert all(p.ended_on == utcnow().date() for p in person.posts[:2])
    assert person.org_unit_id == town2.id
    assert actions()[-1] == "person.transfer"
    assert verify_chain() is None


def test_transfer_checks_the_level_before_ending_anything(app, world):
    with pytest.raises(ValidationFailed, match="乡镇（街道）"):
        services.transfer_person(world.person_a, world.village_a, PostType.OFFICE_DIRECTOR,
                                 actor=world.a_admin, now=utcnow())
    assert world.person_a.posts[0].status == PostStatus.IN_POST


def test_transfer_across_counties_needs_both_in_scope(app, world):
    post = services.transfer_person(world.person_a, world.village_b, PostType.VILLAGE_ASSISTANT,
                                    actor=world.city_admin, now=utcnow())
    assert world.person_a.org_unit_id == post.org_unit_id == world.village_b.id


def test_remove_qualification(app, world):
    now = utcnow()
    q = services.add_qualification(world.person_a, QualificationLevel.JUNIOR, actor=world.a_admin,
                                   now=now, certificate_no="A1", obtained_on=date(2020, 1, 1))
    other = services.add_qualification(world.person_b, QualificationLevel.JUNIOR,
                                       actor=world.city_admin, now=now)
    with pytest.raises(InvalidState):
        services.remove_qualification(world.person_a, other, actor=world.city_admin, now=now)
    services.remove_qualification(world.person_a, q, actor=world.a_admin, now=now)
    assert world.person_a.qualifications == []
    assert actions()[-1] == "person.qualification_remove"


def test_open_post_level_message_names_the_level(app, world):
    with pytest.raises(ValidationFailed, match="村（社区）"):
        services.open_post(world.person_a, world.town_a, PostType.VILLAGE_ASSISTANT,
                           actor=world.a_admin, now=utcnow())


def test_in_post_needs_onboarding(app, world):
    person = make_person(world.village_a, "新人", post_type="village_assistant",
                         status="nominated")
    with pytest.raises(InvalidState, match="岗前培训"):
        services.change_post_status(person.posts[0], PostStatus.IN_POST, actor=world.a_admin,
                                    now=utcnow())
