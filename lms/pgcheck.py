"""Exit 0 when the PostgreSQL URL given accepts connections (used by ``make test``)."""

from __future__ import annotations

import sys

from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError

if __name__ == "__main__":
    try:
        engine = create_engine(sys.argv[1], connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except (SQLAlchemyError, IndexError, ModuleNotFoundError):
        sys.exit(1)
