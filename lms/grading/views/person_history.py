"""The evaluation section of the person page: the assistant's score sheets of every year (grade,
total, level held and new) and stipends per quarter — two queries, shown to staff who may score
or report on the person's unit."""

from __future__ import annotations

from typing import Any

from flask_login import current_user
from sqlalchemy import func, select

from lms.auth.access import can
from lms.auth.perms import Perm
from lms.extensions import db
from lms.grading.labels import ROUND_LABELS, grade_label, level_label
from lms.grading.models import Evaluation, EvaluationRound, StipendLine
from lms.grading.simulate import yuan
from lms.grading.views import bp
from lms.org.models import OrgUnit, Person, PostType
from lms.org.person_sections import register_person_section

bp.add_app_template_global(grade_label, "grading_grade")
bp.add_app_template_global(level_label, "grading_level")
bp.add_app_template_global(yuan, "grading_yuan")
bp.add_app_template_global(lambda status: ROUND_LABELS.get(status, status),
                           "grading_round_status")


@register_person_section
def _evaluations(person: Person) -> tuple[str, Any] | None:
    if not any(p.post_type == PostType.VILLAGE_ASSISTANT.value for p in person.posts):
        return None
    if not (can(current_user, Perm.GRADING_REPORTS, person.org_unit)
            or can(current_user, Perm.EVALUATION_SCORE, person.org_unit)):
        return None
    sheets = db.session.execute(
        select(Evaluation, EvaluationRound.status, OrgUnit.name)
        .join(EvaluationRound, EvaluationRound.id == Evaluation.round_id)
        .join(OrgUnit, OrgUnit.id == Evaluation.org_unit_id)
        .where(Evaluation.person_id == person.id)
        .order_by(Evaluation.year.desc(), Evaluation.id.desc())).all()
    pay = db.session.execute(
        select(StipendLine.year, StipendLine.quarter, func.sum(StipendLine.months),
               func.sum(StipendLine.amount_fen))
        .where(StipendLine.person_id == person.id)
        .group_by(StipendLine.year, StipendLine.quarter)
        .order_by(StipendLine.year.desc(), StipendLine.quarter.desc())).all()
    return "grading/_person_evaluations.html", {"sheets": sheets, "pay": pay}
