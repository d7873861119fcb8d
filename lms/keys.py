"""Write missing secrets into ``instance/config.py`` (run by ``make run``; never overwrites)."""

from __future__ import annotations

import re
import secrets
import sys
from pathlib import Path

KEYS = ("SECRET_KEY", "AUDIT_KEY", "PII_KEY")


def ensure_secrets(path: Path) -> list[str]:
    """Append a random value for every key not yet set in *path*; return the keys written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    missing = [k for k in KEYS if not re.search(rf"^{k}\s*=", text, re.M)]
    if missing:
        lines = [f'{k} = "{secrets.token_urlsafe(48)}"' for k in missing]
        prefix = "" if not text or text.endswith("\n") else "\n"
        path.write_text(text + prefix + "\n".join(lines) + "\n", encoding="utf-8")
        path.chmod(0o600)
    return missing


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "instance/config.py")
    written = ensure_secrets(target)
    print(f"secrets: {'wrote ' + ', '.join(written) if written else 'already present'} in {target}")
