"""Locust file of the exam-window replay (``bench/window.py`` runs it; not for direct use).

One simulated trainee per Locust user, each with its own bench account and session (the plan
file in ``BENCH_WINDOW_PLAN``). Every user: opens the home page when spawned (the ramp), waits
for the common start time ``t0`` (synchronised start: a wall-clock barrier, Locust has no
synchronising timer), starts the exam at ``t0 + window × i / N`` (the starts spread evenly
over the window; window 0 = everyone at once), opens the attempt page, then changes one answer
per autosave period (think time: 0.5–1.5 × the period) until ``t0 + window + exam_time``,
when all submit together (the deadline burst). A save or submit answered 503 is sent again
after its Retry-After, as the page does (each 503 still counts as a failed request). Each
acknowledged save (HTTP 200) is recorded;
at the end the records go to the file ``acks`` of the plan, for the lost-answer check.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import time
from pathlib import Path

import gevent
from locust import FastHttpUser, events, task
from locust.exception import StopUser

PLAN = json.loads(Path(os.environ["BENCH_WINDOW_PLAN"]).read_text(encoding="utf-8"))
USERS = PLAN["users"]
COUNTER = itertools.count()
ACKS: list[list] = []  # [attempt id, position, seq, alternative, time]
OUTCOME = {"started": [], "start_failed": 0, "save_failed": 0, "submitted": [],
           "submit_failed": 0, "finished": 0, "retries": 0}
RETRIES = 3
ATTEMPT = re.compile(r"/exams/attempts/(\d+)")


def _sleep_until(at: float) -> None:
    gevent.sleep(max(0.0, at - time.time()))


class Trainee(FastHttpUser):
    # one pass through the exam per user (the task ends with StopUser)
    def wait_time(self) -> float:
        return 0

    def on_start(self) -> None:
        self.client.client.cookiejar = None  # the plan's signed cookie, never a reissued one
        self.i = next(COUNTER)
        if self.i >= len(USERS):
            raise StopUser
        cookie, csrf = USERS[self.i]
        # a new connection per request: gunicorn closes idle keep-alive connections after 2 s,
        # so a browser idle for the think time reconnects too (and reusing a connection the
        # server is closing would fail a POST with status 0, an artefact of the replay)
        self.auth = {"Cookie": f"lms_session={cookie}", "X-CSRFToken": csrf,
                     "Connection": "close"}
        self.client.get("/", headers=self.auth, name="home")

    def _finish(self) -> None:
        OUTCOME["finished"] += 1
        if OUTCOME["finished"] >= len(USERS):  # everyone done: end the run now
            gevent.spawn_later(1, self.environment.runner.quit)
        raise StopUser

    @task
    def sit_exam(self) -> None:
        n, rng = len(USERS), random.Random(self.i)  # noqa: S311 - load shape, not a secret
        t0, period = PLAN["t0"], PLAN["period"]
        end = t0 + PLAN["window"] + PLAN["exam_time"]
        _sleep_until(t0 + PLAN["window"] * self.i / n)
        with self.client.post(f"/exams/{PLAN['exam_id']}/start", data="passcode=",
                              headers={**self.auth,
                                       "Content-Type": "application/x-www-form-urlencoded"},
                              allow_redirects=False, name="start", catch_response=True) as r:
            found = ATTEMPT.search(r.headers.get("Location") or "") \
                if r.status_code == 302 else None
            if found is None:
                r.failure(f"start answered {r.status_code}, not the attempt page")
                OUTCOME["start_failed"] += 1
                self._finish()
            attempt = int(found.group(1))
            OUTCOME["started"].append(attempt)
        self.client.get(f"/exams/attempts/{attempt}", headers=self.auth, name="attempt page")
        positions = len(PLAN["responses"])
        seq, at = 0, time.time() + rng.uniform(0, period)
        while at < end:
            _sleep_until(at)
            seq += 1
            pos, alt = (seq - 1) % positions + 1, seq % 2
            body = {"answers": [{"position": pos, "seq": seq,
                                 "response": PLAN["responses"][pos - 1][alt]}]}
            if self._post(f"/exams/attempts/{attempt}/save", body, "autosave"):
                ACKS.append([attempt, pos, seq, alt, time.time()])
            else:
                OUTCOME["save_failed"] += 1
            at += period * rng.uniform(0.5, 1.5)
        _sleep_until(end)
        if self._post(f"/exams/attempts/{attempt}/submit", {}, "submit"):
            OUTCOME["submitted"].append(attempt)
        else:
            OUTCOME["submit_failed"] += 1
        self._finish()

    def _post(self, path: str, body: dict, name: str) -> bool:
        """POST JSON; on 503 wait Retry-After and send it again, as the exam page does (at
        most RETRIES times). Every non-200 answer counts as a failure in the statistics;
        True when one of the tries answered 200."""
        for _try in range(1 + RETRIES):
            with self.client.post(path, json=body, headers=self.auth, name=name,
                                  catch_response=True) as r:
                if r.status_code == 200:
                    r.success()
                    return True
                r.failure(f"{name} answered {r.status_code}")
                if r.status_code != 503:
                    return False
                OUTCOME["retries"] += 1
                gevent.sleep(float(r.headers.get("Retry-After") or 2))
        return False


@events.quitting.add_listener
def _write(environment, **_kw) -> None:  # noqa: ANN001
    Path(PLAN["acks"]).write_text(json.dumps({"acks": ACKS, **OUTCOME}), encoding="utf-8")
