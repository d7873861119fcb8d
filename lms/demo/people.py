"""Synthetic people and posts (domain.md §4.3): a pure function of the seed and today's date.

Township offices are staffed to quota (one office director plus ``required − 1`` staff); every
village or community has one assistant and about 3% of the large ones two; about 1% of villages
also show a previous assistant whose post was removed. Most posts are in post from the go-live
import (``is_legacy``); about 2% are nominated, 2% pending onboarding, 1% onboarded and 0.5%
suspended, so that every page has something to show. ID-card numbers are valid GB 11643 numbers
with the county's code as area code; phones are unique.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar

from lms.demo.divisions import Division
from lms.demo.names import full_name
from lms.demo.populations import Population
from lms.org.models import Gender, Level, PostStatus, PostType, QualificationLevel
from lms.org.rules import id_check_digit, required_staff

GO_LIVE_DAYS_AGO = 120
EARLIEST_START = date(2012, 1, 1)
#: (status, share) for township staff and village assistants; the rest are in post.
STATUS_SHARES = (
    (PostStatus.NOMINATED, 0.02), (PostStatus.PENDING_ONBOARDING, 0.02),
    (PostStatus.ONBOARDED, 0.01), (PostStatus.SUSPENDED, 0.005),
)
#: Days since nomination, by the status of a post opened after go-live.
NEW_POST_AGE_DAYS = {PostStatus.NOMINATED: (3, 60), PostStatus.PENDING_ONBOARDING: (30, 100),
                     PostStatus.ONBOARDED: (60, GO_LIVE_DAYS_AGO - 5)}
SECOND_ASSISTANT_QUANTILE = 0.85
SECOND_ASSISTANT_SHARE = 0.2
PREVIOUS_HOLDER_SHARE = 0.01
AGES = {PostType.OFFICE_DIRECTOR: (32, 56), PostType.TOWNSHIP_STAFF: (24, 55),
        PostType.VILLAGE_ASSISTANT: (23, 58)}
FEMALE_SHARE = {PostType.OFFICE_DIRECTOR: 0.3, PostType.TOWNSHIP_STAFF: 0.5,
                PostType.VILLAGE_ASSISTANT: 0.55}
EDUCATION = {
    PostType.OFFICE_DIRECTOR: (("大专", 10), ("本科", 75), ("研究生", 15)),
    PostType.TOWNSHIP_STAFF: (("大专", 20), ("本科", 70), ("研究生", 10)),
    PostType.VILLAGE_ASSISTANT: (("高中/中专", 35), ("大专", 40), ("本科", 23), ("研究生", 2)),
}
CERTIFICATE_SHARE = {PostType.OFFICE_DIRECTOR: 0.25, PostType.TOWNSHIP_STAFF: 0.25,
                     PostType.VILLAGE_ASSISTANT: 0.05}
CERTIFICATE_LEVELS = ((QualificationLevel.JUNIOR, 80), (QualificationLevel.INTERMEDIATE, 19),
                      (QualificationLevel.SENIOR, 1))
FIRST_CERTIFICATE_YEAR = 2010
PHONE_PREFIXES = ("130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151",
                  "152", "155", "156", "157", "158", "159", "166", "176", "177", "178", "180",
                  "181", "182", "183", "185", "186", "187", "188", "189", "198", "199")


@dataclass(slots=True)
class PostPlan:
    post_type: PostType
    status: PostStatus
    legacy: bool
    started_on: date
    ended_on: date | None
    changed_at: datetime


@dataclass(slots=True)
class QualificationPlan:
    level: QualificationLevel
    certificate_no: str
    obtained_on: date


@dataclass(slots=True)
class PersonPlan:
    unit_code: str
    name: str
    gender: Gender
    birth_year: int
    phone: str
    education: str
    id_number: str
    created_at: datetime
    post: PostPlan
    qualification: QualificationPlan | None


T = TypeVar("T")


def go_live_at(today: date) -> datetime:
    """When the go-live import of serving staff ran: the legacy posts' status time."""
    return datetime.combine(today - timedelta(days=GO_LIVE_DAYS_AGO), time(2, 0), tzinfo=UTC)


def _weighted(rng: random.Random, pairs: Sequence[tuple[T, int]]) -> T:
    return rng.choices([v for v, _w in pairs], weights=[w for _v, w in pairs])[0]


