"""The onboarding gate of one post: where it stands, what is still missing before ``in_post``,
and (for the program's organiser) restarting a course after the last retake failed."""

from __future__ import annotations

from flask import abort, g, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from lms.auth.access import can, requires
from lms.auth.perms import Perm
from lms.db import utcnow
from lms.i18n import _
from lms.onboarding.gate import CONSULTATION_WORDS, gate_state, latest_consultation
from lms.onboarding.views import bp
from lms.org.models import Post
from lms.training.exam_outcomes import repeat_course
from lms.web.actions import commit_or_flash


def _person_in_scope(post: Post) -> Post:
    if not g.scope.covers(post.person.org_unit):
        abort(404)
    return post


@bp.get("/posts/<int:post_id>")
@requires(Perm.PERSON_VIEW, post_id=Post)
def post_gate(post: Post) -> str:
    _person_in_scope(post)
    state = gate_state(post, now=utcnow())
    may_repeat = bool(state.program is not None and state.retakes is not None
                      and state.retakes.exhausted
                      and can(current_user, Perm.PROGRAM_MANAGE, state.program.org_unit))
    return render_template("onboarding/post_gate.html", post=post, state=state,
                           consultation=latest_consultation(post), may_repeat=may_repeat,
                           consultation_words=CONSULTATION_WORDS)


@bp.post("/posts/<int:post_id>/repeat")
@requires(Perm.PERSON_VIEW, post_id=Post)
def repeat(post: Post) -> Response:
    """Restart the enrolment of a person whose closing-exam attempts are all used."""
    _person_in_scope(post)
    state = gate_state(post, now=utcnow())
    if state.enrollment is None:
        abort(404)
    enrollment = state.enrollment
    commit_or_flash(lambda: repeat_course(enrollment, actor=current_user, now=utcnow()),
                    _("已安排重修：课程学习、考勤和考试机会重新计算。"))
    return redirect(url_for("onboarding.post_gate", post_id=post.id))
