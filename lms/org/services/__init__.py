"""Org services: every change to units, people and posts goes through here and is audited.

Services take ``actor`` and ``now``, flush and never commit. Split by what they change:
``units`` (the tree), ``people`` (people, ID-card numbers, qualifications), ``posts`` (posts and
their status lifecycle). Callers use ``from lms.org import services`` and the names below.
"""

from lms.org.services.people import (
    PERSON_FIELDS,
    PERSON_TEXT_MAX,
    NewPerson,
    add_qualification,
    create_people,
    create_person,
    remove_qualification,
    reveal_id_number,
    set_id_number,
    update_person,
    validate_person_data,
)
from lms.org.services.posts import (
    TRANSITIONS,
    change_post_status,
    check_post_level,
    open_post,
    set_acting,
    transfer_person,
)
from lms.org.services.units import (
    NewUnit,
    breadcrumbs,
    create_unit,
    create_units,
    move_unit,
    update_unit,
    validate_unit,
)

__all__ = [
    "PERSON_FIELDS", "PERSON_TEXT_MAX", "TRANSITIONS", "NewPerson", "NewUnit", "add_qualification",
    "breadcrumbs", "change_post_status", "check_post_level", "create_people", "create_person",
    "create_unit", "create_units", "move_unit", "open_post", "remove_qualification",
    "reveal_id_number", "set_acting", "set_id_number", "transfer_person", "update_person",
    "update_unit", "validate_person_data", "validate_unit",
]
