"""Template databases per size and backend, rebuilt when the code they depend on changes:
SQLite ``bench/cache/<size>-sqlite.db``; PostgreSQL database ``lms_bench_tpl_<size>`` (copied
with CREATE DATABASE … TEMPLATE). The scenario metadata sits next to them as JSON."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench import template

CACHE = template.ROOT / "bench/cache"


@dataclass
class Setup:
    template: str  # SQLite file path or PostgreSQL database name
    run_url: str
    meta: dict[str, Any]


def _pg_exists(base: str, name: str) -> bool:
    admin = create_engine(make_url(base).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        found = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                             {"n": name}).first() is not None
    admin.dispose()
    return found


def _pg_create(base: str, name: str) -> None:
    admin = create_engine(make_url(base).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def ensure(size: str, db: str, pg_base: str) -> Setup:
    CACHE.mkdir(parents=True, exist_ok=True)
    meta_path = CACHE / f"{size}-{db}.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    if db == "sqlite":
        tpl = str(CACHE / f"{size}-sqlite.db")
        url, run_url = f"sqlite:///{tpl}", f"sqlite:///{CACHE / f'run-{size}.db'}"
        present = Path(tpl).exists()
    else:
        tpl = f"lms_bench_tpl_{size.lower()}"
        url = f"{pg_base.rstrip('/')}/{tpl}"
        run_url = f"{pg_base.rstrip('/')}/lms_bench_run_{size.lower()}"
        present = _pg_exists(url, tpl)
    if not present or meta.get("version") != template.version():
        print(f"building the {size} template ({db}) …", flush=True)
        started = time.monotonic()
        if db == "pg":
            _pg_create(url, tpl)
        else:
            Path(tpl).unlink(missing_ok=True)
        meta = template.build(url, size)
        meta["build_seconds"] = round(time.monotonic() - started, 1)
        template.save_meta(meta_path, meta)
        print(f"template built in {meta['build_seconds']} s", flush=True)
    return Setup(tpl, run_url, meta)
