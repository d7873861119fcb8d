"""Roles and permissions as code (reviewed in diffs, not stored as rows)."""

from __future__ import annotations

from enum import StrEnum

from lms.i18n import _l
from lms.org.models import Level


class Perm(StrEnum):
    ORG_VIEW = "org.view"
    ORG_MANAGE = "org.manage"
    PERSON_VIEW = "person.view"
    PERSON_MANAGE = "person.manage"
    PERSON_REVEAL_ID = "person.reveal_id"
    ACCOUNT_MANAGE = "account.manage"
    QUOTA_VIEW = "quota.view"
    AUDIT_VIEW = "audit.view"
    COURSE_MANAGE = "course.manage"
    #: Organise programs (培训班): enrol, schedule sessions, take the roll, issue certificates.
    PROGRAM_MANAGE = "program.manage"
    #: See training records, coverage and rotation reports of the units in scope.
    TRAINING_VIEW = "training.view"
    #: Approve external training hours of people in scope.
    TRAINING_APPROVE = "training.approve"
    #: Question banks, exams and papers, marking, score queries, exam-day operations.
    EXAM_MANAGE = "exam.manage"
    #: Exam results and item analysis of the units in scope (read only).
    EXAM_RESULTS_VIEW = "exam.results_view"
    #: The county bureau's side of appointments: answer director consultations, acknowledge or
    #: return assistant filings (checked on the county unit, so a township cannot answer itself).
    APPOINTMENT_REVIEW = "appointment.review"
    #: Oversight lists: pending onboarding, acting posts, overdue consultations and filings,
    #: vacancies, legacy posts.
    ONBOARDING_VIEW = "onboarding.view"
    #: The evaluation and stipend policy of each year (checked on the city unit, so county and
    #: township staff holding the role cannot edit it).
    GRADING_POLICY = "grading.policy"
    #: Enter the township's evaluation scores (work, diligence, integrity, satisfaction) and
    #: quarterly grades of the village assistants in scope; propose changes after confirmation.
    EVALUATION_SCORE = "evaluation.score"
    #: The county bureau's side of the evaluation (checked on the county unit): open the year,
    #: publish, answer appeals, confirm, compute and confirm stipends, approve changes.
    EVALUATION_REVIEW = "evaluation.review"
    #: Grade, level and stipend reports of the units in scope.
    GRADING_REPORTS = "grading.reports"


class Role(StrEnum):
    TRAINER = "trainer"
    HR = "hr"
    UNIT_ADMIN = "unit_admin"
    SYSTEM_ADMIN = "system_admin"
    SECURITY_ADMIN = "security_admin"
    AUDIT_ADMIN = "audit_admin"


#: The three separate administrator roles (三员分立): global, never two on one account.
ADMIN_ROLES = frozenset({Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN})

ROLE_PERMS: dict[Role, frozenset[Perm]] = {
    Role.TRAINER: frozenset({Perm.ORG_VIEW, Perm.PERSON_VIEW, Perm.COURSE_MANAGE,
                             Perm.PROGRAM_MANAGE, Perm.TRAINING_VIEW, Perm.EXAM_MANAGE,
                             Perm.EXAM_RESULTS_VIEW, Perm.ONBOARDING_VIEW}),
    Role.HR: frozenset({Perm.ORG_VIEW, Perm.PERSON_VIEW, Perm.QUOTA_VIEW, Perm.TRAINING_VIEW,
                        Perm.TRAINING_APPROVE, Perm.EXAM_RESULTS_VIEW, Perm.APPOINTMENT_REVIEW,
                        Perm.ONBOARDING_VIEW, Perm.GRADING_POLICY, Perm.EVALUATION_SCORE,
                        Perm.EVALUATION_REVIEW, Perm.GRADING_REPORTS}),
    Role.UNIT_ADMIN: frozenset({
        Perm.ORG_VIEW, Perm.ORG_MANAGE, Perm.PERSON_VIEW, Perm.PERSON_MANAGE,
        Perm.PERSON_REVEAL_ID, Perm.ACCOUNT_MANAGE, Perm.QUOTA_VIEW, Perm.COURSE_MANAGE,
        Perm.PROGRAM_MANAGE, Perm.TRAINING_VIEW, Perm.TRAINING_APPROVE, Perm.EXAM_MANAGE,
        Perm.EXAM_RESULTS_VIEW, Perm.APPOINTMENT_REVIEW, Perm.ONBOARDING_VIEW,
        Perm.GRADING_POLICY, Perm.EVALUATION_SCORE, Perm.EVALUATION_REVIEW, Perm.GRADING_REPORTS,
    }),
    Role.SYSTEM_ADMIN: frozenset({
        Perm.ORG_VIEW, Perm.ORG_MANAGE, Perm.PERSON_VIEW, Perm.PERSON_MANAGE, Perm.QUOTA_VIEW,
    }),
    Role.SECURITY_ADMIN: frozenset({Perm.ORG_VIEW, Perm.PERSON_VIEW, Perm.ACCOUNT_MANAGE}),
    Role.AUDIT_ADMIN: frozenset({Perm.AUDIT_VIEW, Perm.ORG_VIEW}),
}

#: Lowest level (highest rank number) a unit-scoped role may be granted at.
ROLE_MAX_RANK: dict[Role, int] = {
    Role.TRAINER: Level.TOWNSHIP.rank,
    Role.HR: Level.TOWNSHIP.rank,
    Role.UNIT_ADMIN: Level.TOWNSHIP.rank,
}

ROLE_LABELS = {
    Role.TRAINER: _l("培训管理员"),
    Role.HR: _l("人事干部"),
    Role.UNIT_ADMIN: _l("单位管理员"),
    Role.SYSTEM_ADMIN: _l("系统管理员"),
    Role.SECURITY_ADMIN: _l("安全管理员"),
    Role.AUDIT_ADMIN: _l("审计管理员"),
}
