"""The demo data set: ``flask lms demo`` (size S here) and ``flask lms demo-logins``."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from lms import audit
from lms.audit import AuditEntry
from lms.auth.models import User
from lms.auth.passwords import password_problems
from lms.db import utcnow
from lms.demo import load
from lms.demo.accounts import DEMO_PASSWORD, STAFF_ACCOUNTS
from lms.demo.divisions import COUNTY_CODE, TOWNSHIP_CODE
from lms.demo.populations import LINYI_COUNTIES
from lms.extensions import db
from lms.org import pii
from lms.org.models import OrgUnit, Person, Post, PostStatus, PostType, Qualification
from lms.org.rules import mask_id_number, normalize_id_number, normalize_phone, required_staff

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
OPEN = Post.status != PostStatus.REMOVED.value


@pytest.fixture
def loaded(app, runner):  # noqa: ANN001, ANN201
    result = runner.invoke(args=["lms", "demo", "--size", "S"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    return result


def _units(level: str) -> list[OrgUnit]:
    return list(db.session.execute(
        select(OrgUnit).where(OrgUnit.level == level).order_by(OrgUnit.code)).scalars())


def _count(model, *where) -> int:  # noqa: ANN001
    return db.session.execute(select(func.count()).select_from(model).where(*where)).scalar()


def test_demo_password_meets_the_policy(app):
    for account in STAFF_ACCOUNTS:
        assert password_problems(DEMO_PASSWORD, username=account.username) == []


def test_size_s_has_the_real_tree(loaded):
    counts = dict(db.session.execute(
        select(OrgUnit.level, func.count()).group_by(OrgUnit.level)).all())
    assert counts == {"city": 1, "county": 1, "township": 17, "village": 609}
    units = {u.id: u for u in db.session.execute(select(OrgUnit)).scalars()}
    for unit in units.values():
        parent_path = units[unit.parent_id].path if unit.parent_id else "/"
        assert unit.path == f"{parent_path}{unit.id}/"
    assert {u.kind for u in _units("village")} == {"village", "community"}


def test_populations_add_up(loaded):
    county = _units("county")[0]
    assert county.code == COUNTY_CODE
    assert county.resident_population == LINYI_COUNTIES[COUNTY_CODE]
    townships = _units("township")
    assert sum(t.resident_population for t in townships) == county.resident_population
    assert sum(t.registered_population for t in townships) == county.registered_population
    for village in _units("village"):
        ratio = village.registered_population / village.resident_population
        assert 0.94 < ratio < 1.16


def test_township_staff_follow_the_quota(loaded):
    townships = _units("township")
    for t in townships:
        types = Counter(db.session.execute(select(Post.post_type).where(
            Post.org_unit_id == t.id, OPEN)).scalars())
        required = required_staff(t.resident_population)
        assert types == {"office_director": 1, "township_staff": required - 1}
    total = _count(Post, OPEN, Post.post_type.in_(["office_director", "township_staff"]))
    assert total == sum(required_staff(t.resident_population) for t in townships)


def test_one_assistant_per_village_and_a_few_with_two(loaded):
    villages = _units("village")
    per_village = Counter(db.session.execute(select(Post.org_unit_id).where(
        Post.post_type == PostType.VILLAGE_ASSISTANT.value, OPEN)).scalars())
    assert set(per_village) == {v.id for v in villages}
    assert set(per_village.values()) <= {1, 2}
    assert 0 < sum(n == 2 for n in per_village.values()) < len(villages) * 0.08


def test_statuses_and_legacy_flags(loaded):
    rows = db.session.execute(select(Post.status, Post.is_legacy)).all()
    statuses = Counter(s for s, _legacy in rows)
    assert statuses[PostStatus.IN_POST.value] > 0.9 * len(rows)
    for status, legacy in rows:
        assert legacy == (status in ("in_post", "suspended", "removed"))
    assert {"nominated", "pending_onboarding", "in_post"} <= set(statuses)


def test_people_have_valid_identities(app, loaded):
    people = list(db.session.execute(select(Person)).scalars())
    phones = [p.phone for p in people]
    assert len(set(phones)) == len(phones)
    assert all(normalize_phone(p) == p for p in phones)
    assert len({p.id_hash for p in people}) == len(people)
    for person in people[:200]:
        number = pii.decrypt(person.id_encrypted)
        assert normalize_id_number(number) == number
        assert number.startswith(COUNTY_CODE)
        assert int(number[6:10]) == person.birth_year
        assert int(number[16]) % 2 == (1 if person.gender == "male" else 0)
        assert person.id_hash == pii.id_hash(number)
        assert person.id_masked == mask_id_number(number)
        assert person.education in {"高中/中专", "大专", "本科", "研究生"}


def test_certificates_and_the_load_audit_entry(loaded):
    qualifications = list(db.session.execute(select(Qualification)).scalars())
    assert qualifications and all(q.certificate_no and q.obtained_on for q in qualifications)
    assert len({q.certificate_no for q in qualifications}) == len(qualifications)
    entries = list(db.session.execute(select(AuditEntry)).scalars())
    # The demo's evaluation of last year runs through the grading services, audited as the
    # system; the load itself is the last entry.
    assert entries[-1].action == "demo.load"
    assert {e.action.split(".")[0] for e in entries[:-1]} <= {"evaluation", "stipend",
                                                               "replacement", "grading"}
    assert all(e.actor_id is None for e in entries)
    details = entries[-1].details
    assert details["units"] == {"city": 1, "county": 1, "township": 17, "village": 609}
    assert details["people"] == _count(Person)
    assert details["qualifications"] == len(qualifications)
    assert sorted(details["accounts"]) == sorted(db.session.execute(select(User.id)).scalars())
    assert audit.verify_chain() is None


def test_new_rows_after_the_load_get_fresh_ids(loaded):
    village = _units("village")[0]
    person = Person(name="新人", org_unit_id=village.id)
    db.session.add(person)
    db.session.flush()
    post = Post(person_id=person.id, org_unit_id=village.id, post_type="village_assistant")
    qualification = Qualification(person_id=person.id, level="sw_junior")
    unit = OrgUnit(code="371324001999", name="新村村委会", level="village",
                   parent_id=village.parent_id, path="/new/")
    db.session.add_all([post, qualification, unit])
    db.session.flush()
    assert person.id == _count(Person) and post.id == _count(Post)
    assert unit.id == _count(OrgUnit) and qualification.id == _count(Qualification)


def _snapshot() -> tuple[int, int, int, int]:
    return _count(OrgUnit), _count(Person), _count(User), _count(AuditEntry)


def test_refuses_a_non_empty_database(runner, world):
    before = _snapshot()
    result = runner.invoke(args=["lms", "demo", "--size", "S"])
    assert result.exit_code == 1
    assert "不是空的" in result.stderr and result.stdout == ""
    assert _snapshot() == before


def test_skip_if_loaded_exits_quietly(runner, loaded):
    before = _snapshot()
    result = runner.invoke(args=["lms", "demo", "--size", "S", "--skip-if-loaded"])
    assert result.exit_code == 0
    assert "跳过" in result.stderr and result.stdout == ""
    assert _snapshot() == before


def _digest() -> str:
    """Everything but the random encryption (the keyed hash stands for the ID numbers)."""
    queries = [
        select(OrgUnit.id, OrgUnit.code, OrgUnit.name, OrgUnit.kind, OrgUnit.path,
               OrgUnit.resident_population, OrgUnit.registered_population).order_by(OrgUnit.id),
        select(Person.id, Person.name, Person.gender, Person.birth_year, Person.phone,
               Person.education, Person.id_hash, Person.id_masked, Person.org_unit_id)
        .order_by(Person.id),
        select(Post.id, Post.person_id, Post.org_unit_id, Post.post_type, Post.status,
               Post.is_legacy, Post.started_on, Post.ended_on, Post.status_changed_at)
        .order_by(Post.id),
        select(Qualification.person_id, Qualification.level, Qualification.certificate_no,
               Qualification.obtained_on).order_by(Qualification.id),
        select(User.username, User.phone, User.person_id).order_by(User.username),
    ]
    text = repr([db.session.execute(q).all() for q in queries])
    return hashlib.sha256(text.encode()).hexdigest()


def _load_fresh(seed: int) -> str:
    db.session.remove()
    db.drop_all()
    db.create_all()
    load.load("S", seed, now=NOW)
    db.session.commit()
    return _digest()


def test_same_seed_gives_the_same_data(app):
    first = _load_fresh(7)
    assert _load_fresh(7) == first
    assert _load_fresh(8) != first


def test_demo_logins_lists_accounts_that_log_in(runner, client, loaded):
    result = runner.invoke(args=["lms", "demo-logins"])
    assert result.exit_code == 0
    out = result.stdout
    assert "演示" in out.splitlines()[0]
    for account in STAFF_ACCOUNTS:
        assert account.username in out
    assert out.count(DEMO_PASSWORD) == len(STAFF_ACCOUNTS) + 3
    assert "兰陵县" in out and "卞庄街道" in out
    resp = client.login("county_admin", DEMO_PASSWORD)
    assert resp.status_code == 302 and "/auth/password" not in resp.headers["Location"]
    assert client.get("/").status_code == 200


def test_demo_trainees_are_serving_assistants(client, loaded):
    trainees = list(db.session.execute(select(User).where(User.person_id.is_not(None))).scalars())
    assert len(trainees) == 3
    township = db.session.execute(select(OrgUnit).where(OrgUnit.code == TOWNSHIP_CODE)).scalar()
    for user in trainees:
        assert user.username == user.phone == user.person.phone
        assert user.org_unit.path.startswith(township.path) and not user.must_change_password
        post = user.person.posts[0]
        assert (post.post_type, post.status) == ("village_assistant", "in_post")
    resp = client.login(trainees[0].username, DEMO_PASSWORD)
    assert resp.status_code == 302 and "/auth/login" not in resp.headers["Location"]


def test_demo_logins_marks_changed_passwords(runner, loaded):
    user = db.session.execute(select(User).where(User.username == "city_hr")).scalar()
    user.password_hash = "not-an-argon2-hash"  # noqa: S105
    db.session.commit()
    out = runner.invoke(args=["lms", "demo-logins"]).stdout
    line = next(x for x in out.splitlines() if "city_hr" in x)
    assert DEMO_PASSWORD not in line and "已修改" in line


def test_demo_logins_without_demo_data(runner, world):
    result = runner.invoke(args=["lms", "demo-logins"])
    assert result.exit_code == 0 and result.stdout == ""
    assert "没有加载演示数据" in result.stderr


# ---------------------------------------------------------------- exams


def _demo_exams():  # noqa: ANN202
    from lms.exams.models import Exam

    return {e.title: e for e in db.session.execute(select(Exam)).scalars()}


def test_demo_bank_comes_from_the_shipped_template(loaded):
    from lms.demo.exams import BANK_CODE, parsed_questions
    from lms.exams.models import Question, QuestionBank, QuestionVersion

    bank = db.session.execute(select(QuestionBank).where(QuestionBank.code == BANK_CODE)).scalar()
    assert bank.org_unit.code == COUNTY_CODE
    versions = list(db.session.execute(
        select(QuestionVersion).join(Question, Question.current_version_id == QuestionVersion.id)
        .where(Question.bank_id == bank.id)).scalars())
    assert len(versions) == len(parsed_questions()) >= 40
    assert {v.type for v in versions} == {"single_choice", "multiple_choice", "true_false",
                                          "fill_blank", "short_answer"}
    assert all(v.explanation and v.knowledge_point and v.category for v in versions)
    assert {"社会救助", "养老服务", "儿童福利", "婚姻登记", "殡葬管理", "社会组织",
            "区划地名"} <= {v.category for v in versions}


def test_demo_trainees_see_the_open_exam(client, loaded):
    from lms.exams.audience import may_sit

    exam = _demo_exams()["村(社区)民政助理员政策知识测试"]
    assert exam.org_unit.code == TOWNSHIP_CODE and exam.status == "published"
    assert exam.time_limit_minutes == 30 and exam.pass_score == 60
    assert exam.closes_at - exam.opens_at >= timedelta(days=365)
    assert len(exam.items) == 20
    trainees = list(db.session.execute(select(User).where(User.person_id.is_not(None))).scalars())
    assert all(may_sit(u.person, exam) for u in trainees)
    client.login(trainees[0].username, DEMO_PASSWORD)
    assert "村(社区)民政助理员政策知识测试" in client.get("/exams/my").get_data(as_text=True)


def test_demo_closed_exam_has_marked_attempts_for_the_analysis(client, loaded):
    from lms.exams import analysis

    exam = _demo_exams()["社会救助政策随堂测验（已结束）"]
    assert exam.closes_at < utcnow()
    result = analysis.analyse_exam(exam)
    assert result.n == 30 and not result.indicative
    assert any(q.exam.flags for q in result.questions)
    client.login("county_trainer", DEMO_PASSWORD)
    html = client.get(f"/exams/{exam.id}/analysis").get_data(as_text=True)
    assert "可能答案有误" in html


def _scores() -> list:
    from lms.exams.models import Attempt

    return db.session.execute(select(Attempt.person_id, Attempt.score, Attempt.state)
                              .order_by(Attempt.person_id)).all()


def test_demo_attempts_follow_the_seed(app):
    _load_fresh(7)
    first = _scores()
    _load_fresh(7)
    assert _scores() == first and len(first) == 30


def test_onboarding_programs_per_tier_and_pending_posts_assigned(loaded):
    from lms.onboarding.gate import find_program
    from lms.onboarding.models import OnboardingRecord
    from lms.training.models import Program

    programs = db.session.execute(select(Program.audience_post_type).where(
        Program.kind == "onboarding", Program.status == "open")).scalars().all()
    assert sorted(programs) == sorted(PostType)
    records = db.session.execute(select(OnboardingRecord)).scalars().all()
    assert records, "some demo posts wait for onboarding in the demo units"
    for record in records:
        assert record.post.status == PostStatus.PENDING_ONBOARDING.value
        assert find_program(record.post).id == record.program_id


def test_last_year_is_evaluated_and_paid_and_this_year_is_open(loaded):
    from lms.grading import integrity
    from lms.grading.models import Evaluation, EvaluationRound, StipendQuarter

    rounds = {(r.year, r.status) for r in db.session.scalars(select(EvaluationRound))}
    assert rounds == {(NOW.year - 1, "confirmed"), (NOW.year, "open")}
    graded = db.session.scalars(select(Evaluation.grade).where(
        Evaluation.year == NOW.year - 1)).all()
    assert graded and None not in graded and "excellent" in graded
    runs = db.session.scalars(select(StipendQuarter).where(
        StipendQuarter.year == NOW.year - 1)).all()
    assert sorted(r.quarter for r in runs) == [1, 2, 3, 4] and all(r.total_fen > 0 for r in runs)
    assert integrity.first_problem() is None
