"""Backup and restore of the database and the uploaded files (security R45–R46).

A backup is a folder ``<BACKUP_DIR>/<UTC timestamp>/`` holding

- ``db.sqlite3`` — a copy made with SQLite's online backup API in one step (a consistent
  snapshot; WAL writers are not blocked; never a file copy of a live database), or ``db.dump`` —
  ``pg_dump -Fc`` (a consistent snapshot; readers and writers are not blocked), plus
  ``globals.sql`` (``pg_dumpall --globals-only``) when the role may read it;
- ``uploads/`` — a copy of ``UPLOAD_DIR``;
- ``manifest.json`` — every file's relative path, size and SHA-256, the database file's SHA-256,
  the app version and alembic revision, the audit chain head and the row count of every table
  *as found in the copy* (the snapshot point), sealed with ``HMAC(AUDIT_KEY)``.

The copy is verified before the folder gets its final name: ``PRAGMA integrity_check`` (SQLite),
then the audit chain and the grade/stipend integrity codes are checked on the copy itself, opened
by a second app instance (PostgreSQL: the dump restored into a scratch database
``<db>_verify_<ts>``, dropped afterwards). The folder is built as ``<ts>.partial``; a failed backup
ends as ``<ts>.failed`` with a ``FAILED`` file naming the reason.

A restore checks the manifest seal and every file's hash first (nothing is touched when one
differs), restores into a scratch database, verifies it (integrity, audit chain, integrity codes,
row counts and chain head equal to the manifest's), stages the uploads in a temporary folder, and
only then swaps: SQLite by ``os.replace`` of the database file (the previous file is kept beside
it as ``<name>.before-restore-<ts>``); PostgreSQL by renaming databases (the previous one is kept
as ``<db>_pre_restore_<ts>``); the uploads folder by renaming (the previous one is kept as
``<dir>.before-restore-<ts>``). The application must be stopped during a restore.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import sqlite3
import subprocess  # noqa: S404 - pg_dump / pg_restore with argument lists, no shell
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

from flask import current_app
from sqlalchemy import create_engine, func, inspect, select, table, text
from sqlalchemy.engine import URL

from lms import audit
from lms.db import utcnow, write_intent
from lms.extensions import db
from lms.grading import integrity
from lms.i18n import _

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_FILE = "db.sqlite3"
PG_FILE = "db.dump"
PG_GLOBALS = "globals.sql"
UPLOADS = "uploads"
#: Tables whose rows are not part of the data: locks of running jobs, the migration marker.
NOT_COUNTED = ("job_lock", "alembic_version")

VERIFICATION_FAILED = 1
UNREADABLE = 2


class BackupError(Exception):
    """A backup or restore that did not complete; ``code`` is the command's exit code."""

    def __init__(self, message: str, code: int = VERIFICATION_FAILED) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass
class Snapshot:
    """What a database copy holds: chain head, row counts, migration, and what failed."""

    audit_head: dict[str, Any] | None = None
    counts: dict[str, int] = field(default_factory=dict)
    alembic_revision: str | None = None
    problems: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- helpers


