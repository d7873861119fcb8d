"""Journey 4: a county user follows links inside the own county, then edits the address bar to
another county's objects and gets the 404 page every time (never the object, never a 403)."""

from __future__ import annotations

import re

import pytest

from lms.extensions import db
from tests.browser.conftest import WIDTHS
from tests.factories import build_world, make_user

NOT_FOUND = re.compile(r"status of 404")


def _setup(live) -> dict[str, str]:  # noqa: ANN001
    from lms.courses.models import Course
    from lms.exams.models import Exam, QuestionBank
    from lms.training.models import Program
    from tests.arch.test_routes import _objects

    with live.ctx():
        world = build_world()
        make_user("a_county", world.county_a, [("unit_admin", world.county_a),
                                               ("trainer", world.county_a),
                                               ("hr", world.county_a)])
        inside, outside = _objects(world, "in"), _objects(world, "out")
        db.session.commit()

        def urls(objs: dict) -> dict[str, str]:  # noqa: ANN001
            return {
                "unit": f"/org/units/{objs[next(k for k in objs if k.__name__ == 'OrgUnit')].id}",
                "person": f"/org/people/{objs[next(k for k in objs if k.__name__ == 'Person')].id}",
                "course": f"/courses/manage/{objs[Course].id}",
                "program": f"/training/programs/{objs[Program].id}",
                "bank": f"/exams/banks/{objs[QuestionBank].id}",
                "exam": f"/exams/{objs[Exam].id}/manage",
                "results": f"/exams/{objs[Exam].id}/results",
            }

        return {"in": urls(inside), "out": urls(outside),
                "b_person": world.person_b.name, "a_person": world.person_a.name}


@pytest.mark.parametrize("width", WIDTHS)
def test_county_user_gets_404_for_another_county(live, journey, width):  # noqa: ANN001
    urls = _setup(live)
    j = journey(width)
    j.allowed.append(NOT_FOUND)  # the browser logs every 404 document it is shown
    j.login("a_county", "Test-pass-2026")
    j.shot("home")
    j.nav("人员")
    j.shot("people")
    j.page.get_by_role("link", name=urls["a_person"]).first.click()
    j.shot("own-person")
    assert j.page.url.endswith(urls["in"]["person"])
    for name, path in urls["in"].items():
        assert j.go(path).status == 200, name
    for name, path in urls["out"].items():
        response = j.go(path)
        assert response.status == 404, (name, path, response.status)
        assert j.page.locator("h1").inner_text() == "页面不存在"
        assert urls["b_person"] not in j.page.content()
        j.shot(f"404-{name}")
