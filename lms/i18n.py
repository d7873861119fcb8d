"""Translation helpers. Message ids are the Simplified Chinese source text (see docs/decisions.md).

``_`` translates now (inside a request or app context); ``_l`` is lazy, for module-level labels.
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

__all__ = ["_", "_l", "ngettext"]