def backup_root() -> Path:
    configured = current_app.config.get("BACKUP_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "backups"


def _stamp(now: datetime) -> str:
    return now.strftime("%Y%m%dT%H%M%SZ")


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _copy_hashed(src: Path, dst: Path) -> tuple[int, str]:
    """Copy *src* to *dst* and return the size and SHA-256 of what was written."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    h, size = hashlib.sha256(), 0
    with src.open("rb") as fin, dst.open("wb") as fout:
        for chunk in iter(lambda: fin.read(1 << 20), b""):
            h.update(chunk)
            size += len(chunk)
            fout.write(chunk)
        fout.flush()
        os.fsync(fout.fileno())
    shutil.copystat(src, dst)
    return size, h.hexdigest()


def _key() -> bytes:
    return str(current_app.config.get("AUDIT_KEY") or current_app.config["SECRET_KEY"]).encode()


def _seal(manifest: dict[str, Any]) -> str:
    body = {k: v for k, v in manifest.items() if k != "seal"}
    canonical = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hmac.new(_key(), canonical.encode(), hashlib.sha256).hexdigest()


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=2, sort_keys=True)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _app_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("minzheng-lms")
    except PackageNotFoundError:
        return "unknown"


def _dialect() -> str:
    return db.engine.dialect.name


def _sqlite_path() -> Path:
    url = db.engine.url
    if not url.database or url.database == ":memory:" or url.query.get("mode") == "memory":
        raise BackupError(_("内存数据库无法备份或恢复，请配置数据库文件。"), UNREADABLE)
    return Path(url.database).resolve()


def _sqlite_integrity(path: Path) -> str | None:
    """None when ``PRAGMA integrity_check`` says ok, else its first complaint."""
    try:
        con = sqlite3.connect(path)
        try:
            rows = con.execute("PRAGMA integrity_check").fetchall()
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        return str(exc)
    first = rows[0][0] if rows else "no result"
    return None if first == "ok" else str(first)


def _sqlite_settle(path: Path) -> None:
    """Fold any WAL into the file and remove the -wal/-shm files (the file then stands alone)."""
    con = sqlite3.connect(path)
    try:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        con.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


# --------------------------------------------------------------------------- verification


def inspect_database(url: str | URL) -> Snapshot:
    """Open *url* with a second app instance (same keys) and verify it: the audit chain, the
    integrity codes of grade and stipend rows; also read its chain head and row counts."""
    from lms import create_app

    config = {k: v for k, v in current_app.config.items() if k.isupper()}
    config["SQLALCHEMY_DATABASE_URI"] = url
    other = create_app(config)
    token = write_intent.set(False)
    snap = Snapshot()
    try:
        with other.app_context():
            try:
                broken = audit.verify_chain()
                if broken is not None:
                    snap.problems.append(_("审计日志第 %(id)s 条校验失败：%(reason)s",
                                           id=broken.entry_id, reason=broken.reason))
                row = integrity.first_problem()
                if row is not None:
                    snap.problems.append(row.message())
                head = db.session.execute(select(audit.AuditEntry.id, audit.AuditEntry.hash)
                                          .order_by(audit.AuditEntry.id.desc()).limit(1)).first()
                snap.audit_head = {"id": head.id, "hash": head.hash} if head else None
                names = inspect(db.engine).get_table_names()
                for name in sorted(names):
                    if name not in NOT_COUNTED:
                        snap.counts[name] = db.session.scalar(
                            select(func.count()).select_from(table(name)))
                if "alembic_version" in names:
                    snap.alembic_revision = db.session.scalar(
                        text("SELECT version_num FROM alembic_version"))
            finally:
                db.session.remove()
                db.engine.dispose()
    finally:
        write_intent.reset(token)
    return snap


# --------------------------------------------------------------------------- PostgreSQL


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(_("找不到 %(tool)s：请安装与数据库服务器版本相同或更新的 PostgreSQL "
                            "客户端工具（Debian：postgresql-client）。", tool=name))
    return path


def _pg_conn_args(url: URL) -> tuple[list[str], dict[str, str]]:
    args = ["--no-password"]
    host = url.host or url.query.get("host")  # ?host=/run/postgresql: a unix socket
    if host:
        args += ["-h", str(host)]
    if url.port:
        args += ["-p", str(url.port)]
    if url.username:
        args += ["-U", url.username]
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return args, env


def _run(cmd: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise BackupError(_("%(tool)s 失败：%(error)s", tool=what,
                            error=(done.stderr or done.stdout).strip()[-2000:]))


def _admin_engine(url: URL) -> Any:
    maintenance = current_app.config.get("BACKUP_PG_MAINTENANCE_DB") or "postgres"
    return create_engine(url.set(database=maintenance), isolation_level="AUTOCOMMIT")


def _pg_exists(conn: Any, name: str) -> bool:
    return conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                        {"n": name}).first() is not None


def _pg_drop(conn: Any, name: str) -> None:
    q = conn.dialect.identifier_preparer.quote(name)
    conn.execute(text(f"DROP DATABASE IF EXISTS {q} WITH (FORCE)"))


def _pg_restore_into(url: URL, dump: Path, name: str) -> URL:
    """Create database *name* and restore *dump* into it; return its URL."""
    engine = _admin_engine(url)
    try:
        with engine.connect() as conn:
            _pg_drop(conn, name)
            q = conn.dialect.identifier_preparer.quote(name)
            conn.execute(text(f"CREATE DATABASE {q} TEMPLATE template0"))
    finally:
        engine.dispose()
    args, env = _pg_conn_args(url)
    _run([_tool("pg_restore"), *args, "--no-owner", "--no-acl", "--exit-on-error", "-d", name,
          str(dump)], env, "pg_restore")
    return url.set(database=name)


def _pg_drop_database(url: URL, name: str) -> None:
    engine = _admin_engine(url)
    try:
        with engine.connect() as conn:
            _pg_drop(conn, name)
    finally:
        engine.dispose()


@contextmanager
def _pg_scratch(url: URL, dump: Path, name: str) -> Iterator[URL]:
    """A scratch database restored from *dump*; dropped on the way out unless renamed."""
    try:
        yield _pg_restore_into(url, dump, name)
    finally:
        _pg_drop_database(url, name)


# --------------------------------------------------------------------------- backup


def backup(dest: Path | None = None, *, now: datetime | None = None,
           warn: Callable[[str], None] = lambda _m: None) -> Path:
    """Back up the database and the uploads into a new folder under *dest*; return it.

    Raises ``BackupError`` when the copy fails verification (the folder then ends in
    ``.failed``)."""
    now = now or utcnow()
    root = (dest or backup_root()).resolve()
    root.mkdir(parents=True, exist_ok=True)
    stamp = _stamp(now)
    name, n = stamp, 1
    while any((root / f"{name}{s}").exists() for s in ("", ".partial", ".failed")):
        n += 1
        name = f"{stamp}-{n}"
    work = root / f"{name}.partial"
    work.mkdir()
    try:
        manifest = _build(work, stamp, now, warn)
        _write_json(work / MANIFEST, manifest)
        final = root / name
        work.rename(final)
        return final
    except BaseException as exc:
        failed = root / f"{name}.failed"
        reason = exc.message if isinstance(exc, BackupError) else repr(exc)
        with suppress(OSError):
            (work / "FAILED").write_text(reason + "\n", encoding="utf-8")
            work.rename(failed)
        raise


def _build(work: Path, stamp: str, now: datetime, warn: Callable[[str], None]) -> dict[str, Any]:
    dialect = _dialect()
    manifest: dict[str, Any] = {
        "format": FORMAT, "app": "minzheng-lms", "version": _app_version(),
        "created_at": now.isoformat(), "dialect": dialect,
    }
    if dialect == "sqlite":
        copy = work / SQLITE_FILE
        _sqlite_snapshot(copy)
        complaint = _sqlite_integrity(copy)
        if complaint is not None:
            raise BackupError(_("备份副本完整性检查（integrity_check）未通过：%(detail)s",
                                detail=complaint))
        snap = inspect_database(f"sqlite:///{copy}")
        _sqlite_settle(copy)
        manifest["integrity_check"] = "ok"
    elif dialect == "postgresql":
        copy = work / PG_FILE
        url = db.engine.url
        args, env = _pg_conn_args(url)
        _run([_tool("pg_dump"), *args, "-Fc", "-f", str(copy), "-d", str(url.database)], env,
             "pg_dump")
        try:
            _run([_tool("pg_dumpall"), *args, "--globals-only", "--no-role-passwords",
                  "-f", str(work / PG_GLOBALS)], env, "pg_dumpall")
        except BackupError as exc:
            (work / PG_GLOBALS).unlink(missing_ok=True)
            warn(_("未备份角色等全局对象（pg_dumpall --globals-only）：%(reason)s",
                   reason=exc.message))
        with _pg_scratch(url, copy, f"{url.database}_verify_{stamp.lower()}") as scratch:
            snap = inspect_database(scratch)
    else:
        raise BackupError(_("不支持的数据库：%(name)s", name=dialect), UNREADABLE)
    if snap.problems:
        raise BackupError(_("备份副本校验未通过：%(problem)s", problem=snap.problems[0]))
    files = _copy_uploads(Path(current_app.config["UPLOAD_DIR"]), work / UPLOADS)
    manifest.update({
        "database": {"file": copy.name, "size": copy.stat().st_size, "sha256": sha256_file(copy)},
        "alembic_revision": snap.alembic_revision,
        "audit_head": snap.audit_head,
        "counts": snap.counts,
        "audit_chain": "ok",
        "grade_integrity": "ok",
        "uploads": files,
        "status": "ok",
    })
    if (work / PG_GLOBALS).exists():
        manifest["globals"] = {"file": PG_GLOBALS, "sha256": sha256_file(work / PG_GLOBALS)}
    manifest["seal"] = _seal(manifest)
    return manifest


def _sqlite_snapshot(target: Path) -> None:
    """One-step online backup through the app's own connection (works for a WAL database while
    writers keep going), then drop the copied job locks (they belong to running processes)."""
    raw = db.engine.raw_connection()
    try:
        dst = sqlite3.connect(target)
        try:
            raw.driver_connection.backup(dst, pages=-1)
            if dst.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                           "AND name = 'job_lock'").fetchone():
                dst.execute("DELETE FROM job_lock")
                dst.commit()
        finally:
            dst.close()
    finally:
        raw.close()


def _copy_uploads(src: Path, dst: Path) -> list[dict[str, Any]]:
    dst.mkdir(parents=True, exist_ok=True)
    files: list[dict[str, Any]] = []
    if not src.is_dir():
        return files
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames.sort()
        for fname in sorted(filenames):
            path = Path(dirpath) / fname
            if path.is_symlink() or not path.is_file():
                continue
            rel = path.relative_to(src).as_posix()
            try:
                size, digest = _copy_hashed(path, dst / rel)
            except FileNotFoundError:  # removed while we walked (e.g. an expired import stash)
                continue
            files.append({"path": rel, "size": size, "sha256": digest})
    return files


# --------------------------------------------------------------------------- listing, pruning


def list_backups(root: Path | None = None) -> list[dict[str, Any]]:
    """Backup folders under *root*, newest first: name, path, status, created_at."""
    root = root or backup_root()
    out = []
    if not root.is_dir():
        return out
    for path in sorted(root.iterdir(), reverse=True):
        if not path.is_dir():
            continue
        status = "failed" if path.name.endswith(".failed") else (
            "partial" if path.name.endswith(".partial") else "ok")
        created = None
        with suppress(OSError, ValueError):
            created = json.loads((path / MANIFEST).read_text("utf-8")).get("created_at")
        if status == "ok" and created is None:
            status = "incomplete"
        out.append({"name": path.name, "path": path, "status": status, "created_at": created})
    return out


def prune(root: Path | None = None, *, daily: int = 14, monthly: int = 12) -> list[Path]:
    """Keep the newest *daily* good backups and the newest one of each of the last *monthly*
    months; delete the other good and failed ones (partial folders are left alone). Returns what
    was deleted."""
    entries = list_backups(root)
    good = [e for e in entries if e["status"] == "ok"]
    keep = {e["name"] for e in good[:daily]}
    months: list[str] = []
    for e in good:
        month = e["name"][:6]
        if month not in months and len(months) < monthly:
            months.append(month)
            keep.add(e["name"])
    removed = []
    for e in entries:
        if e["status"] in ("ok", "failed") and e["name"] not in keep:
            if e["status"] == "failed" and e in entries[:daily]:
                continue  # recent failures stay for inspection
            shutil.rmtree(e["path"])
            removed.append(e["path"])
    return removed


# --------------------------------------------------------------------------- restore


def load(source: Path) -> tuple[Path, dict[str, Any]]:
    """The backup folder and its manifest (``source`` is the folder or a file inside it)."""
    folder = source if source.is_dir() else source.parent
    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise BackupError(_("无法读取备份清单 %(path)s：%(reason)s", path=str(path),
                            reason=str(exc)), UNREADABLE) from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(_("备份清单格式不正确：%(path)s", path=str(path)), UNREADABLE)
    return folder, manifest


def check(folder: Path, manifest: dict[str, Any]) -> list[str]:
    """Everything wrong with the backup folder against its manifest (empty = all good)."""
    problems = []
    if not hmac.compare_digest(str(manifest.get("seal", "")), _seal(manifest)):
        problems.append(_("备份清单的校验码不符（清单被修改，或 AUDIT_KEY 不同）。"))
    if manifest.get("status") != "ok" or folder.name.endswith((".failed", ".partial")) \
            or (folder / "FAILED").exists():
        problems.append(_("这是一个未通过校验或未完成的备份。"))
    try:
        entries = [(manifest["database"]["file"], manifest["database"]["size"],
                    manifest["database"]["sha256"])]
        entries += [(f"{UPLOADS}/{f['path']}", f["size"], f["sha256"])
                    for f in manifest["uploads"]]
        if "globals" in manifest:
            entries.append((manifest["globals"]["file"], None, manifest["globals"]["sha256"]))
    except (KeyError, TypeError):
        return [*problems, _("备份清单缺少必要内容。")]
    listed = set()
    for rel, size, digest in entries:
        pure = PurePosixPath(rel)
        if pure.is_absolute() or ".." in pure.parts:
            problems.append(_("备份清单中的路径不安全：%(path)s", path=rel))
            continue
        listed.add(rel)
        path = folder / rel
        if not path.is_file():
            problems.append(_("备份中缺少文件：%(path)s", path=rel))
        elif (size is not None and path.stat().st_size != size) or sha256_file(path) != digest:
            problems.append(_("备份文件与清单的 SHA-256 不符：%(path)s", path=rel))
    uploads = folder / UPLOADS
    if uploads.is_dir():
        for path in sorted(uploads.rglob("*")):
            rel = path.relative_to(folder).as_posix()
            if path.is_file() and rel not in listed:
                problems.append(_("备份中有清单未列出的文件：%(path)s", path=rel))
    return problems


def target_name() -> tuple[str, str]:
    """(name the operator types to confirm, full description of the target)."""
    if _dialect() == "sqlite":
        path = _sqlite_path()
        return path.name, str(path)
    url = db.engine.url
    return str(url.database), url.render_as_string(hide_password=True)


def _compare(snap: Snapshot, manifest: dict[str, Any]) -> list[str]:
    problems = list(snap.problems)
    if snap.audit_head != manifest.get("audit_head"):
        problems.append(_("恢复后的审计链末条与备份清单不一致。"))
    if snap.counts != manifest.get("counts"):
        diff = sorted(k for k in set(snap.counts) | set(manifest.get("counts") or {})
                      if snap.counts.get(k) != (manifest.get("counts") or {}).get(k))
        problems.append(_("恢复后的行数与备份清单不一致：%(tables)s", tables=", ".join(diff)))
    return problems


@dataclass
class Restored:
    target: str
    previous_db: str | None
    previous_uploads: str | None
    files: int
    audit_head: dict[str, Any] | None


def restore(source: Path, *, confirm: Callable[[str, str], bool],
            now: datetime | None = None) -> Restored:
    """Verify the backup at *source*, restore it into a scratch database, verify that, then swap
    the database and the uploads folder in. *confirm(name, description)* is asked after the
    backup itself checked out and before anything is written."""
    folder, manifest = load(source)
    problems = check(folder, manifest)
    if problems:
        raise BackupError(_("备份校验未通过，未做任何修改：%(problem)s", problem=problems[0]))
    dialect = _dialect()
    if manifest.get("dialect") != dialect:
        raise BackupError(_("备份来自 %(src)s 数据库，当前配置的是 %(dst)s。",
                            src=str(manifest.get("dialect")), dst=dialect), UNREADABLE)
    name, description = target_name()
    if not confirm(name, description):
        raise BackupError(_("未确认，已取消恢复，未做任何修改。"))
    stamp = _stamp(now or utcnow())
    upload_dir = Path(current_app.config["UPLOAD_DIR"]).resolve()
    if dialect == "sqlite":
        return _restore_sqlite(folder, manifest, stamp, upload_dir)
    return _restore_pg(folder, manifest, stamp, upload_dir)


def _stage_uploads(folder: Path, manifest: dict[str, Any], upload_dir: Path,
                   stamp: str) -> Path:
    stage = upload_dir.with_name(f".{upload_dir.name}.restore-{stamp}")
    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir(parents=True)
    for f in manifest["uploads"]:
        _size, digest = _copy_hashed(folder / UPLOADS / f["path"], stage / f["path"])
        if digest != f["sha256"]:
            shutil.rmtree(stage)
            raise BackupError(_("备份文件与清单的 SHA-256 不符：%(path)s", path=f["path"]))
    return stage


def _swap_uploads(stage: Path, upload_dir: Path, stamp: str) -> Path | None:
    previous = None
    if upload_dir.exists():
        previous = upload_dir.with_name(f"{upload_dir.name}.before-restore-{stamp}")
        upload_dir.rename(previous)
    stage.rename(upload_dir)
    return previous


def _restore_sqlite(folder: Path, manifest: dict[str, Any], stamp: str,
                    upload_dir: Path) -> Restored:
    target = _sqlite_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = target.with_name(f".{target.name}.restore-{stamp}")
    stage = None
    try:
        shutil.copyfile(folder / manifest["database"]["file"], scratch)
        if sha256_file(scratch) != manifest["database"]["sha256"]:
            raise BackupError(_("备份文件与清单的 SHA-256 不符：%(path)s",
                                path=manifest["database"]["file"]))
        complaint = _sqlite_integrity(scratch)
        if complaint is not None:
            raise BackupError(_("恢复副本完整性检查（integrity_check）未通过：%(detail)s",
                                detail=complaint))
        snap = inspect_database(f"sqlite:///{scratch}")
        problems = _compare(snap, manifest)
        if problems:
            raise BackupError(_("恢复副本校验未通过，未做任何修改：%(problem)s",
                                problem=problems[0]))
        _sqlite_settle(scratch)
        stage = _stage_uploads(folder, manifest, upload_dir, stamp)
        # Swap: nobody may keep the old file open (the application must be stopped).
        db.session.remove()
        db.engine.dispose()
        previous = None
        if target.exists():
            _sqlite_settle(target)
            previous = target.with_name(f"{target.name}.before-restore-{stamp}")
            try:
                os.link(target, previous)
            except OSError:
                shutil.copy2(target, previous)
        for suffix in ("-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        os.replace(scratch, target)
        previous_uploads = _swap_uploads(stage, upload_dir, stamp)
    except BaseException:
        for path in (scratch, Path(f"{scratch}-wal"), Path(f"{scratch}-shm")):
            path.unlink(missing_ok=True)
        if stage is not None and stage.exists():
            shutil.rmtree(stage)
        raise
    return Restored(str(target), str(previous) if previous else None,
                    str(previous_uploads) if previous_uploads else None,
                    len(manifest["uploads"]), snap.audit_head)


def _restore_pg(folder: Path, manifest: dict[str, Any], stamp: str,
                upload_dir: Path) -> Restored:
    url = db.engine.url
    target = str(url.database)
    scratch = f"{target}_restore_{stamp.lower()}"
    dump = folder / manifest["database"]["file"]
    stage = None
    renamed = False
    try:
        scratch_url = _pg_restore_into(url, dump, scratch)
        snap = inspect_database(scratch_url)
        problems = _compare(snap, manifest)
        if problems:
            raise BackupError(_("恢复副本校验未通过，未做任何修改：%(problem)s",
                                problem=problems[0]))
        stage = _stage_uploads(folder, manifest, upload_dir, stamp)
        db.session.remove()
        db.engine.dispose()
        previous = f"{target}_pre_restore_{stamp.lower()}"
        engine = _admin_engine(url)
        try:
            with engine.connect() as conn:
                quote = conn.dialect.identifier_preparer.quote
                existed = _pg_exists(conn, target)
                if existed:
                    conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                      "WHERE datname = :n AND pid <> pg_backend_pid()"),
                                 {"n": target})
                    conn.execute(text(f"ALTER DATABASE {quote(target)} RENAME TO "
                                      f"{quote(previous)}"))
                try:
                    conn.execute(text(f"ALTER DATABASE {quote(scratch)} RENAME TO "
                                      f"{quote(target)}"))
                except Exception:
                    if existed:  # put the previous database back under its name
                        conn.execute(text(f"ALTER DATABASE {quote(previous)} RENAME TO "
                                          f"{quote(target)}"))
                    raise
                renamed = True
        finally:
            engine.dispose()
        previous_uploads = _swap_uploads(stage, upload_dir, stamp)
    except BaseException:
        if not renamed:
            with suppress(Exception):
                _pg_drop_database(url, scratch)
        if stage is not None and stage.exists():
            shutil.rmtree(stage)
        raise
    return Restored(target, previous if existed else None,
                    str(previous_uploads) if previous_uploads else None,
                    len(manifest["uploads"]), snap.audit_head)
