"""The evaluation section of the person page: the assistant's score sheets of every year (grade,
total, level held and new) and stipends per quarter — two queries, shown to staff who may score
or report on the person's unit."""

from __future__ import annotations

from typing import Any

from flask_login import current_user
from sqlalchemy import func, select

from lms.auth.access import can, scope_for
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
    perm = next((p for p in (Perm.GRADING_REPORTS, Perm.EVALUATION_SCORE)
                 if can(current_user, p, person.org_unit)), None)
    if perm is None:
        return None
    # Only records made in units the viewer covers (after a transfer, the old county's sheets
    # stay with the old county, decision 9).
    scope = scope_for(current_user, perm)
    sheets = db.session.execute(
        select(Evaluation, EvaluationRound.status, OrgUnit.name)
        .join(EvaluationRound, EvaluationRound.id == Evaluation.round_id)
        .join(OrgUnit, OrgUnit.id == Evaluation.org_unit_id)
        .where(Evaluation.person_id == person.id, scope.where(OrgUnit.path))
        .order_by(Evaluation.year.desc(), Evaluation.id.desc())).all()
    pay = db.session.execute(
        select(StipendLine.year, StipendLine.quarter, func.sum(StipendLine.months),
               func.sum(StipendLine.amount_fen))
        .join(OrgUnit, OrgUnit.id == StipendLine.org_unit_id)
        .where(StipendLine.person_id == person.id, scope.where(OrgUnit.path))
        .group_by(StipendLine.year, StipendLine.quarter)
        .order_by(StipendLine.year.desc(), StipendLine.quarter.desc())).all()
    return "grading/_person_evaluations.html", {"sheets": sheets, "pay": pay}
