"""Virus-scan hook for uploads (security R35): ClamAV's clamd over its unix socket.

Off unless ``UPLOAD_CLAMD_SOCKET`` names the socket. When on it fails closed: a file is stored
only when clamd answers ``OK``; a finding, an error or an unreachable scanner refuses the upload.
clamd refuses streams above its ``StreamMaxLength`` (25 MB by default): raise it to the largest
upload cap (``UPLOAD_MAX_VIDEO_BYTES``) or video uploads are refused.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from lms.courses.uploads import UploadRejected
from lms.i18n import _

CHUNK = 64 * 1024


def scanner_from_config(config: Mapping[str, Any]) -> Callable[[Path], None] | None:
    socket_path = config.get("UPLOAD_CLAMD_SOCKET")
    if not socket_path:
        return None
    timeout = float(config.get("UPLOAD_CLAMD_TIMEOUT", 120))
    return lambda path: clamd_scan(path, str(socket_path), timeout)


def _unavailable() -> UploadRejected:
    return UploadRejected(_("病毒检查暂时无法进行，文件没有保存。请稍后重试，或联系系统管理员。"))


def clamd_scan(path: Path, socket_path: str, timeout: float) -> None:
    """Stream *path* to clamd (``INSTREAM``); returns when clean, raises ``UploadRejected``."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(timeout)
            conn.connect(socket_path)
            conn.sendall(b"zINSTREAM\0")
            with path.open("rb") as fh:
                while chunk := fh.read(CHUNK):
                    conn.sendall(len(chunk).to_bytes(4, "big") + chunk)
            conn.sendall(b"\0\0\0\0")
            reply = _read_reply(conn)
    except OSError as exc:
        raise _unavailable() from exc
    if reply.endswith("FOUND"):
        raise UploadRejected(_("文件未通过病毒检查，没有保存。请确认文件来源可靠。"))
    if not reply.endswith(": OK"):
        raise _unavailable()


def _read_reply(conn: socket.socket) -> str:
    reply = b""
    while not reply.endswith(b"\0") and len(reply) < 4096:
        part = conn.recv(4096)
        if not part:
            break
        reply += part
    return reply.rstrip(b"\0").decode("utf-8", "replace").strip()
