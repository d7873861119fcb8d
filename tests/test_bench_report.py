"""The bench report pairs each scenario with its anchor of the same round (fast, no server)."""

from __future__ import annotations

from bench import report


def _run(rnd: int, pair: str, role: str, name: str, rps: float, p99: float) -> dict:
    return {"round": rnd, "pair": pair, "role": role, "name": name, "rps": rps, "p50_ms": 1.0,
            "p99_ms": p99, "problems": []}


def test_submit_and_autosave_beside_an_export_are_compared_with_their_baselines() -> None:
    runs = []
    for rnd in (1, 2):
        runs += [_run(rnd, "insert>autosave", "anchor", "insert", 1000, 10),
                 _run(rnd, "insert>autosave", "scenario", "autosave", 700, 20),
                 {**_run(rnd, "autosave>autosave_export", "scenario", "autosave_export", 350,
                         40), "beside": {"name": "report_xlsx", "requests": 3, "s2xx": 3,
                                         "errors": 0, "p50_ms": 500.0, "p99_ms": 900.0,
                                         "max_ms": 900.0}},
                 _run(rnd, "insert>submit", "anchor", "insert", 800, 10),
                 _run(rnd, "insert>submit", "scenario", "submit", 200, 30),
                 _run(rnd, "select>report_png", "anchor", "select", 0, 0),  # nothing finished
                 _run(rnd, "select>report_png", "scenario", "report_png", 5, 100)]
    summary = report.summarise(runs)
    ratios = {r["scenario"]: r for r in summary["ratios"]}
    assert ratios["autosave"]["rps_ratio"]["median"] == 0.7
    assert ratios["submit"]["rps_ratio"]["median"] == 0.25
    beside = ratios["autosave_export"]
    assert (beside["anchor"], beside["rps_ratio"]["median"]) == ("autosave", 0.5)
    assert (beside["p99_ratio"]["median"], beside["p99_target"], beside["p99_meets"]) == \
        (2.0, 1.5, False)
    assert "report_png" not in ratios
    assert summary["beside"]["autosave_export"]["requests"] == 6
