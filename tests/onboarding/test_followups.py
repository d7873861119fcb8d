"""Follow-ups of the onboarding review: acting posts are tagged 代理 on every onboarding list and
person-page section; removing a post (status form, transfer, replacement dismissal) withdraws
its open consultation and closes its open replacement case, audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from lms.audit import AuditEntry
from lms.auth.access import scope_for
from lms.auth.perms import Perm
from lms.db import utcnow
from lms.errors import InvalidState
from lms.extensions import db
from lms.onboarding import consultations as cons
from lms.onboarding import filings, oversight
from lms.onboarding import replacements as rep
from lms.onboarding.models import Consultation, ReplacementCase
from lms.org.models import Post, PostStatus, PostType
from lms.org.services.posts import change_post_status, transfer_person
from lms.training.completion import local_date
from lms.training.coverage import Cutoffs
from tests.factories import make_unit
from tests.onboarding.factories import nominee

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
NOTE = "岗位已免职，自动撤回"
ACTING = "代理"


class _Rows(HTMLParser):
    """Table rows as lists of cell texts, each with the last ``<h1>``/``<h2>`` before it."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[str, list[str]]] = []
        self.heading = ""
        self._in_heading = False
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:  # noqa: ARG002
        if tag in ("h1", "h2"):
            self._in_heading, self.heading = True, ""
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("h1", "h2"):
            self._in_heading = False
        elif tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append((self.heading, self._row))
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._in_heading:
            self.heading += data.strip()
        if self._cell is not None:
            self._cell.append(data)


def rows_of(resp, heading: str | None = None) -> list[list[str]]:  # noqa: ANN001
    assert resp.status_code == 200
    parser = _Rows()
    parser.feed(resp.get_data(as_text=True))
    return [cells for head, cells in parser.rows if heading is None or head == heading]


def row_with(rows: list[list[str]], text: str) -> str:
    found = [" | ".join(cells) for cells in rows if any(text in c for c in cells)]
    assert len(found) == 1, (text, rows)
    return found[0]


def _acting(post: Post) -> Post:
    post.is_acting = True
    db.session.flush()
    return post


# ---------------------------------------------------------------- 1. the 代理 tag


def test_candidates_list_tags_acting_posts(client, world):
    _acting(nominee(world.town_a, "赵甲", PostType.OFFICE_DIRECTOR.value)[1])
    nominee(world.town_a, "钱正式", PostType.OFFICE_DIRECTOR.value)
    db.session.commit()
    client.login("a_admin")
    rows = rows_of(client.get("/onboarding/candidates"))
    assert ACTING in row_with(rows, "赵甲")
    assert ACTING not in row_with(rows, "钱正式")


def test_consultation_list_and_person_section_tag_acting_posts(client, world):
    _person, acting = nominee(world.town_a, "赵甲", PostType.OFFICE_DIRECTOR.value)
    _acting(acting)
    _other, plain = nominee(world.town_a, "钱正式", PostType.OFFICE_DIRECTOR.value)
    for post in (acting, plain):
        cons.open_consultation(post, "党委研究推荐", actor=world.town_a_admin, now=NOW)
    db.session.commit()
    client.login("a_admin")
    rows = rows_of(client.get("/onboarding/consultations"))
    assert ACTING in row_with(rows, "赵甲")
    assert ACTING not in row_with(rows, "钱正式")
    section = rows_of(client.get(f"/org/people/{acting.person_id}"), "主任人选征求意见")
    assert ACTING in row_with(section, world.county_a.name)
    section = rows_of(client.get(f"/org/people/{plain.person_id}"), "主任人选征求意见")
    assert ACTING not in row_with(section, world.county_a.name)


