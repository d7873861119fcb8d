"""``flask lms backup`` / ``flask lms restore`` (security R45–R46): the manifest, tampered backups
refused without any change, confirmation, a backup taken while writers are active restored to
exactly the snapshot point, and a tampered audit chain failing the backup.

SQLite runs on a file database in ``tmp_path``; with ``LMS_TEST_DATABASE_URL`` pointing at
PostgreSQL (and ``pg_dump`` installed) the same tests run on databases of their own
(``<test db>_bk_live``, ``<test db>_bk_fresh``) so the shared test database is never renamed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from lms import audit, create_app
from lms import backup as bk
from lms.db import write_intent
from lms.extensions import db
from tests.conftest import TEST_CONFIG
from tests.factories import build_world, make_unit


def _is_pg(url: str) -> bool:
    return url.startswith("postgresql")


def _pg_admin(url: str):  # noqa: ANN202
    return create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")


def _pg_drop_like(url: str, prefix: str) -> None:
    engine = _pg_admin(url)
    with engine.connect() as conn:
        names = conn.execute(text("SELECT datname FROM pg_database WHERE datname LIKE :p"),
                             {"p": prefix + "%"}).scalars().all()
        for name in names:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


class Site:
    """One installation: an app with its own database and uploads folder."""

    def __init__(self, tmp_path: Path, database_url: str, name: str) -> None:
        self.uploads = tmp_path / f"{name}-uploads"
        if _is_pg(database_url):
            base = make_url(database_url)
            self.db_name = f"{base.database}_bk_{name}"
            url = base.set(database=self.db_name).render_as_string(hide_password=False)
        else:
            self.db_name = f"{name}.sqlite3"
            url = f"sqlite:///{tmp_path / self.db_name}"
        self.url = url
        self.app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url,
                               "UPLOAD_DIR": str(self.uploads),
                               "BACKUP_DIR": str(tmp_path / "backups")})
        self.runner = self.app.test_cli_runner()

    def create(self) -> None:
        if _is_pg(self.url):
            engine = _pg_admin(self.url)
            with engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)'))
                conn.execute(text(f'CREATE DATABASE "{self.db_name}"'))
            engine.dispose()
        with self.app.app_context():
            db.create_all()

    def invoke(self, *args: str, input: str | None = None):  # noqa: A002, ANN201
        return self.runner.invoke(args=["lms", *args], input=input)

    def state(self) -> dict:
        """Row counts, chain head and the uploads folder's files with their hashes."""
        with self.app.app_context():
            counts = {t.name: db.session.scalar(select(func.count()).select_from(t))
                      for t in db.metadata.sorted_tables if t.name not in bk.NOT_COUNTED}
            head = db.session.execute(select(audit.AuditEntry.id, audit.AuditEntry.hash)
                                      .order_by(audit.AuditEntry.id.desc()).limit(1)).first()
            chain_ok = audit.verify_chain() is None
            db.session.remove()
        files = {}
        if self.uploads.exists():
            files = {p.relative_to(self.uploads).as_posix():
                     hashlib.sha256(p.read_bytes()).hexdigest()
                     for p in sorted(self.uploads.rglob("*")) if p.is_file()}
        return {"counts": counts, "head": {"id": head.id, "hash": head.hash} if head else None,
                "chain_ok": chain_ok, "files": files}

    def dispose(self) -> None:
        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def live(tmp_path: Path, database_url: str):  # noqa: ANN201
    if _is_pg(database_url) and shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed")
    site = Site(tmp_path, database_url, "live")
    site.create()
    with site.app.app_context():
        w = build_world()
        for i in range(5):
            audit.record(w.sysadmin, "test.seed", w.city, n=i)
        db.session.commit()
        db.session.remove()
    (site.uploads / "evidence").mkdir(parents=True)
    (site.uploads / "evidence" / "a.pdf").write_bytes(b"%PDF-1.4 first\n")
    (site.uploads / "b.png").write_bytes(bytes(range(256)) * 40)
    yield site
    site.dispose()
    if _is_pg(database_url):
        _pg_drop_like(site.url, site.db_name)


@pytest.fixture
def fresh(tmp_path: Path, database_url: str, live: Site):  # noqa: ANN201, ARG001
    site = Site(tmp_path, database_url, "fresh")
    yield site
    site.dispose()
    if _is_pg(database_url):
        _pg_drop_like(site.url, site.db_name)


def _backup(site: Site) -> Path:
    result = site.invoke("backup")
    assert result.exit_code == 0, result.output + (result.stderr or "")
    folder = Path(result.stdout.strip())
    assert folder.is_dir() and (folder / bk.MANIFEST).is_file()
    return folder


