"""Account services: login with lockout, server-side sessions, passwords, roles, bulk accounts.

Services take ``actor`` and ``now``, flush and never commit. Split by what they do: ``accounts``,
``sessions`` (login and sessions), ``roles`` (who may manage whom, grants), ``trainees`` (bulk
trainee accounts). Callers use ``from lms.auth import services`` and the names below.
"""

from lms.auth.services.accounts import (
    change_password,
    check_new_username,
    create_user,
    password_expired,
    reset_password,
    set_active,
    unlock,
)
from lms.auth.services.common import LoginFailed, is_admin, normalize_username
from lms.auth.services.roles import (
    could_grant,
    ensure_covers,
    ensure_manageable,
    grant_role,
    revoke_role,
)
from lms.auth.services.sessions import (
    authenticate,
    end_all_sessions,
    end_session,
    find_login,
    live_session_count,
    resolve_session,
    revoke_all_sessions,
    start_session,
)
from lms.auth.services.trainees import (
    NewAccount,
    create_trainee_accounts,
    hash_workers,
    new_credentials,
    trainee_candidates,
)

__all__ = [
    "LoginFailed", "NewAccount", "authenticate", "change_password", "check_new_username",
    "could_grant", "create_trainee_accounts", "create_user", "end_all_sessions", "end_session",
    "ensure_covers", "ensure_manageable", "find_login", "grant_role", "hash_workers", "is_admin",
    "live_session_count", "new_credentials", "normalize_username", "password_expired",
    "reset_password", "resolve_session", "revoke_all_sessions", "revoke_role", "set_active",
    "start_session", "trainee_candidates", "unlock",
]
