"""Sections later domains add to the person page (consultations, filings, replacement cases):
``fn(person) -> (template, items)`` or None when there is nothing to show. The template gets
``person`` and ``items``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lms.org.models import Person

PersonSection = Callable[[Person], "tuple[str, Any] | None"]
_sections: list[PersonSection] = []


def register_person_section(fn: PersonSection) -> PersonSection:
    if fn not in _sections:
        _sections.append(fn)
    return fn


def person_sections(person: Person) -> list[tuple[str, Any]]:
    return [found for found in (fn(person) for fn in _sections) if found]