class Synth:
    """Draws people one by one, keeping phones, ID numbers and certificate numbers unique."""

    def __init__(self, rng: random.Random, today: date) -> None:
        self.rng = rng
        self.today = today
        self.go_live = today - timedelta(days=GO_LIVE_DAYS_AGO)
        self._phones: set[str] = set()
        self._ids: set[str] = set()
        self._certificates = 0

    def at(self, day: date) -> datetime:
        """A working-hours moment (UTC) on *day*."""
        return datetime.combine(day, time(self.rng.randrange(1, 9), self.rng.randrange(60)),
                                tzinfo=UTC)

    def _date_between(self, first: date, last: date) -> date:
        if last <= first:
            return last
        return first + timedelta(days=self.rng.randrange((last - first).days + 1))

    def phone(self) -> str:
        while True:
            value = self.rng.choice(PHONE_PREFIXES) + f"{self.rng.randrange(10 ** 8):08d}"
            if value not in self._phones:
                self._phones.add(value)
                return value

    def id_number(self, county_code: str, birthday: date, female: bool) -> str:
        while True:
            seq = self.rng.randrange(500) * 2 + (0 if female else 1)
            first17 = f"{county_code}{birthday:%Y%m%d}{seq:03d}"
            if first17 not in self._ids:
                self._ids.add(first17)
                return first17 + id_check_digit(first17)

    def qualification(self, post_type: PostType, birth_year: int,
                      unit_code: str) -> QualificationPlan | None:
        if self.rng.random() >= CERTIFICATE_SHARE[post_type]:
            return None
        level = _weighted(self.rng, CERTIFICATE_LEVELS)
        year = self.rng.randint(min(max(FIRST_CERTIFICATE_YEAR, birth_year + 22),
                                    self.today.year - 1), self.today.year - 1)
        obtained = self._date_between(date(year, 1, 1), date(year, 12, 31))
        self._certificates += 1
        digit = list(QualificationLevel).index(level) + 1
        number = f"{year}{unit_code[:4]}{digit}{self._certificates:06d}"
        return QualificationPlan(level, number, obtained)

    def status(self, post_type: PostType) -> PostStatus:
        if post_type == PostType.OFFICE_DIRECTOR:
            return PostStatus.IN_POST
        draw = self.rng.random()
        for status, share in STATUS_SHARES:
            if draw < share:
                return status
            draw -= share
        return PostStatus.IN_POST

    def post(self, post_type: PostType, status: PostStatus, birth_year: int) -> PostPlan:
        """Dates that fit the status: legacy posts began before go-live, new ones after."""
        if status in NEW_POST_AGE_DAYS:
            return self._new_post(post_type, status)
        started = self._date_between(max(EARLIEST_START, date(birth_year + 21, 1, 1)),
                                     self.go_live - timedelta(days=1))
        if status == PostStatus.IN_POST:
            return PostPlan(post_type, status, True, started, None, go_live_at(self.today))
        # suspended or removed since go-live
        changed = self.today - timedelta(days=self.rng.randint(5, GO_LIVE_DAYS_AGO - 20))
        ended = changed if status == PostStatus.REMOVED else None
        return PostPlan(post_type, status, True, started, ended, self.at(changed))

    def _new_post(self, post_type: PostType, status: PostStatus) -> PostPlan:
        """Nominated since go-live; later stages moved on at least five days after that."""
        started = self.today - timedelta(days=self.rng.randint(*NEW_POST_AGE_DAYS[status]))
        changed = started if status == PostStatus.NOMINATED else self._date_between(
            started + timedelta(days=5), self.today - timedelta(days=1))
        return PostPlan(post_type, status, False, started, None, self.at(changed))

    def person(self, unit_code: str, post_type: PostType,
               status: PostStatus | None = None) -> PersonPlan:
        rng = self.rng
        female = rng.random() < FEMALE_SHARE[post_type]
        birth_year = self.today.year - rng.randint(*AGES[post_type])
        birthday = self._date_between(date(birth_year, 1, 1), date(birth_year, 12, 31))
        post = self.post(post_type, status or self.status(post_type), birth_year)
        created = go_live_at(self.today) if post.legacy else datetime.combine(
            post.started_on, time(1, 0), tzinfo=UTC)
        return PersonPlan(
            unit_code=unit_code, name=full_name(rng, female),
            gender=Gender.FEMALE if female else Gender.MALE, birth_year=birth_year,
            phone=self.phone(), education=_weighted(rng, EDUCATION[post_type]),
            id_number=self.id_number(unit_code[:6], birthday, female), created_at=created,
            post=post, qualification=self.qualification(post_type, birth_year, unit_code))


def _township_people(synth: Synth, unit: Division, population: Population) -> list[PersonPlan]:
    required = required_staff(population.resident) or 0
    people = [synth.person(unit.code, PostType.OFFICE_DIRECTOR)] if required else []
    people += [synth.person(unit.code, PostType.TOWNSHIP_STAFF) for _ in range(required - 1)]
    return people


def _village_people(synth: Synth, unit: Division, second: bool) -> list[PersonPlan]:
    people = []
    if synth.rng.random() < PREVIOUS_HOLDER_SHARE:
        people.append(synth.person(unit.code, PostType.VILLAGE_ASSISTANT, PostStatus.REMOVED))
    people.append(synth.person(unit.code, PostType.VILLAGE_ASSISTANT))
    if second:
        people.append(synth.person(unit.code, PostType.VILLAGE_ASSISTANT))
    return people


def _large_threshold(villages: list[Division], populations: dict[str, Population]) -> int:
    sizes = sorted(populations[v.code].resident for v in villages)
    return sizes[int(len(sizes) * SECOND_ASSISTANT_QUANTILE)] if sizes else 0


def plan_people(divisions: list[Division], populations: dict[str, Population],
                rng: random.Random, today: date) -> list[PersonPlan]:
    """Everyone in the demo, in unit order (township staff, then each village's assistants)."""
    synth = Synth(rng, today)
    villages = [d for d in divisions if d.level == Level.VILLAGE]
    large = _large_threshold(villages, populations)
    people: list[PersonPlan] = []
    for unit in divisions:
        if unit.level == Level.TOWNSHIP:
            people += _township_people(synth, unit, populations[unit.code])
        elif unit.level == Level.VILLAGE:
            second = (populations[unit.code].resident >= large
                      and rng.random() < SECOND_ASSISTANT_SHARE)
            people += _village_people(synth, unit, second)
    return people
