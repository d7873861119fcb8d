"""``flask org ...``: imports and the staffing quota (contracts in shared/spec/cli.md)."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from lms.auth.access import ROOT, Scope
from lms.auth.perms import Perm
from lms.org import queries

org_cli = AppGroup("org", help="Org tree, people and posts.")


@org_cli.command("quota")
@click.option("--json", "as_json", is_flag=True, help="Machine output on stdout.")
def quota(as_json: bool) -> None:
    """Required vs in-post township civil-affairs staff, for every township."""
    rows = queries.quota_rows(scope=Scope(Perm.QUOTA_VIEW, (ROOT,)))
    data = [{"code": r.code, "name": r.name, "resident_population": r.resident_population,
             "required": r.required, "in_post": r.in_post} for r in rows]
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    for d in data:
        click.echo(f"{d['code']}\t{d['name']}\t{d['resident_population'] or '-'}\t"
                   f"{d['required'] if d['required'] is not None else '-'}\t{d['in_post']}")
