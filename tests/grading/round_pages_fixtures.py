"""Fixtures of the round page tests (loaded with ``pytest_plugins``): the county world and a
clock the views read."""

from __future__ import annotations

import pytest

from lms.grading.views import change_requests, my_results, round_appeals, rounds, sheets
from tests.grading.cycle_world import OPENED, build


class Clock:
    def __init__(self) -> None:
        self.now = OPENED


@pytest.fixture
def clock(monkeypatch):
    """The views take ``now`` from ``utcnow``; the tests move it (the services take ``now``)."""
    clk = Clock()
    for module in (rounds, sheets, round_appeals, my_results, change_requests):
        monkeypatch.setattr(module, "utcnow", lambda: clk.now)
    return clk


@pytest.fixture
def c(world):
    return build(world)
