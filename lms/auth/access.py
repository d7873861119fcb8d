"""Deny-by-default access: route markers, org scope, scoped loading (out of scope → 404).

Every view carries an ``AccessRule`` set by ``@public``, ``@login_only`` or ``@requires``.
``create_app`` refuses to start when a route has none, or has an ``*_id`` URL argument that is
not loaded through the scope. The same ``Scope`` filters lists, exports and searches.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, false, or_, select
from sqlalchemy.orm import aliased

from lms.auth.models import User
from lms.auth.perms import ROLE_PERMS, Perm, Role
from lms.errors import NotAllowed
from lms.extensions import db
from lms.i18n import _
from lms.org.models import OrgUnit

F = TypeVar("F", bound=Callable[..., Any])

ROOT = "/"


@dataclass(frozen=True)
class Scope:
    """The subtrees (materialized paths) in which an actor holds one permission."""

    perm: Perm
    paths: tuple[str, ...]

    @property
    def is_empty(self) -> bool:
        return not self.paths

    @property
    def is_global(self) -> bool:
        return ROOT in self.paths

    def covers(self, unit: OrgUnit | None) -> bool:
        if unit is None:
            return self.is_global
        return any(unit.path.startswith(p) for p in self.paths)

    def where(self, unit_path: Any) -> ColumnElement[bool]:
        """SQL predicate for a column holding a unit path."""
        if self.is_global:
            return unit_path.is_not(None)
        return or_(false(), *(unit_path.startswith(p, autoescape=True) for p in self.paths))


def _minimal(paths: set[str]) -> tuple[str, ...]:
    """Drop paths covered by another path in the set."""
    ordered = sorted(paths, key=len)
    kept: list[str] = []
    for p in ordered:
        if not any(p.startswith(k) for k in kept):
            kept.append(p)
    return tuple(sorted(kept))


def scope_for(user: User | None, perm: Perm) -> Scope:
    if user is None or not user.is_active:
        return Scope(perm, ())
    paths = set()
    for ra in user.roles:
        if perm in ROLE_PERMS.get(Role(ra.role), frozenset()):
            paths.add(ra.org_unit.path if ra.org_unit is not None else ROOT)
    return Scope(perm, _minimal(paths))


def can(user: User | None, perm: Perm, unit: OrgUnit | None = None) -> bool:
    scope = scope_for(user, perm)
    return not scope.is_empty if unit is None else scope.covers(unit)


def ensure(user: User | None, perm: Perm, unit: OrgUnit | None) -> None:
    """Service-level check, repeating the route check so CLI and imports are safe too.

    ``user is None`` is the system actor: a CLI command run by the operator on the server (audited
    as "system"). Web views always pass ``current_user``, never ``None``; ``can(None, ...)`` stays
    False so templates and route checks never treat an anonymous visitor as the system.
    """
    if user is None:
        return
    if not can(user, perm, unit):
        raise NotAllowed(_("您没有在该单位执行此操作的权限。"))


# ---------------------------------------------------------------- scoped loading

class ScopedLoadError(LookupError):
    """Raised when an object does not exist or lies outside the actor's scope (→ 404)."""


def scoped_select(model: Any, scope: Scope) -> Select[Any]:
    """``select(model)`` restricted to the scope; the model names its unit via ``org_unit_id``,
    or gives its own SQL condition with a ``scope_clause(scope)`` class method."""
    if model is OrgUnit:
        return select(OrgUnit).where(scope.where(OrgUnit.path))
    if hasattr(model, "scope_clause"):  # a row seen from below its unit (a county's round)
        return select(model).where(model.scope_clause(scope))
    if scope.is_global:  # the whole deployment, rows without a unit (global admins) included
        return select(model)
    unit = aliased(OrgUnit)
    return select(model).join(unit, model.org_unit_id == unit.id).where(scope.where(unit.path))


#: Largest id a column can hold (32-bit INTEGER); a larger URL id is simply not found.
MAX_ID = 2**31 - 1


def get_in_scope(model: Any, obj_id: int, scope: Scope) -> Any:
    if not 0 < obj_id <= MAX_ID:  # the database would refuse to compare it (a 500, not a 404)
        raise ScopedLoadError(model.__name__)
    obj = db.session.execute(scoped_select(model, scope).where(model.id == obj_id)).scalar()
    if obj is None:
        raise ScopedLoadError(model.__name__)
    return obj


# ---------------------------------------------------------------- route markers

@dataclass(frozen=True)
class AccessRule:
    kind: str  # "public" | "login" | "own" | "perm"
    perm: Perm | None = None
    loads: dict[str, Any] = field(default_factory=dict)
    #: Allowed while the user must change the password (logout, password change).
    during_password_change: bool = False


def public(fn: F) -> F:
    fn.access_rule = AccessRule("public")  # type: ignore[attr-defined]
    return fn


def login_only(fn: F | None = None, *, during_password_change: bool = False) -> Any:
    def wrap(f: F) -> F:
        f.access_rule = AccessRule(  # type: ignore[attr-defined]
            "login", during_password_change=during_password_change
        )
        return f

    return wrap(fn) if fn is not None else wrap


def owned(**loads: Any) -> Callable[[F], F]:
    """Any logged-in user, for their own objects: each ``name_id=Model`` URL argument is loaded
    only when the row's ``person_id`` is the user's person, or, for a model with an
    ``owner_clause(user)`` class method, when that SQL condition holds (anything else is a 404)."""

    def wrap(fn: F) -> F:
        fn.access_rule = AccessRule("own", None, dict(loads))  # type: ignore[attr-defined]
        return fn

    return wrap


def get_owned(model: Any, obj_id: int, user: Any) -> Any:
    if user is None or user.person_id is None or not 0 < obj_id <= MAX_ID:
        raise ScopedLoadError(model.__name__)
    mine = (model.owner_clause(user) if hasattr(model, "owner_clause")
            else model.person_id == user.person_id)
    stmt = select(model).where(model.id == obj_id, mine)
    if hasattr(model, "owned_load_options"):
        stmt = stmt.options(*model.owned_load_options())
    obj = db.session.execute(stmt).scalar()
    if obj is None:
        raise ScopedLoadError(model.__name__)
    return obj


def requires(perm: Perm, **loads: Any) -> Callable[[F], F]:
    """Require *perm*; each ``name_id=Model`` URL argument is loaded through the scope.

    The view receives ``name`` (the object) instead of ``name_id``; a missing or out-of-scope
    object is a 404, the same answer as a nonexistent id.
    """

    def wrap(fn: F) -> F:
        fn.access_rule = AccessRule("perm", perm, dict(loads))  # type: ignore[attr-defined]
        return fn

    return wrap


def rule_of(view: Callable[..., Any]) -> AccessRule | None:
    return getattr(view, "access_rule", None)


class RouteCheckError(RuntimeError):
    pass


def check_routes(app: Any) -> None:
    """Refuse to start with a route that declares no access or loads an id outside the scope."""
    problems = []
    for r in app.url_map.iter_rules():
        if r.endpoint == "static":
            continue
        rule = rule_of(app.view_functions[r.endpoint])
        if rule is None:
            problems.append(f"{r.rule} ({r.endpoint}): no access rule")
            continue
        for arg in r.arguments:
            if arg.endswith("_id") and arg not in rule.loads:
                problems.append(f"{r.rule} ({r.endpoint}): {arg} not loaded through the scope")
    if problems:
        raise RouteCheckError("undeclared access:\n" + "\n".join(problems))
