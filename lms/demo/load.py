"""Bulk-write the demo data set into an empty database (flush only; the command commits).

Ids are assigned here in creation order, so materialized paths are known before the insert and
rows go in with a few bulk (executemany) inserts instead of one flush per object. ID-card numbers
are stored exactly as ``org.services.set_id_number`` stores them (keyed hash, mask, encryption).
One audit entry, ``demo.load``, records the counts and the ids of the demo accounts.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import func, insert, select, text

from lms import audit
from lms.auth.models import User
from lms.demo import accounts, exams, grading, history, onboarding
from lms.demo.divisions import TOWNSHIP_CODE, Division, for_size
from lms.demo.people import PersonPlan, go_live_at, plan_people
from lms.demo.populations import Population, synthesise
from lms.extensions import db
from lms.org import pii
from lms.org.models import OrgUnit, Person, Post, PostStatus, PostType, Qualification
from lms.org.rules import mask_id_number

BATCH = 5000
LOCK_KEY = 371300
#: (stage, done, total): "units" or "people".
Progress = Callable[[str, int, int], None]
T = TypeVar("T")


def _quiet(_stage: str, _done: int, _total: int) -> None:
    return None


@dataclass
class LoadResult:
    size: str
    seed: int
    units: dict[str, int] = field(default_factory=dict)
    people: int = 0
    posts: dict[str, int] = field(default_factory=dict)
    qualifications: int = 0
    accounts: list[int] = field(default_factory=list)
    history: dict[str, int] | None = None

    def audit_data(self) -> dict[str, Any]:
        data = {"size": self.size, "seed": self.seed, "units": self.units, "people": self.people,
                "posts": self.posts, "qualifications": self.qualifications,
                "accounts": self.accounts}
        if self.history is not None:
            data["history"] = self.history
        return data


def lock() -> None:
    """Serialise concurrent loads (SQLite: the command's BEGIN IMMEDIATE already does)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})


def database_is_empty() -> bool:
    """No units, people or accounts: the only state the demo data set may be loaded into."""
    return all(db.session.execute(select(m.id).limit(1)).first() is None
               for m in (OrgUnit, Person, User))


def _next_id(model: Any) -> int:
    return (db.session.execute(select(func.max(model.id))).scalar() or 0) + 1


def _batches(items: Sequence[T]) -> Iterator[tuple[int, Sequence[T]]]:
    for start in range(0, len(items), BATCH):
        yield start, items[start:start + BATCH]


def _unit_rows(divisions: list[Division], populations: dict[str, Population],
               created: datetime) -> list[dict[str, Any]]:
    next_id, ids, paths, rows = _next_id(OrgUnit), {}, {}, []
    for offset, d in enumerate(divisions):
        uid = next_id + offset
        parent_id = ids[d.parent_code] if d.parent_code else None
        ids[d.code] = uid
        paths[d.code] = (paths[d.parent_code] if d.parent_code else "/") + f"{uid}/"
        pop = populations.get(d.code)
        rows.append({
            "id": uid, "code": d.code, "name": d.name, "level": d.level.value,
            "kind": d.kind.value if d.kind else None, "parent_id": parent_id,
            "path": paths[d.code], "resident_population": pop.resident if pop else None,
            "registered_population": pop.registered if pop else None,
            "created_at": created, "updated_at": created,
        })
    return rows


def _insert_units(rows: list[dict[str, Any]], progress: Progress) -> dict[str, int]:
    for start, batch in _batches(rows):
        progress("units", start, len(rows))
        db.session.execute(insert(OrgUnit), batch)
    progress("units", len(rows), len(rows))
    return {r["code"]: r["id"] for r in rows}


def _person_row(pid: int, p: PersonPlan, unit_id: int) -> dict[str, Any]:
    return {
        "id": pid, "name": p.name, "gender": p.gender.value, "birth_year": p.birth_year,
        "phone": p.phone, "education": p.education, "id_hash": pii.id_hash(p.id_number),
        "id_masked": mask_id_number(p.id_number), "id_encrypted": pii.encrypt(p.id_number),
        "org_unit_id": unit_id, "note": None, "created_at": p.created_at,
        "updated_at": p.post.changed_at,
    }


def _post_row(post_id: int, pid: int, p: PersonPlan, unit_id: int) -> dict[str, Any]:
    post = p.post
    return {
        "id": post_id, "person_id": pid, "org_unit_id": unit_id, "post_type": post.post_type.value,
        "status": post.status.value, "is_legacy": post.legacy, "is_acting": False,
        "started_on": post.started_on, "ended_on": post.ended_on,
        "in_post_on": post.started_on if post.status in _SERVED or post.legacy else None,
        "status_changed_at": post.changed_at, "created_at": p.created_at,
    }


#: Statuses of a post that has been in post (demo plans start them on their start date).
_SERVED = frozenset({PostStatus.IN_POST, PostStatus.SUSPENDED})


@dataclass
class _Ids:
    person: int
    post: int
    qualification: int


def _write_batch(batch: Sequence[PersonPlan], ids: _Ids, unit_ids: dict[str, int]) -> None:
    persons, posts, quals = [], [], []
    for p in batch:
        unit_id = unit_ids[p.unit_code]
        persons.append(_person_row(ids.person, p, unit_id))
        posts.append(_post_row(ids.post, ids.person, p, unit_id))
        if (q := p.qualification) is not None:
            quals.append({"id": ids.qualification, "person_id": ids.person, "level": q.level.value,
                          "certificate_no": q.certificate_no, "obtained_on": q.obtained_on})
            ids.qualification += 1
        ids.person += 1
        ids.post += 1
    db.session.execute(insert(Person), persons)
    db.session.execute(insert(Post), posts)
    if quals:
        db.session.execute(insert(Qualification), quals)


def _insert_people(people: list[PersonPlan], unit_ids: dict[str, int],
                   progress: Progress) -> int:
    """Write people, posts and certificates; return the id of the first person."""
    ids = _Ids(_next_id(Person), _next_id(Post), _next_id(Qualification))
    first = ids.person
    for start, batch in _batches(people):
        progress("people", start, len(people))
        _write_batch(batch, ids, unit_ids)
    progress("people", len(people), len(people))
    return first


def _trainees(people: list[PersonPlan], first_id: int) -> list[accounts.Trainee]:
    """A few serving assistants in distinct villages of the demo township."""
    picked: dict[str, accounts.Trainee] = {}
    for offset, p in enumerate(people):
        if (p.unit_code.startswith(TOWNSHIP_CODE) and p.unit_code != TOWNSHIP_CODE
                and p.post.post_type == PostType.VILLAGE_ASSISTANT
                and p.post.status == PostStatus.IN_POST and p.unit_code not in picked):
            picked[p.unit_code] = accounts.Trainee(first_id + offset, p.name, p.phone, p.unit_code)
            if len(picked) == accounts.TRAINEE_COUNT:
                break
    return list(picked.values())


def _sync_sequences() -> None:
    """PostgreSQL: explicit ids do not advance the id sequences, so move them past the rows."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    for model in (OrgUnit, Person, Post, Qualification):
        top = select(func.coalesce(func.max(model.id), 1)).scalar_subquery()
        db.session.execute(select(func.setval(
            func.pg_get_serial_sequence(model.__tablename__, "id"), top)))


def _result(size: str, seed: int, divisions: list[Division],
            people: list[PersonPlan]) -> LoadResult:
    return LoadResult(
        size=size, seed=seed,
        units=dict(Counter(d.level.value for d in divisions)), people=len(people),
        posts=dict(sorted(Counter(p.post.status.value for p in people).items())),
        qualifications=sum(p.qualification is not None for p in people))


def load(size: str, seed: int, *, now: datetime, progress: Progress = _quiet,
         with_grading: bool = True, with_history: bool | None = None) -> LoadResult:
    """Load the demo data set of *size* (S, M or L) into the (checked empty) database.
    *with_history* (default: size L) adds a year of training and exams for every person
    (``lms.demo.history``) before the evaluation, so competence comes from records."""
    divisions = for_size(size)
    # Seeded, reproducible synthetic data: not a security use of randomness.
    populations = synthesise(divisions, random.Random(f"{seed}:populations"))  # noqa: S311
    people = plan_people(divisions, populations, random.Random(f"{seed}:people"),  # noqa: S311
                         now.date())
    unit_ids = _insert_units(_unit_rows(divisions, populations, go_live_at(now.date())), progress)
    first_person = _insert_people(people, unit_ids, progress)
    _sync_sequences()
    result = _result(size, seed, divisions, people)
    result.accounts = accounts.create_accounts(_trainees(people, first_person), unit_ids, now)
    exams.load_exams(seed, now)
    onboarding.load_onboarding(now)
    if size == "L" if with_history is None else with_history:
        result.history = vars(history.load_history(seed, now, progress))
    if with_grading:
        grading.load_grading(seed, now, progress)
    audit.record(None, "demo.load", None, now=now, **result.audit_data())
    return result

