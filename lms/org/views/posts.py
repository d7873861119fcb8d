"""Posts: open a post, move it along its lifecycle, mark it acting, transfer a person."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from lms.auth.access import requires
from lms.auth.perms import Perm
from lms.db import utcnow
from lms.errors import DomainError
from lms.extensions import db
from lms.i18n import _
from lms.labels import label
from lms.org import services
from lms.org.models import Person, Post, PostStatus, PostType
from lms.org.people_forms import ActingForm, PostForm, StatusForm, TransferForm
from lms.org.queries import unit_in_scope
from lms.org.views import bp
from lms.org.views.people import (
    post_unit_choices,
    refuse,
    scoped_unit,
    visible_crumbs,
)


def _post_of_person_in_scope(post: Post) -> Post:
    """A post route also needs the post's person in scope (their latest unit), else 404."""
    if not g.scope.covers(post.person.org_unit):
        abort(404)
    return post


def _to_person(person_id: int) -> Response:
    return redirect(url_for("org.show_person", person_id=person_id))


@bp.route("/people/<int:person_id>/posts/new", methods=["GET", "POST"])
@requires(Perm.PERSON_MANAGE, person_id=Person)
def open_post(person: Person) -> Response | str:
    form = PostForm()
    form.unit.choices = post_unit_choices(g.scope, scoped_unit(request.args.get("unit"), g.scope))
    if request.method == "GET":
        form.unit.data = person.org_unit_id
    if form.validate_on_submit():
        unit = unit_in_scope(form.unit.data, g.scope)
        if unit is None:
            abort(404)
        try:
            services.open_post(person, unit, PostType(form.post_type.data), actor=current_user,
                               now=utcnow())
        except DomainError as exc:
            refuse(form, exc, "post_type")
        else:
            db.session.commit()
            flash(_("已新增岗位（已提名）。"), "success")
            return _to_person(person.id)
    return render_template("org/post_form.html", form=form, person=person, transfer=False,
                           crumbs=visible_crumbs(person.org_unit, g.scope))


@bp.route("/people/<int:person_id>/transfer", methods=["GET", "POST"])
@requires(Perm.PERSON_MANAGE, person_id=Person)
def transfer_person(person: Person) -> Response | str:
    form = TransferForm()
    form.unit.choices = post_unit_choices(g.scope, scoped_unit(request.args.get("unit"), g.scope))
    if form.validate_on_submit():
        unit = unit_in_scope(form.unit.data, g.scope)
        if unit is None:
            abort(404)
        try:
            services.transfer_person(person, unit, PostType(form.post_type.data),
                                     actor=current_user, now=utcnow(),
                                     reason=form.reason.data or "")
        except DomainError as exc:
            refuse(form, exc, "unit")
        else:
            db.session.commit()
            flash(_("已调动到“%(unit)s”，原岗位已免职，新岗位为已提名。", unit=unit.name),
                  "success")
            return _to_person(person.id)
    return render_template("org/post_form.html", form=form, person=person, transfer=True,
                           crumbs=visible_crumbs(person.org_unit, g.scope))


def _status_choices(post: Post) -> list[SelectChoice]:
    """The allowed next statuses, plus 已上岗 so that the refusal can say what is missing."""
    current = PostStatus(post.status)
    targets = set(services.TRANSITIONS[current])
    if current not in (PostStatus.IN_POST, PostStatus.REMOVED):
        targets.add(PostStatus.IN_POST)
    ordered = [s for s in PostStatus if s in targets]
    return [SelectChoice("", _("请选择")), *(SelectChoice(s.value, label(s)) for s in ordered)]


@bp.route("/posts/<int:post_id>/status", methods=["GET", "POST"])
@requires(Perm.PERSON_MANAGE, post_id=Post)
def change_status(post: Post) -> Response | str:
    _post_of_person_in_scope(post)
    form = StatusForm()
    form.status.choices = _status_choices(post)
    if form.validate_on_submit():
        try:
            services.change_post_status(post, PostStatus(form.status.data), actor=current_user,
                                        now=utcnow(), reason=form.reason.data or "")
        except DomainError as exc:
            refuse(form, exc, "status")
        else:
            db.session.commit()
            flash(_("岗位状态已改为“%(status)s”。", status=label(post.status)), "success")
            return _to_person(post.person_id)
    return render_template("org/post_status.html", form=form, post=post,
                           crumbs=visible_crumbs(post.org_unit, g.scope))


@bp.post("/posts/<int:post_id>/acting")
@requires(Perm.PERSON_MANAGE, post_id=Post)
def set_acting(post: Post) -> Response:
    _post_of_person_in_scope(post)
    form = ActingForm()
    if not form.validate_on_submit():
        flash(_("请刷新页面后重试。"), "error")
        return _to_person(post.person_id)
    try:
        changed = services.set_acting(post, form.acting.data == "1", actor=current_user,
                                      now=utcnow())
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        if changed:
            flash(_("已标记为代理。") if post.is_acting else _("已取消代理标记。"), "success")
    return _to_person(post.person_id)
