"""The setup cell's helper and the run report at the end of every notebook."""

from __future__ import annotations

import pytest

from helpers import runtime
from helpers.modes import SMOKE


def test_run_report_names_mode_hardware_and_versions(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setenv("COURSE_MODE", "smoke")
    mode = runtime.setup_notebook()
    printed = capsys.readouterr().out
    assert mode is SMOKE and "TensorFlow" in printed and "smoke" in printed
    monkeypatch.setenv("COURSE_MODE", "full")  # the report names the mode setup chose, not a re-read
    report = runtime.run_report()
    assert "smoke 模式" in report and "核心 (cores)" in report and "Keras" in report
    assert "nan" not in report
    assert "資料 (data)：" in report, "the report says which copy of CIFAR-10 the outputs came from"
