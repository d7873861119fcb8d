"""``flask grading ...`` (contracts in shared/spec/cli.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy.exc import SQLAlchemyError

from lms.errors import DomainError
from lms.extensions import db
from lms.grading import policy_store
from lms.grading import simulate as simulation
from lms.grading.policy import Policy, default_policy
from lms.i18n import _
from lms.org.importing.decode import FileProblem

grading_cli = AppGroup("grading", help="Annual evaluation, levels and stipends.")


def _policy(year: int) -> Policy:
    """The deployment city's stored policy of *year* (effective or locked), else the defaults;
    a database without the tables (not migrated) also gives the defaults. Reads only."""
    try:
        return policy_store.deployment_policy(year)
    except SQLAlchemyError:
        db.session.rollback()
        return default_policy(year)


@grading_cli.command("simulate")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--year", type=int, required=True, help="Evaluation year whose policy applies.")
@click.option("--json", "as_json", is_flag=True, help="Machine output on stdout.")
def simulate(file: Path, year: int, as_json: bool) -> None:
    """What-if: grades, new levels and stipends for the assistants in FILE.csv; writes nothing."""
    try:
        policy = _policy(year)
    except DomainError as exc:  # a stored policy that no longer passes the checks (tampered)
        click.echo(str(exc), err=True)
        sys.exit(2)
    try:
        results = simulation.evaluate(simulation.read_assistants(file.read_bytes(), policy), policy)
    except (FileProblem, OSError) as exc:
        reason = str(exc) if isinstance(exc, FileProblem) else _("文件不存在或没有读取权限。")
        click.echo(_("无法读取文件 %(name)s：%(reason)s", name=file.name, reason=reason), err=True)
        sys.exit(2)
    except simulation.InvalidRows as exc:
        for error in exc.errors:
            click.echo(str(error), err=True)
        click.echo(_("共 %(rows)s 行，其中 %(bad)s 行有错误：未计算任何结果。",
                     rows=f"{exc.rows:,}", bad=f"{exc.bad_rows:,}"), err=True)
        sys.exit(1)
    lines = [simulation.to_json(results)] if as_json else simulation.table_lines(results)
    click.echo("\n".join(lines))
    click.echo(_("已按 %(year)s 年度政策模拟 %(n)s 人，未写入任何数据。",
                 year=year, n=f"{len(results):,}"), err=True)
