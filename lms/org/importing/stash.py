"""An uploaded import file kept between the preview and the confirmation.

Files live under ``UPLOAD_DIR/imports/`` named by a random token; a small JSON file beside each
binds it to the user who uploaded it and to the kind of import. The client sends back only the
token (checked against a strict pattern), never a path. Files are deleted after the confirmation
and swept when older than ``MAX_AGE``.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

MAX_AGE_SECONDS = 2 * 3600
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")


@dataclass(frozen=True)
class Stashed:
    token: str
    filename: str
    data: bytes


def _folder() -> Path:
    folder = Path(current_app.config["UPLOAD_DIR"]) / "imports"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def _paths(token: str) -> tuple[Path, Path]:
    folder = _folder()
    return folder / f"{token}.bin", folder / f"{token}.json"


def display_name(filename: str | None) -> str:
    """The uploaded file's own name, for display only: no folders, no control characters."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")[:100]


def put(data: bytes, *, user_id: int, kind: str, filename: str) -> str:
    """Keep *data* for *user_id*; returns the token naming it."""
    sweep()
    token = secrets.token_urlsafe(32)
    data_path, meta_path = _paths(token)
    _write(data_path, data)
    _write(meta_path, json.dumps({"user_id": user_id, "kind": kind,
                                  "filename": display_name(filename)}).encode())
    return token


def _write(path: Path, content: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(content)


def get(token: object, *, user_id: int, kind: str) -> Stashed | None:
    """The kept file, if *token* names one of *user_id*'s uploads of this kind that is not stale."""
    if not isinstance(token, str) or not TOKEN_RE.match(token):
        return None
    data_path, meta_path = _paths(token)
    try:
        if time.time() - meta_path.stat().st_mtime > MAX_AGE_SECONDS:
            drop(token)
            return None
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("user_id") != user_id or meta.get("kind") != kind:
            return None
        return Stashed(token, str(meta.get("filename", "")), data_path.read_bytes())
    except (OSError, ValueError):
        return None


def drop(token: str) -> None:
    if TOKEN_RE.match(token):
        for path in _paths(token):
            path.unlink(missing_ok=True)


def sweep(max_age: int = MAX_AGE_SECONDS) -> int:
    """Delete kept files older than *max_age* seconds; returns how many files were deleted."""
    cutoff, removed = time.time() - max_age, 0
    for path in _folder().iterdir():
        try:
            if path.suffix in (".bin", ".json") and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                removed += 1
        except OSError:
            continue
    return removed
