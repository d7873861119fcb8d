"""People and posts through the UI: list, filters, export, detail, reveal, forms, posts."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from lms.audit import AuditEntry
from lms.db import utcnow
from lms.extensions import db
from lms.org import services
from lms.org.models import Person, Post, PostType, Qualification, QualificationLevel
from lms.org.rules import id_check_digit
from tests.factories import make_person, make_unit
from tests.onboarding.factories import onboarding_program
from tests.querycount import count_queries


def valid_id(first17: str = "37130219850101123") -> str:
    return first17 + id_check_digit(first17)


def audits(action: str) -> list[AuditEntry]:
    db.session.expire_all()
    return list(db.session.execute(
        select(AuditEntry).where(AuditEntry.action == action)).scalars())


def html_of(resp) -> str:  # noqa: ANN001
    return resp.get_data(as_text=True)


def fresh(obj):  # noqa: ANN001, ANN201
    db.session.expire_all()
    return db.session.get(type(obj), obj.id)


# ---------------------------------------------------------------- list


def test_list_shows_count_markers_and_scope(client, world):
    world.person_a.posts[0].is_acting = True
    db.session.commit()
    client.login("a_admin")
    page = html_of(client.get("/org/people"))
    assert "李四" in page and "王五" not in page
    assert "共 1 条" in page
    assert "代理" in page and "上线前已在岗" in page
    assert "导出 Excel" in page and "新增人员" in page


def test_list_filters_by_name_phone_post_status_and_qualification(client, world):
    other = make_person(world.town_a, "赵六", post_type=PostType.TOWNSHIP_STAFF.value,
                        status="nominated", phone="13900000009")
    db.session.add(Qualification(person_id=other.id, level=QualificationLevel.SENIOR.value))
    db.session.commit()
    client.login("a_admin")

    def names(query: str) -> set[str]:
        page = html_of(client.get("/org/people?" + query))
        return {n for n in ("李四", "赵六") if n in page}

    assert names("q=赵") == {"赵六"}
    assert names("q=1380000") == {"李四"}
    assert names("post_type=township_staff") == {"赵六"}
    assert names("status=in_post") == {"李四"}
    assert names("qualified=yes") == {"赵六"}
    assert names("qualified=no") == {"李四"}
    assert names("qualified=sw_senior") == {"赵六"}
    assert names("qualified=sw_junior") == set()
    assert names(f"unit={world.village_a.id}") == {"李四"}


def test_list_empty_state_says_what_to_do(client, world):
    client.login("a_admin")
    page = html_of(client.get("/org/people?q=没有这个人"))
    assert "共 0 条" in page and "没有符合条件的人员" in page


def test_list_pagination(client, world):
    for i in range(55):
        make_person(world.village_a, f"批量{i:02d}")
    db.session.commit()
    client.login("a_admin")
    first = html_of(client.get("/org/people"))
    assert "共 56 条" in first and "下一页" in first
    second = html_of(client.get("/org/people?page=2"))
    assert "第 2 / 2 页" in second and "上一页" in second


@pytest.mark.parametrize("query", [
    "post_type=boss", "status=hired", "qualified=maybe", "unit=abc", "page=abc", "page=-5",
    "q=" + "张" * 500, "q=%00%01", "unit=" + "9" * 30, "status=", "q=%27%22<script>",
])
def test_bad_filter_values_never_fail(client, world, query):
    client.login("a_admin")
    resp = client.get("/org/people?" + query)
    assert resp.status_code == (400 if "%00" in query else 200)  # NUL: refused up front
    assert "王五" not in html_of(resp)


def test_unknown_filter_value_is_flagged_and_ignored(client, world):
    client.login("a_admin")
    page = html_of(client.get("/org/people?status=hired"))
    assert "请从列表中选择岗位状态" in page and "李四" in page


def _grow(world, n: int) -> None:
    for i in range(n):
        p = make_person(world.village_a, f"人员{i}", post_type=PostType.VILLAGE_ASSISTANT.value)
        db.session.add(Qualification(person_id=p.id, level=QualificationLevel.JUNIOR.value))
    db.session.commit()


def _count(client, url: str) -> int:
    db.session.expire_all()
    with count_queries() as c:
        assert client.get(url).status_code == 200
    return c.count


def test_list_and_export_query_counts_do_not_grow_with_rows(client, world):
    client.login("a_admin")
    small = (_count(client, "/org/people"), _count(client, "/org/people/export.xlsx"))
    _grow(world, 30)
    large = (_count(client, "/org/people"), _count(client, "/org/people/export.xlsx"))
    assert large == small


# ---------------------------------------------------------------- export


def _sheet(resp) -> list[tuple]:  # noqa: ANN001
    wb = load_workbook(io.BytesIO(resp.data), read_only=True)
    return list(wb.active.iter_rows(values_only=True))


def test_export_is_filtered_scoped_and_masked(client, world):
    client.login("city_admin")
    services.set_id_number(world.person_a, valid_id())
    world.person_a.name = "=HYPERLINK(\"x\")"
    db.session.commit()
    resp = client.get("/org/people/export.xlsx?q=%3DHYP")
    assert resp.status_code == 200
    assert resp.mimetype.endswith("spreadsheetml.sheet")
    rows = _sheet(resp)
    assert rows[0][0] == "姓名"
    assert len(rows) == 2
    assert rows[1][0] == "'=HYPERLINK(\"x\")"
    assert rows[1][5] == world.person_a.id_masked
    assert valid_id() not in repr(rows)
    assert "已上岗" in rows[1][8] and "上线前已在岗" in rows[1][8]


def test_export_survives_control_characters_in_stored_names(client, world):
    world.person_a.name = "李\x0b四"
    db.session.commit()
    client.login("a_admin")
    rows = _sheet(client.get("/org/people/export.xlsx"))
    assert rows[1][0] == "李四"


# ---------------------------------------------------------------- detail and reveal


def test_detail_shows_profile_history_and_masked_id(client, world):
    services.set_id_number(world.person_a, valid_id())
    db.session.add(Qualification(person_id=world.person_a.id, level="sw_junior",
                                 certificate_no="ZS-001", obtained_on=date(2020, 6, 1)))
    old = Post(person_id=world.person_a.id, org_unit_id=world.village_a.id,
               post_type="village_assistant", status="removed", started_on=date(2018, 1, 1),
               ended_on=date(2019, 1, 1))
    db.session.add(old)
    db.session.commit()
    client.login("a_admin")
    page = html_of(client.get(f"/org/people/{world.person_a.id}"))
    assert world.person_a.id_masked in page and valid_id() not in page
    assert "查看完整身份证号" in page
    assert "已免职" in page and "2019-01-01" in page and "2018-01-01" in page
    assert "助理社会工作师" in page and "ZS-001" in page and "2020-06-01" in page
    assert "兰山区" in page  # breadcrumbs


def test_hr_sees_no_reveal_button_and_cannot_reveal(client, world):
    services.set_id_number(world.person_a, valid_id())
    db.session.commit()
    client.login("a_hr")
    page = html_of(client.get(f"/org/people/{world.person_a.id}"))
    assert "查看完整身份证号" not in page and "编辑" not in page
    resp = client.post(f"/org/people/{world.person_a.id}/reveal-id", {"reason": "核对"})
    assert resp.status_code == 403
    assert audits("person.reveal_id") == []


def test_reveal_needs_a_reason_and_is_audited(client, world):
    services.set_id_number(world.person_a, valid_id())
    db.session.commit()
    client.login("a_admin")
    url = f"/org/people/{world.person_a.id}/reveal-id"
    assert client.get(url).status_code == 405
    page = html_of(client.post(url, {"reason": "   "}))
    assert "请填写查看原因" in page and valid_id() not in page
    assert audits("person.reveal_id") == []
    resp = client.post(url, {"reason": "核对社保登记信息"})
    assert resp.status_code == 200
    assert valid_id() in html_of(resp)
    assert "no-store" in resp.headers.get("Cache-Control", "")
    [entry] = audits("person.reveal_id")
    assert entry.details["reason"] == "核对社保登记信息" and entry.object_id == world.person_a.id
    assert valid_id() not in html_of(client.get(f"/org/people/{world.person_a.id}"))


# ---------------------------------------------------------------- create and edit


def _person_form(**over: str) -> dict[str, str]:
    data = {"name": "孙七", "gender": "female", "birth_year": "1990", "phone": "139 0000 0001",
            "education": "本科", "id_number": "", "note": ""}
    data.update(over)
    return data


def test_create_person_with_first_post_and_id(client, world):
    client.login("a_admin")
    page = html_of(client.get(f"/org/people/new?unit={world.village_a.id}"))
    assert "金雀山社区居委会" in page and "罗庄街道" not in page and "前村村委会" not in page
    resp = client.post("/org/people/new", _person_form(
        unit=str(world.village_a.id), post_type="village_assistant", id_number=valid_id()))
    assert resp.status_code == 302
    person = db.session.execute(select(Person).where(Person.name == "孙七")).scalar_one()
    assert person.org_unit_id == world.village_a.id and person.phone == "13900000001"
    assert person.id_masked and person.id_hash and valid_id() not in (person.id_masked or "")
    [post] = person.posts
    assert post.status == "nominated" and post.post_type == "village_assistant"
    assert {"person.create", "post.open"} <= {e.action for e in audits("person.create")
                                               + audits("post.open")}


def test_create_person_refuses_a_post_at_the_wrong_level(client, world):
    client.login("a_admin")
    page = html_of(client.post("/org/people/new", _person_form(
        unit=str(world.town_a.id), post_type="village_assistant")))
    assert "该岗位只能设在村（社区）" in page
    assert 'value="孙七"' in page  # the typed input is kept
    assert db.session.execute(select(Person).where(Person.name == "孙七")).first() is None


@pytest.mark.parametrize(("over", "message"), [
    ({"name": ""}, "请填写姓名"),
    ({"name": "长" * 10_000}, "姓名不能超过50个字符"),
    ({"name": "李\x07四"}, "不能包含换行或控制字符"),
    ({"name": "李\n四"}, "不能包含换行或控制字符"),
    ({"phone": "12345"}, "手机号应为11位数字"),
    ({"phone": "1380000000a"}, "手机号应为11位数字"),
    ({"id_number": "371302198501011230"}, "身份证号码应为18位"),
    ({"id_number": "X" * 5000}, "身份证号码应为18位"),
    ({"birth_year": "19x5"}, "出生年份应为四位数字"),
    ({"birth_year": "1850"}, "出生年份应为 1900 年到今年之间"),
    ({"birth_year": "9" * 5000}, "出生年份应为四位数字"),
    ({"gender": "other"}, "请从列表中选择性别"),
    ({"post_type": "boss"}, "请从列表中选择岗位"),
    ({"unit": "abc"}, "请选择单位"),
    ({"unit": ""}, "请选择单位"),
    ({"note": "x" * 501}, "备注不能超过500个字符"),
])
def test_create_person_hostile_input_gives_form_errors(client, world, over, message):
    client.login("a_admin")
    data = {"unit": str(world.village_a.id), **_person_form(), **over}
    resp = client.post("/org/people/new", data)
    assert resp.status_code == 200
    assert message in html_of(resp)
    assert db.session.execute(select(Person).where(Person.id > world.person_b.id)).first() is None


def test_create_person_in_another_county_unit_is_refused(client, world):
    client.login("a_admin")
    resp = client.post("/org/people/new", {**_person_form(), "unit": str(world.village_b.id)})
    assert resp.status_code == 200
    assert "请从列表中选择单位" in html_of(resp)
    assert db.session.execute(select(Person).where(Person.name == "孙七")).first() is None


def test_script_in_a_name_is_rendered_escaped(client, world):
    client.login("a_admin")
    name = "<script>alert(1)</script>"
    client.post("/org/people/new", {**_person_form(name=name), "unit": str(world.village_a.id)})
    person = db.session.execute(select(Person).where(Person.name == name)).scalar_one()
    for url in ("/org/people", f"/org/people/{person.id}", f"/org/people/{person.id}/edit"):
        page = html_of(client.get(url))
        assert "<script>alert(1)</script>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_edit_person_saves_and_ignores_extra_fields(client, world):
    client.login("a_admin")
    url = f"/org/people/{world.person_a.id}/edit"
    assert 'value="李四"' in html_of(client.get(url))
    resp = client.post(url, _person_form(name="李四新", org_unit_id=str(world.village_b.id),
                                         status="in_post", id_hash="x"))
    assert resp.status_code == 302
    person = fresh(world.person_a)
    assert person.name == "李四新" and person.org_unit_id == world.village_a.id
    assert person.id_hash is None
    [entry] = audits("person.update")
    assert "name" in entry.details["changes"]


def test_edit_person_bad_phone_keeps_input_and_changes_nothing(client, world):
    client.login("a_admin")
    url = f"/org/people/{world.person_a.id}/edit"
    page = html_of(client.post(url, _person_form(name="改名了", phone="138")))
    assert "手机号应为11位数字" in page and 'value="改名了"' in page
    assert fresh(world.person_a).name == "李四"
    assert audits("person.update") == []


def test_edit_refuses_an_id_number_already_used(client, world):
    services.set_id_number(world.person_b, valid_id())
    db.session.commit()
    client.login("city_admin")
    page = html_of(client.post(f"/org/people/{world.person_a.id}/edit",
                               _person_form(id_number=valid_id())))
    assert "该身份证号码已登记在其他人员名下" in page
    assert fresh(world.person_a).id_hash is None


# ---------------------------------------------------------------- qualifications


def test_add_and_remove_qualification(client, world):
    client.login("a_admin")
    url = f"/org/people/{world.person_a.id}/qualifications/new"
    resp = client.post(url, {"level": "sw_intermediate", "certificate_no": "ZS-9",
                             "obtained_on": "2021-05-06"})
    assert resp.status_code == 302
    [q] = fresh(world.person_a).qualifications
    assert q.level == "sw_intermediate" and q.obtained_on == date(2021, 5, 6)
    page = html_of(client.post(url, {"level": "sw_intermediate", "certificate_no": "ZS-9"}))
    assert "该证书已登记" in page
    page = html_of(client.get(f"/org/people/{world.person_a.id}"))
    assert "data-confirm" in page
    resp = client.post(f"/org/people/{world.person_a.id}/qualifications/remove",
                       {"qualification": str(q.id)})
    assert resp.status_code == 302
    assert fresh(world.person_a).qualifications == []
    assert len(audits("person.qualification_remove")) == 1


@pytest.mark.parametrize(("data", "message"), [
    ({"level": "sw_master"}, "请从列表中选择证书等级"),
    ({"level": ""}, "请选择证书等级"),
    ({"level": "sw_junior", "obtained_on": "2021-13-45"}, "日期格式应为 2024-06-30"),
    ({"level": "sw_junior", "obtained_on": "2999-01-01"}, "取得日期应在"),
    ({"level": "sw_junior", "certificate_no": "号" * 51}, "证书编号不能超过50个字符"),
])
def test_add_qualification_bad_input(client, world, data, message):
    client.login("a_admin")
    resp = client.post(f"/org/people/{world.person_a.id}/qualifications/new", data)
    assert resp.status_code == 200 and message in html_of(resp)
    assert fresh(world.person_a).qualifications == []


def test_remove_another_persons_qualification_changes_nothing(client, world):
    q = Qualification(person_id=world.person_b.id, level="sw_junior")
    db.session.add(q)
    db.session.commit()
    client.login("city_admin")
    resp = client.post(f"/org/people/{world.person_a.id}/qualifications/remove",
                       {"qualification": str(q.id)})
    assert resp.status_code == 302
    assert len(fresh(world.person_b).qualifications) == 1


# ---------------------------------------------------------------- posts


def test_open_post_checks_the_unit_level(client, world):
    client.login("a_admin")
    url = f"/org/people/{world.person_a.id}/posts/new"
    page = html_of(client.post(url, {"unit": str(world.village_a.id),
                                     "post_type": "township_staff"}))
    assert "该岗位只能设在乡镇（街道）" in page
    resp = client.post(url, {"unit": str(world.town_a.id), "post_type": "township_staff",
                             "status": "in_post"})
    assert resp.status_code == 302
    person = fresh(world.person_a)
    new = person.posts[-1]
    assert new.status == "nominated" and new.org_unit_id == world.town_a.id
    assert person.org_unit_id == world.town_a.id


def test_status_lifecycle_and_refusal_names_what_is_missing(client, world):
    p = make_person(world.village_a, "新人", post_type="village_assistant", status="nominated")
    db.session.commit()
    post = p.posts[0]
    client.login("a_admin")
    url = f"/org/posts/{post.id}/status"
    page = html_of(client.post(url, {"status": "in_post"}))
    assert "岗前培训" in page and fresh(post).status == "nominated"
    page = html_of(client.post(url, {"status": "promoted"}))
    assert "请从列表中选择状态" in page
    page = html_of(client.post(url, {"status": "pending_onboarding"}))
    assert "还没有开放面向村(社区)民政助理员的岗前培训班" in page
    assert fresh(post).status == "nominated"
    onboarding_program(world.town_a, "village_assistant")
    db.session.commit()
    assert client.post(url, {"status": "pending_onboarding"}).status_code == 302
    assert fresh(post).status == "pending_onboarding"
    page = html_of(client.post(url, {"status": "removed"}))
    assert "免职须填写原因" in page and fresh(post).status == "pending_onboarding"
    assert client.post(url, {"status": "removed", "reason": "本人辞职"}).status_code == 302
    post = fresh(post)
    assert post.status == "removed" and post.ended_on is not None
    assert audits("post.status")[-1].details["reason"] == "本人辞职"
    assert "状态不能再变更" in html_of(client.get(url))


def test_in_post_and_suspended_switch(client, world):
    post = world.person_a.posts[0]
    client.login("a_admin")
    url = f"/org/posts/{post.id}/status"
    assert client.post(url, {"status": "suspended"}).status_code == 302
    assert client.post(url, {"status": "in_post"}).status_code == 302
    assert fresh(post).status == "in_post"


def test_acting_flag_is_set_shown_and_cleared(client, world):
    post = world.person_a.posts[0]
    client.login("town_a_admin")
    url = f"/org/posts/{post.id}/acting"
    assert client.post(url, {"acting": "1"}).status_code == 302
    assert fresh(post).is_acting
    assert "代理" in html_of(client.get(f"/org/people/{world.person_a.id}"))
    assert "代理" in html_of(client.get("/org/people"))
    client.post(url, {"acting": "maybe"})
    assert fresh(post).is_acting
    assert client.post(url, {"acting": "0"}).status_code == 302
    assert not fresh(post).is_acting
    assert [e.details["acting"] for e in audits("post.acting")] == [True, False]


def test_transfer_keeps_history_and_moves_the_person(client, world):
    v2 = make_unit("371302001002", "新村村委会", "village", world.town_a)
    db.session.commit()
    client.login("a_admin")
    url = f"/org/people/{world.person_a.id}/transfer"
    assert "data-confirm" in html_of(client.get(url))
    resp = client.post(url, {"unit": str(v2.id), "post_type": "village_assistant",
                             "reason": "工作需要"})
    assert resp.status_code == 302
    person = fresh(world.person_a)
    old, new = person.posts
    assert old.status == "removed" and old.org_unit_id == world.village_a.id
    assert new.status == "nominated" and new.org_unit_id == v2.id
    assert person.org_unit_id == v2.id
    page = html_of(client.get(f"/org/people/{person.id}"))
    assert "金雀山社区居委会" in page and "新村村委会" in page


def test_transfer_to_another_county_is_refused(client, world):
    client.login("a_admin")
    resp = client.post(f"/org/people/{world.person_a.id}/transfer",
                       {"unit": str(world.village_b.id), "post_type": "village_assistant"})
    assert resp.status_code == 200 and "请从列表中选择单位" in html_of(resp)
    person = fresh(world.person_a)
    assert person.org_unit_id == world.village_a.id and person.posts[0].status == "in_post"


def test_transfer_failure_rolls_back_the_removal(client, world):
    client.login("a_admin")
    resp = client.post(f"/org/people/{world.person_a.id}/transfer",
                       {"unit": str(world.village_a.id), "post_type": "village_assistant"})
    assert "无需调动" in html_of(resp)
    assert fresh(world.person_a).posts[0].status == "in_post"
    assert audits("post.status") == []


def test_service_refusal_is_rolled_back_not_half_written(client, world):
    now = utcnow()
    services.set_id_number(world.person_b, valid_id())
    db.session.commit()
    client.login("city_admin")
    page = html_of(client.post("/org/people/new", {
        **_person_form(id_number=valid_id()), "unit": str(world.village_a.id),
        "post_type": "village_assistant"}))
    assert "该身份证号码已登记在其他人员名下" in page
    assert audits("person.create") == []
    assert now  # the clock was available
