"""The onboarding sections of the person page: director consultations, assistant filings and
replacement cases (one query each, only for people holding the matching post type); and the
trainee's home-page notice of a replacement case waiting for their statement."""

from __future__ import annotations

from typing import Any

from flask import url_for

from lms.i18n import _
from lms.onboarding import consultations, filings, replacements
from lms.org.models import Person, PostType
from lms.org.person_sections import register_person_section
from lms.web.dashboard import Notice, register_notices


def _holds(person: Person, post_type: PostType) -> bool:
    return any(p.post_type == post_type.value for p in person.posts)


@register_person_section
def _consultations(person: Person) -> tuple[str, Any] | None:
    if not _holds(person, PostType.OFFICE_DIRECTOR):
        return None
    return "onboarding/_person_consultations.html", consultations.for_person(person.id)


@register_person_section
def _filings(person: Person) -> tuple[str, Any] | None:
    if not _holds(person, PostType.VILLAGE_ASSISTANT):
        return None
    items = filings.for_person(person.id)
    return ("onboarding/_person_filings.html", items) if items else None


@register_person_section
def _replacements(person: Person) -> tuple[str, Any] | None:
    if not _holds(person, PostType.VILLAGE_ASSISTANT):
        return None
    return "onboarding/_person_replacements.html", replacements.for_person(person.id)


@register_notices
def _open_cases(person_id: int) -> list[Notice]:
    """A replacement case waiting for the person's statement, on their home page."""
    return [Notice(str(_("您有一项撤换事项，可在 %(due)s 前提交申辩。",
                         due=case.statement_due_on.isoformat())),
                   url_for("onboarding.my_replacement", replacement_case_id=case.id))
            for case in replacements.open_for_person(person_id)]
