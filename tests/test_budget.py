"""The time budget in reference seconds: conversions, what the notebook says, and a real calibration."""

from __future__ import annotations

import pytest

from helpers.budget import (
    GUARD_EXTRA_S,
    GUARD_FACTOR,
    REFERENCE_STEP_S,
    Calibration,
    budget_check,
    budget_rule,
    calibrate,
    describe,
)
from helpers.homework import grading_rules
from helpers.modes import FULL, GRADING_MODE, SMOKE


def test_a_device_twice_as_fast_counts_each_second_twice() -> None:
    fast = Calibration(step_s=REFERENCE_STEP_S / 2, device="GPU")
    assert fast.speed == pytest.approx(2.0)
    assert fast.to_reference(90) == pytest.approx(180)
    assert fast.to_device(180) == pytest.approx(90)
    assert fast.guard_s(1800) == pytest.approx(GUARD_FACTOR * 900 + GUARD_EXTRA_S)
    reference = Calibration(step_s=REFERENCE_STEP_S, device="CPU")
    assert reference.to_reference(1234) == pytest.approx(1234)


def test_the_notebook_check_passes_warns_and_flags_over_the_budget() -> None:
    """A GPU 20× the reference: 90 s there is 1,800 reference seconds, the whole full budget."""
    gpu = Calibration(step_s=REFERENCE_STEP_S / 20, device="Tesla T4")
    assert FULL.budget_s == 1800
    under = budget_check(0.4 * 90, gpu)
    risky = budget_check(0.8 * 90, gpu)
    over = budget_check(1.2 * 90, gpu)
    assert "✅" in under and "40%" in under and "❌" not in under
    assert "⚠️" in risky and "80%" in risky
    assert "❌" in over and "120%" in over
    assert "36.0 分鐘" in over  # 108 s × 20 = 2,160 reference seconds: 36 minutes on the CPU grader


def test_the_rules_state_the_grading_modes_budget_in_both_languages() -> None:
    rules = grading_rules()
    assert f"{GRADING_MODE.budget_s:,.0f} 參考秒" in rules and "reference seconds" in rules
    assert rules.endswith(budget_rule())
    assert f"{SMOKE.budget_s:,.0f} 參考秒" in budget_rule(SMOKE)
    line = describe(Calibration(step_s=REFERENCE_STEP_S * 2, device="CPU"))
    assert "0.50 倍" in line and f"{2 * FULL.budget_s / 60:.1f} 分鐘" in line


def test_calibration_measures_training_steps_here() -> None:
    measured = calibrate(min_seconds=0.2, min_steps=2, warmup=1)
    assert measured.device == "CPU" and 0.001 < measured.step_s < 30
    assert measured.to_reference(measured.step_s) == pytest.approx(REFERENCE_STEP_S)


def test_the_readme_states_the_same_budget() -> None:
    from helpers.course import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"最多用 {FULL.budget_s:,.0f} **參考秒**" in readme, "the students' time rule"
    assert f"完整模式的預算是 {FULL.budget_s:,.0f} 參考秒" in readme, "the instructors' section"
    assert f"full mode {FULL.budget_s:,.0f}" in readme, "the English summary"
