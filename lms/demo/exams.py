"""The exams of the demo data set (flush only; no audit entries: ``demo.load`` records the load).

- a question bank of 兰陵县 filled from ``lms/demo/data/questions.csv`` (the canonical Chinese
  template, read by ``lms.exams.formats.read_questions`` like any upload);
- an open exam of 卞庄街道 for its village assistants (fixed paper of 20 objective questions,
  5 points each, 30 minutes, pass 60, open for a year from the load): the demo trainees find it
  in 我的考试;
- a closed paper exam of 卞庄街道 from last month with 30 synthetic, marked attempts of the
  township's village assistants, so the item analysis page has data. The answer sheets count as
  entered by the township trainer (the demo trainees' own sheets by their own accounts). Answers
  follow a simple ability model seeded by the demo seed; one question is answered "backwards"
  (the strongest candidates miss it) so that the analysis shows the 可能答案有误 flag.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from importlib import resources
from typing import Any

from sqlalchemy import select

from lms.auth.models import User
from lms.demo.divisions import COUNTY_CODE, TOWNSHIP_CODE
from lms.exams.formats import ParsedQuestion, read_questions
from lms.exams.formats.model import SHORT
from lms.exams.models import (
    Attempt,
    AttemptItem,
    Exam,
    PaperItem,
    Question,
    QuestionBank,
    QuestionVersion,
)
from lms.exams.questions import dup_key, version_fields
from lms.exams.totals import mark_objective
from lms.extensions import db
from lms.org.models import OrgUnit, Person, Post, PostStatus, PostType

DATA_FILE = "questions.csv"
BANK_CODE = "DEMO-LANLING"
PAPER_SIZE = 20
ITEM_POINTS = Decimal(5)
CANDIDATES = 30
#: The closed exam's question answered backwards (0-based paper position).
BACKWARDS = 7


@dataclass
class ExamsResult:
    questions: int
    open_exam: Exam
    closed_exam: Exam
    attempts: int


def parsed_questions() -> list[ParsedQuestion]:
    data = resources.files("lms.demo").joinpath("data", DATA_FILE).read_bytes()
    result = read_questions(data, filename=DATA_FILE, fmt="csv")
    if result.errors:
        raise ValueError("; ".join(str(e) for e in result.errors))
    return result.questions


def _add_bank(county_id: int, now: datetime) -> list[QuestionVersion]:
    bank = QuestionBank(code=BANK_CODE, title="兰陵县民政业务题库（演示）",
                        description="社会救助、养老服务、儿童福利、婚姻登记、殡葬管理、社会组织、"
                                    "区划地名等业务知识。", org_unit_id=county_id,
                        created_at=now)
    db.session.add(bank)
    db.session.flush()
    versions = []
    for q in parsed_questions():
        question = Question(bank_id=bank.id, org_unit_id=county_id, dup_key=dup_key(q),
                            created_at=now)
        version = QuestionVersion(question=question, version=1, created_at=now,
                                  **version_fields(q))
        db.session.add(version)
        versions.append(version)
    db.session.flush()
    for v in versions:
        v.question.current_version_id = v.id
    return versions


def _paper(versions: list[QuestionVersion], rng: random.Random) -> list[QuestionVersion]:
    """20 objective questions for village assistants, in bank order."""
    fit = [v for v in versions if v.type != SHORT
           and (not v.post_types or PostType.VILLAGE_ASSISTANT.value in v.post_types)]
    return sorted(rng.sample(fit, PAPER_SIZE), key=lambda v: v.question_id)


def _exam(township_id: int, title: str, paper: list[QuestionVersion], *, opens: datetime,
          closes: datetime, now: datetime, **settings: Any) -> Exam:
    exam = Exam(org_unit_id=township_id, title=title, status="published",
                audience_post_types=PostType.VILLAGE_ASSISTANT.value, opens_at=opens,
                closes_at=closes, time_limit_minutes=30, attempts_allowed=1,
                pass_score=ITEM_POINTS * PAPER_SIZE * Decimal("0.6"), created_at=now,
                updated_at=now, published_at=now, paper_mode="fixed", **settings)
    db.session.add(exam)
    db.session.flush()
    for position, v in enumerate(paper, 1):
        db.session.add(PaperItem(exam_id=exam.id, question_id=v.question_id, position=position,
                                 points=ITEM_POINTS))
    return exam


def _assistants(township: OrgUnit) -> list[Person]:
    return list(db.session.execute(
        select(Person).join(Post, Post.person_id == Person.id)
        .join(OrgUnit, OrgUnit.id == Person.org_unit_id)
        .where(OrgUnit.path.startswith(township.path), OrgUnit.id != township.id,
               Post.post_type == PostType.VILLAGE_ASSISTANT.value,
               Post.status == PostStatus.IN_POST.value)
        .order_by(Person.id).limit(CANDIDATES)).scalars())


def _response(v: QuestionVersion, right: bool, rng: random.Random) -> Any:
    if v.type == "true_false":
        return v.answer if right else not v.answer
    if v.type == "fill_blank":
        return [group[0] for group in v.answer] if right else ["不清楚"] * len(v.answer)
    if right:
        return list(v.answer)
    wrong = [i for i in range(len(v.options)) if i not in v.answer]
    if v.type == "single_choice":
        return [rng.choice(wrong)]
    return sorted(v.answer[:-1] + [rng.choice(wrong)]) if wrong else list(v.answer[:-1])


def _sit(exam: Exam, paper: list[QuestionVersion], person: Person, user_id: int, ability: float,
         start: datetime, rng: random.Random) -> Attempt:
    minutes = rng.randint(12, 30)
    auto = minutes == 30
    attempt = Attempt(exam=exam, org_unit_id=exam.org_unit_id, person_id=person.id,
                      user_id=user_id, candidate_unit_id=person.org_unit_id, number=1,
                      state="auto_submitted" if auto else "submitted", seed=rng.randrange(2**31),
                      started_at=start, deadline=start + timedelta(minutes=30),
                      submitted_at=start + timedelta(minutes=minutes), last_seq=len(paper),
                      last_saved_at=start + timedelta(minutes=minutes - 1),
                      submit_token=f"{rng.getrandbits(128):032x}")
    db.session.add(attempt)
    for position, v in enumerate(paper, 1):
        hardness = ((v.difficulty or 3) - 3) * 0.8 - 0.3
        sign = -1 if position - 1 == BACKWARDS else 1
        chance = 1 / (1 + math.exp(-1.7 * sign * (ability - hardness * sign)))
        attempt.items.append(AttemptItem(
            position=position, question_id=v.question_id, question_version_id=v.id, version=v,
            max_points=ITEM_POINTS, response=_response(v, rng.random() < chance, rng),
            client_seq=position, saved_at=start + timedelta(minutes=position * minutes / 21),
            option_order=list(range(len(v.options))) if v.options else None))
    mark_objective(attempt, exam)
    attempt.marked_at = attempt.submitted_at
    return attempt


def load_exams(seed: int, now: datetime) -> ExamsResult:
    """Add the demo bank, the open exam and the closed exam with its attempts."""
    rng = random.Random(f"{seed}:exams")  # noqa: S311 - reproducible synthetic data
    county, township = (db.session.execute(select(OrgUnit).where(OrgUnit.code == code))
                        .scalar_one() for code in (COUNTY_CODE, TOWNSHIP_CODE))
    versions = _add_bank(county.id, now)
    open_exam = _exam(township.id, "村(社区)民政助理员政策知识测试", _paper(versions, rng),
                      opens=now, closes=now + timedelta(days=365), now=now,
                      description="共20题，每题5分，满分100分，60分及格。限时30分钟，只能作答一次；"
                                  "答案随时自动保存，交卷后可查看成绩。")
    paper = _paper(versions, rng)
    opened = now - timedelta(days=40)
    closed_exam = _exam(township.id, "社会救助政策随堂测验（已结束）", paper, opens=opened,
                        closes=now - timedelta(days=33), now=now, shuffle_questions=False,
                        shuffle_options=False, show_answers="after_close",
                        description="上月培训班结束时的纸笔测验，答卷由街道培训管理员录入。")
    users = dict(db.session.execute(select(User.person_id, User.id)
                                    .where(User.person_id.is_not(None))).all())
    trainer_id = db.session.execute(select(User.id).where(User.username == "town_trainer")) \
        .scalar_one()
    people = _assistants(township)
    for person in people:
        start = opened + timedelta(days=rng.randint(0, 5), minutes=rng.randint(0, 600))
        _sit(closed_exam, paper, person, users.get(person.id, trainer_id), rng.gauss(0, 1), start,
             rng)
    db.session.flush()
    return ExamsResult(len(versions), open_exam, closed_exam, len(people))