def test_filing_list_and_person_section_tag_acting_posts(client, world):
    _person, acting = nominee(world.village_a, "孙甲", PostType.VILLAGE_ASSISTANT.value)
    _acting(acting)
    _other, plain = nominee(world.village_a, "李正式", PostType.VILLAGE_ASSISTANT.value)
    for post in (acting, plain):
        filings.submit(post, actor=None, now=NOW)
    db.session.commit()
    client.login("a_admin")
    rows = rows_of(client.get("/onboarding/filings"))
    assert ACTING in row_with(rows, "孙甲")
    assert ACTING not in row_with(rows, "李正式")
    section = rows_of(client.get(f"/org/people/{acting.person_id}"), "助理员备案")
    assert ACTING in row_with(section, world.village_a.name)
    section = rows_of(client.get(f"/org/people/{plain.person_id}"), "助理员备案")
    assert ACTING not in row_with(section, world.village_a.name)


def test_replacement_list_and_person_section_tag_acting_posts(client, world):
    acting = _acting(world.person_a.posts[0])
    rep.open_case(acting, "manual", "无故缺岗", actor=world.town_a_admin, now=NOW)
    _other, plain = nominee(world.village_a, "李正式", PostType.VILLAGE_ASSISTANT.value)
    rep.open_case(plain, "manual", "无故缺岗", actor=world.town_a_admin, now=NOW)
    db.session.commit()
    client.login("a_admin")
    rows = rows_of(client.get("/onboarding/replacements"))
    assert ACTING in row_with(rows, world.person_a.name)
    assert ACTING not in row_with(rows, "李正式")
    section = rows_of(client.get(f"/org/people/{acting.person_id}"), "撤换案件")
    assert ACTING in row_with(section, world.village_a.name)
    section = rows_of(client.get(f"/org/people/{plain.person_id}"), "撤换案件")
    assert ACTING not in row_with(section, world.village_a.name)


# ---------------------------------------------------------------- 2. removal withdraws


def _audits(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                   .order_by(AuditEntry.id)))


def _overdue_ids(world) -> list[int]:  # noqa: ANN001
    day = local_date(utcnow())
    f = oversight.Filters(day, Cutoffs.of(day, 3))
    scope = scope_for(world.a_admin, Perm.ONBOARDING_VIEW)
    _total, rows = oversight.list_page(oversight.CONSULTATIONS, scope, None, f)
    return [r.consultation_id for r in rows]


@pytest.fixture
def late_consultation(world):
    """An office-director nomination whose consultation the county has left unanswered."""
    _person, post = nominee(world.town_a, "赵主任", PostType.OFFICE_DIRECTOR.value)
    consultation = cons.open_consultation(post, "党委研究推荐", actor=world.town_a_admin,
                                          now=utcnow() - timedelta(days=60))
    db.session.commit()
    return consultation