def _manifest(folder: Path) -> dict:
    return json.loads((folder / bk.MANIFEST).read_text("utf-8"))


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_backup_writes_a_manifest_matching_every_file_and_the_snapshot(live: Site) -> None:
    before = live.state()
    folder = _backup(live)
    m = _manifest(folder)
    assert m["status"] == "ok" and m["audit_chain"] == "ok" and m["grade_integrity"] == "ok"
    db_file = folder / m["database"]["file"]
    assert _sha(db_file) == m["database"]["sha256"]
    assert db_file.stat().st_size == m["database"]["size"]
    assert {f["path"]: f["sha256"] for f in m["uploads"]} == before["files"]
    for f in m["uploads"]:
        copy = folder / "uploads" / f["path"]
        assert _sha(copy) == f["sha256"] and copy.stat().st_size == f["size"]
    assert m["counts"] == before["counts"] and m["audit_head"] == before["head"]
    assert m["created_at"] and m["version"]
    if m["dialect"] == "sqlite":
        assert m["integrity_check"] == "ok"
        assert not Path(f"{db_file}-wal").exists()
    with live.app.app_context():
        assert bk.check(folder, m) == []
    # the job lock was released, and the list shows the backup
    assert live.invoke("backup").exit_code == 0
    listing = live.invoke("restore")
    assert listing.exit_code == 2 and str(folder) in listing.stdout


@pytest.mark.parametrize("what", ["upload", "database", "manifest"])
def test_a_tampered_backup_is_refused_and_nothing_changes(live: Site, what: str) -> None:
    folder = _backup(live)
    m = _manifest(folder)
    if what == "upload":
        target = folder / "uploads" / "evidence" / "a.pdf"
        target.write_bytes(b"%PDF-1.4 forged\n")
    elif what == "database":
        target = folder / m["database"]["file"]
        data = bytearray(target.read_bytes())
        data[len(data) // 2] ^= 0xFF
        target.write_bytes(bytes(data))
    else:
        m["counts"]["user_account"] += 1
        (folder / bk.MANIFEST).write_text(json.dumps(m), "utf-8")
    with live.app.app_context():
        audit.record(None, "test.after_backup")
        db.session.commit()
        db.session.remove()
    before = live.state()
    result = live.invoke("restore", str(folder), "--yes")
    assert result.exit_code == 1, result.output + (result.stderr or "")
    assert "未做任何修改" in result.stderr
    assert live.state() == before
    leftovers = [p.name for p in live.uploads.parent.iterdir() if "restore" in p.name]
    assert leftovers == []


def test_restore_needs_the_database_name_typed(live: Site) -> None:
    folder = _backup(live)
    snapshot = live.state()
    with live.app.app_context():
        audit.record(None, "test.after_backup")
        db.session.commit()
        db.session.remove()
    (live.uploads / "late.txt").write_text("after the backup")
    changed = live.state()
    refused = live.invoke("restore", str(folder), input="lms\n")
    assert refused.exit_code == 1 and "未确认" in refused.stderr
    assert live.state() == changed
    done = live.invoke("restore", str(folder), input=f"{live.db_name}\n")
    assert done.exit_code == 0, done.output + (done.stderr or "")
    assert live.state() == snapshot


def test_unreadable_backup_exits_2(live: Site, tmp_path: Path) -> None:
    assert live.invoke("restore", str(tmp_path / "missing")).exit_code == 2
    bogus = tmp_path / "bogus"
    bogus.mkdir()
    (bogus / bk.MANIFEST).write_text("{not json", "utf-8")
    assert live.invoke("restore", str(bogus), "--yes").exit_code == 2


def test_a_tampered_audit_chain_fails_the_backup(live: Site) -> None:
    with live.app.app_context():
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text(
                "ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_no_change"))
        else:
            db.session.execute(text("DROP TRIGGER audit_entry_no_update"))
        db.session.execute(text("UPDATE audit_entry SET data = '{\"n\": 99}' WHERE id = 3"))
        db.session.commit()
        db.session.remove()
    result = live.invoke("backup")
    assert result.exit_code == 1
    assert "第 3 条" in result.stderr and result.stdout == ""
    root = Path(live.app.config["BACKUP_DIR"])
    names = [p.name for p in root.iterdir()]
    assert len(names) == 1 and names[0].endswith(".failed")
    assert (root / names[0] / "FAILED").read_text("utf-8").strip()
    assert not (root / names[0] / bk.MANIFEST).exists()
    with live.app.app_context():
        assert bk.list_backups()[0]["status"] == "failed"


