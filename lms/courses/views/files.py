"""The file route: streams a course attachment to a user who may see its course (else 404).

Headers (R32): the stored Content-Type, ``nosniff``, ``Content-Disposition`` with an RFC 5987
UTF-8 name and a plain ASCII fallback (inline; ``?download=1`` for a download), ``private,
no-store`` caching, byte ranges for video seeking (``send_file(conditional=True)``). Images and
videos also get ``Content-Security-Policy: sandbox``. PDFs do not: Chrome refuses to start its
PDF viewer in a sandboxed document; a PDF keeps the application's CSP, is only ever served as
``application/pdf`` with ``nosniff``, and was refused at upload if it carried scripts.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from urllib.parse import quote

from flask import abort, current_app, request, send_file
from flask_login import current_user
from werkzeug.wrappers import Response

from lms.auth.access import login_only
from lms.courses import uploads
from lms.courses.access import attachment_for
from lms.courses.models import Attachment
from lms.courses.views import bp

log = logging.getLogger(__name__)
SANDBOXED_KINDS = frozenset({"image", "video"})
UNSAFE_ASCII = re.compile(r"[^A-Za-z0-9._ -]+")


def ascii_fallback(name: str, attachment_id: int, content_type: str) -> str:
    """A plain ASCII file name for clients without RFC 5987 support."""
    ext = uploads.EXTENSION_OF_TYPE.get(content_type, "")
    stem = name.rsplit(".", 1)[0] if "." in name else name
    plain = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    plain = UNSAFE_ASCII.sub("_", plain).strip(" ._")[:60]
    if not plain.strip("_"):
        plain = f"attachment-{attachment_id}"
    return f"{plain}{ext}"


def content_disposition(att: Attachment, disposition: str) -> str:
    fallback = ascii_fallback(att.original_name, att.id, att.content_type)
    encoded = quote(att.original_name, safe="")
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"


@bp.get("/files/<int:file_no>")
@login_only
def attachment_file(file_no: int) -> Response:
    """``file_no`` is the attachment id, checked by ``attachment_for`` (course visibility)."""
    att = attachment_for(current_user._get_current_object(), file_no)
    if att is None:
        abort(404)
    path = uploads.path_of(uploads.folder_of(current_app.config["UPLOAD_DIR"]), att.stored_name)
    if path is None or not path.is_file():
        log.warning("attachment %s: stored file missing", att.id)
        abort(404)
    resp = send_file(path, mimetype=att.content_type, conditional=True, etag=att.sha256,
                     last_modified=att.created_at, max_age=None)
    download = request.args.get("download") == "1"
    resp.headers["Content-Disposition"] = content_disposition(
        att, "attachment" if download else "inline")
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Cache-Control"] = "private, no-store"
    if att.kind in SANDBOXED_KINDS or download:
        resp.headers["Content-Security-Policy"] = "sandbox"
    return resp