def test_removal_by_the_status_form_withdraws_the_open_consultation(client, world,
                                                                    late_consultation):
    c_id, post_id = late_consultation.id, late_consultation.post_id
    assert _overdue_ids(world) == [c_id]
    client.login("town_a_admin")
    resp = client.post(f"/org/posts/{post_id}/status", {"status": "removed", "reason": "辞职"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(Consultation, c_id).status == "withdrawn"
    assert _overdue_ids(world) == []
    [entry] = _audits("consultation.withdraw")
    assert (entry.object_id, entry.actor_id) == (c_id, world.town_a_admin.id)
    assert entry.details["note"] == NOTE
    assert (entry.details["old"], entry.details["new"]) == ("submitted", "withdrawn")


def test_a_consultation_waiting_for_material_is_withdrawn_too(world, late_consultation):
    cons.request_info(late_consultation, "请补充学历证明", actor=world.a_admin, now=NOW)
    change_post_status(late_consultation.post, PostStatus.REMOVED, actor=world.a_admin, now=NOW)
    assert late_consultation.status == "withdrawn"
    [entry] = _audits("consultation.withdraw")
    assert entry.actor_id == world.a_admin.id and entry.details["old"] == "info_requested"


@pytest.mark.parametrize("answer", ["concurred", "objected"])
def test_answered_consultations_are_left_as_they_are(world, late_consultation, answer):
    late_consultation.status = answer
    db.session.flush()
    change_post_status(late_consultation.post, PostStatus.REMOVED, actor=world.a_admin, now=NOW)
    assert late_consultation.status == answer
    assert _audits("consultation.withdraw") == []


def test_transfer_withdraws_the_consultation_of_the_old_post(client, world, late_consultation):
    town2 = make_unit("371302009", "柳青街道", "township", world.county_a)
    db.session.commit()
    c_id, person_id = late_consultation.id, late_consultation.person_id
    client.login("a_admin")
    resp = client.post(f"/org/people/{person_id}/transfer",
                       {"unit": str(town2.id), "post_type": "office_director", "reason": "调整"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(Consultation, c_id).status == "withdrawn"
    assert _overdue_ids(world) == []
    [entry] = _audits("consultation.withdraw")
    assert entry.actor_id == world.a_admin.id and entry.details["note"] == NOTE


def test_removal_closes_an_open_replacement_case_as_withdrawn(client, world):
    post = world.person_a.posts[0]
    case = rep.open_case(post, "manual", "无故缺岗", actor=world.town_a_admin, now=NOW)
    db.session.commit()
    case_id = case.id
    client.login("town_a_admin")
    resp = client.post(f"/org/posts/{post.id}/status", {"status": "removed", "reason": "辞职"})
    assert resp.status_code == 302
    db.session.expire_all()
    case = db.session.get(ReplacementCase, case_id)
    assert case.status == "withdrawn" and case.decision_note == NOTE
    assert case.decided_by_id == world.town_a_admin.id and case.decided_at is not None
    [entry] = _audits("replacement.withdraw")
    assert (entry.object_id, entry.actor_id) == (case_id, world.town_a_admin.id)
    assert entry.details["note"] == NOTE


def test_transfer_closes_an_open_replacement_case(world):
    village2 = make_unit("371302001009", "新村村委会", "village", world.town_a)
    case = rep.open_case(world.person_a.posts[0], "manual", "无故缺岗",
                         actor=world.town_a_admin, now=NOW)
    transfer_person(world.person_a, village2, PostType.VILLAGE_ASSISTANT, actor=world.a_admin,
                    now=NOW)
    assert case.status == "withdrawn" and case.decided_by_id == world.a_admin.id
    [entry] = _audits("replacement.withdraw")
    assert entry.actor_id == world.a_admin.id and entry.details["note"] == NOTE


def test_a_dismissal_still_ends_as_dismissed(world):
    post = world.person_a.posts[0]
    case = rep.open_case(post, "manual", "无故缺岗", actor=world.town_a_admin,
                         now=NOW - timedelta(days=30))
    rep.decide(case, "dismissed", "经核实属实", actor=world.town_a_admin, now=NOW)
    db.session.commit()
    db.session.expire_all()
    case = db.session.get(ReplacementCase, case.id)
    assert case.status == "dismissed" and case.decision_note == "经核实属实"
    assert db.session.get(Post, post.id).status == "removed"
    assert _audits("replacement.withdraw") == []
    [entry] = _audits("replacement.dismiss")
    assert entry.object_id == case.id and entry.actor_id == world.town_a_admin.id
    assert _audits("post.status")[-1].details["new"] == "removed"


def test_a_refused_dismissal_leaves_the_case_open(world, monkeypatch):
    case = rep.open_case(world.person_a.posts[0], "manual", "无故缺岗",
                         actor=world.town_a_admin, now=NOW - timedelta(days=30))

    def refuse(*_a, **_k):  # noqa: ANN002, ANN003
        raise InvalidState("不行")

    monkeypatch.setattr(rep, "apply_post_status", refuse)
    with pytest.raises(InvalidState):
        rep.decide(case, "dismissed", "经核实属实", actor=world.town_a_admin, now=NOW)
    assert case.status == "open"