def test_backup_under_active_writers_restores_exactly_the_snapshot(live: Site,
                                                                   fresh: Site) -> None:
    stop = threading.Event()
    errors: list[BaseException] = []
    done = [0] * 10

    def writer(n: int) -> None:
        try:
            with live.app.app_context():
                write_intent.set(True)
                i = 0
                while not stop.is_set():
                    i += 1
                    unit = make_unit(f"9{n:02d}{i:06d}", f"测试{n}-{i}村委会", "village")
                    audit.record(None, "test.write", unit, writer=n, i=i)
                    db.session.commit()
                    if i % 5 == 0:
                        path = live.uploads / "w" / f"{n}-{i}.txt"
                        path.parent.mkdir(exist_ok=True)
                        tmp = path.with_suffix(".tmp")
                        tmp.write_text(f"writer {n} file {i}")
                        tmp.rename(path)
                    done[n] = i
                    time.sleep(0.005)
                db.session.remove()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(10)]
    for t in threads:
        t.start()
    try:
        while sum(done) < 30 and not errors:
            time.sleep(0.01)
        folder = _backup(live)
        time.sleep(0.2)  # writers keep going after the snapshot
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, errors
    m = _manifest(folder)
    after = live.state()
    assert after["chain_ok"]
    assert after["head"]["id"] > m["audit_head"]["id"] >= 30  # the backup saw a moving target
    assert m["counts"]["audit_entry"] == m["audit_head"]["id"]
    assert after["counts"]["org_unit"] > m["counts"]["org_unit"]

    if _is_pg(fresh.url):
        fresh.create()  # an existing target: renamed aside, then replaced
    result = fresh.invoke("restore", str(folder), "--yes")
    assert result.exit_code == 0, result.output + (result.stderr or "")
    restored = fresh.state()
    assert restored["chain_ok"]
    assert restored["head"] == m["audit_head"]
    assert restored["counts"] == m["counts"]
    assert restored["files"] == {f["path"]: f["sha256"] for f in m["uploads"]}
    # org units written before the snapshot are all there, none after it
    assert m["counts"]["org_unit"] - 7 == m["audit_head"]["id"] - 5


def test_a_failing_pg_dump_is_reported(live: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    with live.app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL only")
    monkeypatch.setattr(bk.shutil, "which", lambda _name: None)
    result = live.invoke("backup")
    assert result.exit_code == 1 and "pg_dump" in result.stderr


def test_prune_keeps_14_daily_and_12_monthly(live: Site, tmp_path: Path) -> None:
    from datetime import date, timedelta

    root = tmp_path / "rotation"
    day = date(2026, 1, 1)
    for i in range(100):  # 1 January … 10 April
        d = day + timedelta(days=i)
        folder = root / f"{d:%Y%m%d}T020000Z"
        folder.mkdir(parents=True)
        (folder / bk.MANIFEST).write_text(json.dumps({"created_at": d.isoformat()}), "utf-8")
    (root / "20260101T030000Z.failed").mkdir()
    (root / "20260410T030000Z.failed").mkdir()
    (root / "20260410T040000Z.partial").mkdir()
    with live.app.app_context():
        removed = bk.prune(root)
    kept = sorted(p.name for p in root.iterdir())
    assert len(removed) == 100 - 16 + 1  # kept: 14 days (28 Mar–10 Apr), 31 Jan, 28 Feb
    assert "20260131T020000Z" in kept and "20260228T020000Z" in kept
    assert "20260331T020000Z" in kept and "20260328T020000Z" in kept  # 14 daily: 28 Mar on
    assert "20260327T020000Z" not in kept and "20260101T030000Z.failed" not in kept
    assert "20260410T030000Z.failed" in kept and "20260410T040000Z.partial" in kept


def test_a_failing_integrity_code_in_the_copy_fails_the_backup(
        live: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    """The grade/stipend verifier runs on the copy (its raw-SQL detection is tested in
    tests/grading); here only the wiring: a reported row fails the backup."""
    from lms.grading import integrity

    urls = []

    def first_problem():  # noqa: ANN202
        urls.append(str(db.engine.url))
        return integrity.RowProblem("stipend_line", 7)

    monkeypatch.setattr(integrity, "first_problem", first_problem)
    result = live.invoke("backup")
    assert result.exit_code == 1 and "补贴明细第 7 行" in result.stderr
    assert urls and all(("_verify_" in u or "/db.sqlite3" in u) for u in urls)  # on the copy
