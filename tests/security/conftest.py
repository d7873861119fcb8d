"""The HTTP-layer corpora run once, on the SQLite pass of ``make test`` (issue 8: the heavy
corpora once): what they check — the authorization decision per route, CSRF, security headers, the
XSS sanitiser and the upload checks — does not depend on the database. The corpora that exercise
SQL (IDOR scope filters, lockout and session rows, tamper detection, audit coverage and retention)
run on both databases."""

from __future__ import annotations

import os

import pytest

ONCE_ON_SQLITE = {"test_authz_matrix.py", "test_csrf.py", "test_headers.py", "test_xss_corpus.py",
                  "test_upload_corpus.py"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not os.environ.get("LMS_TEST_DATABASE_URL", "").startswith("postgresql"):
        return
    skip = pytest.mark.skip(reason="HTTP-layer corpus: runs once, on the SQLite pass")
    for item in items:
        if item.path.name in ONCE_ON_SQLITE:
            item.add_marker(skip)
