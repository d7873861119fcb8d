"""The onboarding programs of the demo data set (flush only; ``demo.load`` records the load).

One open onboarding program per tier for the demo's units: 临沂市 for office directors,
兰陵县 for township staff, 卞庄街道 for village assistants (16 credit hours each, no courses
yet: ``flask courses sync`` loads the three onboarding courses afterwards and a trainer adds
them). Every demo post already ``pending_onboarding`` inside a program's subtree gets its
onboarding record and enrolment, as if the gate had assigned it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import insert, select

from lms.demo.divisions import CITY_CODE, COUNTY_CODE, TOWNSHIP_CODE
from lms.extensions import db
from lms.onboarding.models import OnboardingRecord
from lms.org.models import OrgUnit, Post, PostStatus, PostType
from lms.training.models import Enrollment, Program

PROGRAMS = (
    (CITY_CODE, PostType.OFFICE_DIRECTOR, "乡镇民政办主任岗前培训班（演示）"),
    (COUNTY_CODE, PostType.TOWNSHIP_STAFF, "乡镇民政工作人员岗前培训班（演示）"),
    (TOWNSHIP_CODE, PostType.VILLAGE_ASSISTANT, "村(社区)民政助理员岗前培训班（演示）"),
)


def load_onboarding(now: datetime) -> list[Program]:
    made = []
    today = now.date()
    for code, post_type, title in PROGRAMS:
        unit = db.session.execute(select(OrgUnit).where(OrgUnit.code == code)).scalar_one()
        program = Program(
            org_unit_id=unit.id, title=title, kind="onboarding", mode="blended",
            audience_post_type=post_type.value, status="open",
            description="新任人员须完成本班学习并通过结业考试后方可上岗。",
            starts_on=date(today.year, 1, 1), ends_on=date(today.year, 12, 31),
            credit_hours=Decimal(16), requires_exam=False, created_at=now, updated_at=now)
        db.session.add(program)
        db.session.flush()
        _assign_pending(program, unit, now)
        made.append(program)
    return made


def _assign_pending(program: Program, unit: OrgUnit, now: datetime) -> None:
    posts = db.session.execute(
        select(Post.id, Post.person_id, Post.org_unit_id, Post.status_changed_at)
        .join(OrgUnit, OrgUnit.id == Post.org_unit_id)
        .where(Post.status == PostStatus.PENDING_ONBOARDING.value,
               Post.post_type == program.audience_post_type,
               OrgUnit.path.startswith(unit.path))).all()
    if not posts:
        return
    db.session.execute(insert(OnboardingRecord), [
        {"post_id": pid, "person_id": person, "org_unit_id": uid, "program_id": program.id,
         "assigned_at": since or now} for pid, person, uid, since in posts])
    db.session.execute(insert(Enrollment), [
        {"program_id": program.id, "person_id": person, "org_unit_id": uid, "status": "enrolled",
         "enrolled_at": since or now - timedelta(days=1), "due_on": program.ends_on}
        for _pid, person, uid, since in {p[1]: p for p in posts}.values()])
