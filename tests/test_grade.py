"""The grader's parts, each on its own, and the short grader runs that need no training.

The one large sandboxed batch of honest, broken and hostile submissions is
``tests/test_grade_batch.py``; this file holds what runs in seconds: the sandbox's command line
and limits, reading files a submission controls, ids, the CSV and feedback writers, scoring, and
three grader runs (endless submissions under a short time limit, ``--no-sandbox``, no data).
"""

from __future__ import annotations

import csv
import json
import os
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from helpers.course import ROOT
from helpers.data import local_copy
from helpers.grade import (
    Handin,
    Limits,
    Row,
    Submission,
    clean_environment,
    feedback_text,
    find_submissions,
    load_handin,
    load_rubric,
    run_limited,
    sandboxed,
    write_csv,
    write_handin,
)
from helpers.grade.files import UnsafeFileError, read_regular, tree_size
from helpers.grade.inside import inside_command, last_result
from helpers.grade.report import _fence
from helpers.grade.sandbox import RESULT_FD, make_control_group
from helpers.grade.scoring import parse_answers, score_answers, score_model
from helpers.grade.submissions import clean_id
from helpers.modes import SMOKE
from tests.test_grade_batch import REASON, RIGHT, read_rows, run_grader, shared_cache, write_notebook

RUBRIC = load_rubric()


@pytest.fixture(autouse=True)
def _grade_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every grader run here shares the session's cache (data copy, calibration)."""
    monkeypatch.setenv("COURSE_GRADE_CACHE", str(shared_cache(tmp_path_factory)))


def grade(folder: Path, out: Path, *options: str) -> tuple[dict[str, dict[str, str]], str]:
    """Run the grader's command line with a stand-in home folder; rows by id, and stderr."""
    home = out.parent / "home"
    home.mkdir(parents=True, exist_ok=True)
    completed = run_grader(folder, out, *options, env={**os.environ, "HOME": str(home)})
    assert completed.returncode == 0, completed.stderr[-3000:]
    return {row["id"]: row for row in read_rows(out)}, completed.stderr


needs_data = pytest.mark.skipif(local_copy() is None, reason="needs a CIFAR-10 copy (set CIFAR10_DIR)")


@needs_data
def test_time_limit_stops_endless_submissions(tmp_path: Path) -> None:
    write_notebook(tmp_path / "slow" / "infinite_loop.ipynb", "while True:\n    pass")
    write_notebook(tmp_path / "slow" / "sleeps.ipynb", "import time\ntime.sleep(10**6)")
    rows, _ = grade(tmp_path / "slow", tmp_path / "slow.csv", "--jobs", "2", "--timeout", "3")
    for name in ("infinite_loop", "sleeps"):
        assert rows[name]["status"] == "timeout"
        assert float(rows[name]["runtime_s"]) < 60


def test_without_data_the_grader_stops_before_grading_anyone(tmp_path: Path) -> None:
    write_notebook(tmp_path / "subs" / "a.ipynb", "print('hi')")
    env = {**os.environ, "CIFAR10_DIR": str(tmp_path / "nowhere"), "HOME": str(tmp_path)}
    completed = run_grader(tmp_path / "subs", tmp_path / "g.csv", env=env)
    assert completed.returncode == 2
    assert "評分沒有開始" in completed.stderr and "Grading did not start" in completed.stderr
    assert "CIFAR-10" in completed.stderr and not (tmp_path / "g.csv").exists()


def test_the_sandbox_mounts_only_what_the_run_needs(tmp_path: Path) -> None:
    command = sandboxed(["python", "x.py"], tmp_path / "s", [ROOT / "helpers", tmp_path / "data"], 2**20)
    joined = " ".join(command)
    assert "--ro-bind / /" not in joined, "no view of the whole file system"
    assert f"--ro-bind {ROOT / 'helpers'} {ROOT / 'helpers'}" in joined
    assert f"--ro-bind {ROOT} " not in joined, "the course's git history and solutions stay outside"
    assert f"--ro-bind {tmp_path / 'data'} {tmp_path / 'data'}" in joined
    assert f"--bind {tmp_path / 's'} {tmp_path / 's'}" in joined
    assert "--size 1048576 --tmpfs /tmp" in joined
    assert "--unshare-all" in joined and "--cap-drop ALL" in joined and "--die-with-parent" in joined
    assert not any(arg.startswith("/home") or arg == "/root" for arg in command)
    assert command[-2:] == ["python", "x.py"]


def test_environment_is_clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INSTRUCTOR_SECRET", "s3cret")
    monkeypatch.setenv("CIFAR10_DIR", "/instructor/data")
    env = clean_environment(tmp_path, "smoke", None, 1)
    assert "INSTRUCTOR_SECRET" not in env and "CIFAR10_DIR" not in env
    assert env["HOME"] == str(tmp_path) and env["COURSE_MODE"] == "smoke" and env["OMP_NUM_THREADS"] == "1"
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in env.items())  # subprocess needs str
    with_data = clean_environment(tmp_path, "full", tmp_path / "cifar", 2)
    assert with_data["CIFAR10_DIR"] == str(tmp_path / "cifar") and with_data["COURSE_MODE"] == "full"


def test_only_the_started_process_can_write_the_result(tmp_path: Path) -> None:
    """A child of the started process (as a kernel is of the runner) neither inherits the result
    pipe nor reaches it; what it prints goes to stdout, which is only logged."""
    child = (
        "import os, sys\ntry:\n    os.write(int(sys.argv[1]), b'FORGED')\n"
        "except OSError as e:\n    print('child:', e)"
    )
    code = (
        "import os, subprocess, sys\n"
        "fd = int(sys.argv[1])\n"
        "os.set_inheritable(fd, False)\n"
        f"subprocess.run([sys.executable, '-c', {child!r}, str(fd)], check=True)\n"
        "os.write(fd, b'REAL\\n')\n"
    )
    finished = run_limited(
        [sys.executable, "-c", code, RESULT_FD], {"PATH": os.environ["PATH"]}, tmp_path, 30, Limits()
    )
    assert finished.result == "REAL\n", finished
    assert "child: [Errno 9] Bad file descriptor" in finished.stdout


def test_a_run_is_stopped_when_its_scratch_folder_grows_past_the_limit(tmp_path: Path) -> None:
    code = "chunk = b'x' * 2**22\nfor k in range(1000):\n    open(f'f{k}', 'wb').write(chunk)\n"
    started = time.monotonic()
    finished = run_limited(
        [sys.executable, "-c", code],
        {"PATH": os.environ["PATH"]},
        tmp_path,
        60,
        Limits(disk_bytes=2**25),
        watch=tmp_path,
    )
    assert finished.limit == "disk" and time.monotonic() - started < 30
    assert tree_size(tmp_path, 2**40) < 2**25 + 2**29, "stopped long before its 4 GB, soon after the limit"
    one_file = "open('big', 'wb').write(b'x' * 2**26)"
    too_big = run_limited(
        [sys.executable, "-c", one_file], {"PATH": os.environ["PATH"]}, tmp_path, 60, Limits(disk_bytes=2**25)
    )
    assert "File too large" in too_big.stderr, "one file alone cannot pass the limit"


@pytest.mark.skipif(make_control_group(Limits()) is None, reason="no cgroup can be made here")
def test_a_control_group_limits_the_whole_process_tree(tmp_path: Path) -> None:
    code = (
        "import os, time\n"
        "for _ in range(3):\n"
        "    if os.fork() == 0:\n"
        "        blob = b'x' * (200 * 2**20)\n"
        "        time.sleep(5)\n"
        "        os._exit(0)\n"
        "time.sleep(6)\n"
    )
    limits = Limits(memory_bytes=400 * 2**20)
    finished = run_limited([sys.executable, "-c", code], {"PATH": os.environ["PATH"]}, tmp_path, 60, limits)
    assert finished.limit == "memory", "three children of 200 MB each: over 400 MB together"


def test_files_the_submission_controls_are_read_without_following_anything(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "ok.json").write_text("{}")
    assert read_regular(tmp_path, "out/ok.json", 10) == b"{}"
    (tmp_path / "secret").write_text("instructor's")
    (tmp_path / "out" / "link.json").symlink_to(tmp_path / "secret")
    (tmp_path / "linked_dir").symlink_to(tmp_path / "out")
    os.mkfifo(tmp_path / "out" / "fifo.json")
    (tmp_path / "out" / "big.json").write_bytes(b"x" * 11)
    for name in ("out/link.json", "linked_dir/ok.json", "out/fifo.json", "out/big.json", "out", "../secret"):
        with pytest.raises(UnsafeFileError):
            read_regular(tmp_path, name, 10)
    with pytest.raises(FileNotFoundError):
        read_regular(tmp_path, "out/missing.json", 10)


def test_ids_are_clean_unique_and_bounded(tmp_path: Path) -> None:
    assert clean_id("alice") == "alice" and clean_id("王小明") == "王小明"
    assert clean_id('=HYPERLINK("x")') == "HYPERLINK__x"
    assert clean_id("a\n<svg onload=alert(1)>") == "a__svg_onload_alert_1"
    assert clean_id(os.fsdecode(b"bad\xffname")) == "bad_name"
    assert clean_id("..") == "submission" and len(clean_id("長" * 200)) == 60
    write_notebook(tmp_path / "alice.ipynb", "1")
    write_notebook(tmp_path / "ALICE_2.ipynb", "1")
    write_notebook(tmp_path / "alice" / "work" / "07_homework.ipynb", "1")
    write_notebook(tmp_path / "alice" / "draft.ipynb", "1")
    write_notebook(tmp_path / "bob" / ".ipynb_checkpoints" / "x.ipynb", "1")
    (tmp_path / ".hidden.ipynb").write_text("{}")
    (tmp_path / "notes.txt").write_text("not a submission")
    found = {s.id: s for s in find_submissions(tmp_path)}
    assert set(found) == {"ALICE_2", "alice", "alice_2", "bob"} or set(found) == {
        "ALICE_2",
        "alice",
        "alice_3",
        "bob",
    }
    assert len({i.casefold() for i in found}) == len(found), "unique even on a case-insensitive disk"
    folder = next(s for s in found.values() if s.path == tmp_path / "alice")
    assert folder.notebook == tmp_path / "alice" / "work" / "07_homework.ipynb", "a 07… notebook is preferred"
    assert found["bob"].notebook is None


def test_a_hand_in_is_read_once_into_memory_without_links_or_a_brought_model(tmp_path: Path) -> None:
    student = tmp_path / "subs" / "carol"
    write_notebook(student / "07_homework.ipynb", "1")
    (student / "data").mkdir()
    (student / "data" / "notes.txt").write_text("mine")
    (student / "homework_output").mkdir()
    (student / "homework_output" / "model.keras").write_bytes(b"trained elsewhere")
    (student / "link").symlink_to(tmp_path)
    os.mkfifo(student / "fifo")
    [submission] = find_submissions(tmp_path / "subs")
    handin = load_handin(submission)
    assert set(handin.files) == {"07_homework.ipynb", "data/notes.txt"} and not handin.problem
    assert handin.digest() == load_handin(submission).digest()
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    notebook = write_handin(handin, scratch)
    assert (
        notebook == scratch / "07_homework.ipynb" and (scratch / "data" / "notes.txt").read_text() == "mine"
    )
    (tmp_path / "subs" / "linked.ipynb").symlink_to(student / "07_homework.ipynb")
    linked = next(s for s in find_submissions(tmp_path / "subs") if s.id == "linked")
    assert "link" in load_handin(linked).problem
    with pytest.raises(ValueError, match="no notebook"):
        write_handin(load_handin(Submission("dave", tmp_path, None)), scratch)


def test_answers_are_scored_against_the_saved_model() -> None:
    row = Row("erin")
    score_answers(
        row, parse_answers(json.dumps({**RIGHT, "head_params": 1, **REASON}).encode(), row), RIGHT, RUBRIC
    )
    assert row.items["q_head_params"] == 0
    assert row.items["q_gap_input_shape"] == RUBRIC.points["q_gap_input_shape"]
    assert "❌" in row.notes["q_head_params"] and row.notes["q_gap_input_shape"] == "✅"
    assert "justification" not in row.items, "the justification is reviewed, not scored"
    nothing = Row("no-model")
    score_answers(nothing, RIGHT, {}, RUBRIC)
    assert nothing.score == 0 and "沒有可核對的模型" in nothing.notes["q_head_params"]
    broken = Row("frank")
    assert parse_answers(b"{ not json", broken) == {} and "JSON" in broken.notes["answers"]
    assert parse_answers(b"[" * 100_000, broken) == {}
    assert parse_answers(None, Row("x")) == {}


MEASURED = {
    "input_shape": [32, 32, 3],
    "output_shape": [10],
    "params": 600_000,
    "layer_types": ["Conv2D", "BatchNormalization", "MaxPooling2D", "GlobalAveragePooling2D", "Dense"],
    "gap_feeds_output": True,
    "pooling_reduces": True,
    "test_accuracy": SMOKE.homework_target,
}


def test_model_scoring_uses_only_the_measurement_and_no_accuracy_over_the_budget() -> None:
    row = Row("gina")
    score_model(row, MEASURED, RUBRIC, SMOKE)
    assert row.items["param_budget"] == 0 and row.items["shapes"] == RUBRIC.points["shapes"]
    assert row.items["accuracy"] == 0, "more parameters than allowed buy no accuracy points"
    assert row.status == "bad_model" and "預算" in row.error
    within = Row("hana")
    score_model(within, {**MEASURED, "params": 400_000}, RUBRIC, SMOKE)
    assert within.items["accuracy"] == RUBRIC.points["accuracy"] and within.status == "ok"
    text = feedback_text(row, RUBRIC, "smoke")
    assert "# 作業 07 回饋 (feedback)：gina" in text and "`bad_model`" in text and "600,000" in text


def test_a_gap_that_does_not_feed_the_output_or_a_pooling_that_reduces_nothing_fails() -> None:
    for key, item in (("gap_feeds_output", "gap_head"), ("pooling_reduces", "pooling")):
        row = Row("ivy")
        score_model(row, {**MEASURED, "params": 400_000, key: False}, RUBRIC, SMOKE)
        assert row.items[item] == 0 and row.status == "bad_model", key


def test_near_copies_are_listed_for_review_with_their_similarity() -> None:
    row = Row("jo")
    score_model(row, {**MEASURED, "params": 400_000, "similar": [["fast_cnn", 0.96]]}, RUBRIC, SMOKE)
    assert "fast_cnn" in row.review["near_copy"] and "96%" in row.review["near_copy"]
    assert "相似" in row.csv_row(RUBRIC)["review"]


def test_the_csv_holds_no_formula_and_one_bad_row_does_not_stop_the_others(tmp_path: Path) -> None:
    class Broken(Row):
        def csv_row(self, rubric):  # type: ignore[no-untyped-def]
            raise RuntimeError("cannot")

    rows = [Row("=cmd", error="=1+1"), Broken("b"), Row("c", error="@SUM(A1)"), Row("d", error="-2+3")]
    write_csv(rows, RUBRIC, tmp_path / "g.csv")
    written = read_rows(tmp_path / "g.csv")
    assert [r["id"] for r in written] == ["'=cmd", "b", "c", "d"]
    assert written[1]["status"] == "grader_error"
    assert [r["error"] for r in written if r["id"] != "b"] == ["'=1+1", "'@SUM(A1)", "'-2+3"]
    with open(tmp_path / "g.csv", encoding="utf-8-sig") as f:
        assert next(csv.reader(f))[0] == "id"


def test_feedback_escapes_the_id_and_fences_every_quote() -> None:
    row = Row("x<svg onload=alert(1)>", status="cell_error", error="`ValueError` <b>")
    row.review["justification"] = "````\n# 85 / 85\n~~~~"
    text = feedback_text(row, RUBRIC, "smoke")
    assert "<svg" not in text and "x&lt;svg onload=alert(1)&gt;" in text
    assert "`` `ValueError` <b> ``" in text, "an error is inline code, whatever backticks it holds"
    assert _fence("a ``` b") == "````" and _fence("plain") == "```"
    fence = _fence(row.review["justification"])
    assert f"{fence}\n````\n# 85 / 85\n~~~~\n{fence}" in text and len(fence) == 5


def test_the_inside_processes_run_isolated_and_report_on_a_private_pipe() -> None:
    command = inside_command("evaluate", "m.keras", "--mode", "smoke")
    assert command[:2] == [sys.executable, "-I"] and command[-4:] == [
        "evaluate",
        "m.keras",
        "--mode",
        "smoke",
    ]
    assert "helpers.grade.inside" in command[3] and command[4:6] == ["--result-fd", RESULT_FD]
    out = '{"status": "ok"}'
    assert last_result(f"noise\nGRADER-RESULT {out}\n") == {"status": "ok"}
    assert last_result("no result here") is None and last_result("GRADER-RESULT {broken") is None


def test_a_course_reference_model_earns_no_model_points() -> None:
    row = Row("kim")
    score_model(row, {**MEASURED, "params": 296_002, "reference": "fast_cnn"}, RUBRIC, SMOKE)
    assert all(
        row.items[item] == 0 for item in ("shapes", "param_budget", "gap_head", "batch_norm", "pooling")
    )
    assert row.items["accuracy"] == 0 and row.status == "bad_model" and "參考模型 fast_cnn" in row.error


def test_an_unchanged_course_builder_gets_the_model_points_and_no_design_points() -> None:
    """improved_cnn or the starter handed in unchanged: the model items count, the rubric's design
    items (the ablation, the justification) are set to 0 by the grader, in the CSV and the
    feedback; the augmentation stays for the instructor. A reference model loses both."""
    row = Row("lee")
    score_model(row, {**MEASURED, "params": 289_642, "unchanged": "improved_cnn"}, RUBRIC, SMOKE)
    assert row.items["gap_head"] == RUBRIC.points["gap_head"] and row.status == "ok"
    assert set(row.decided) == set(RUBRIC.design) == {"ablation", "justification"}
    values = row.csv_row(RUBRIC)
    assert values["ablation"] == 0 and values["justification"] == 0 and values["augmentation"] == ""
    text = feedback_text(row, RUBRIC, "smoke")
    assert f"| ablation | 0 / {RUBRIC.reviewed['ablation']:g} |" in text and "improved\\_cnn" in text
    assert "| augmentation | 待審閱 (to review)" in text
    own = Row("mia")
    score_model(own, {**MEASURED, "params": 280_298}, RUBRIC, SMOKE)
    assert not own.decided and own.csv_row(RUBRIC)["ablation"] == ""
    copied = Row("ned")
    score_model(copied, {**MEASURED, "params": 296_002, "reference": "fast_cnn"}, RUBRIC, SMOKE)
    assert copied.csv_row(RUBRIC)["ablation"] == 0 and "參考模型" in copied.decided["ablation"][1]


def test_the_ablation_is_quoted_for_review_from_the_answers_and_the_hand_in() -> None:
    from nbformat.v4 import new_code_cell, new_notebook

    from helpers.grade.scoring import mark_for_review
    from helpers.grade.submissions import ablation_code

    tagged = new_code_cell("ablation = run_ablation('width', arms, data, epochs=3)")
    tagged.metadata["tags"] = ["homework-ablation"]
    notebook = new_notebook(cells=[new_code_cell("x = 1"), tagged, new_code_cell("print(2)")])
    assert ablation_code(notebook) == tagged.source
    untagged = new_notebook(
        cells=[new_code_cell("answers[ABLATION_KEY] = a.answer('r')"), new_code_cell("y")]
    )
    assert ablation_code(untagged) == "answers[ABLATION_KEY] = a.answer('r')"
    answer = {"change": "寬度 width", "arms": {"a": [0.5, 0.52], "b": [0.48, 0.5]}, "reading": "一。二。"}
    row = Row("ola")
    mark_for_review(row, {"ablation": answer}, "train(...)", RUBRIC, "", tagged.source)
    assert "寬度 width" in row.review["ablation"] and "[0.5, 0.52]" in row.review["ablation"]
    assert "run_ablation('width'" in row.review["ablation"]
    for hostile in (None, "text", [1], {"arms": "x", "change": ["a" * 10_000]}, {"arms": {1: object()}}):
        quiet = Row("pat")
        mark_for_review(quiet, {"ablation": hostile}, "", RUBRIC)
        assert len(quiet.review["ablation"]) < 5_000


def test_data_or_weights_carried_in_a_hand_in_are_listed() -> None:
    from nbformat.v4 import new_code_cell, new_notebook

    from helpers.grade.submissions import embedded_data

    notebook = new_notebook(
        cells=[
            new_code_cell("model = build()\ntrain(model)"),
            new_code_cell(f"W = {'QUJD' * 1500!r}"),
            new_code_cell("model.load_weights('mine.weights.h5')"),
        ]
    )
    signs = embedded_data(notebook, Handin("lee", {"a.ipynb": b"", "mine.weights.h5": b"x"}, "a.ipynb"))
    assert len(signs) == 3 and "程式格 1" in signs[0] and "load_weights" in signs[1] and "h5" in signs[2]
    honest = new_notebook(cells=[new_code_cell("model = build()\ntrain(model)")])
    assert embedded_data(honest, Handin("min", {"a.ipynb": b""}, "a.ipynb")) == []


def test_the_first_failing_cell_is_named_and_sets_the_status() -> None:
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    from helpers.grade.inside import first_error

    cells = [new_code_cell("x = 1"), new_code_cell("\n  plot(reslt)\nmore"), new_code_cell("raise")]
    cells[1].outputs = [
        new_output("error", ename="NameError", evalue="name 'reslt' is not defined", traceback=[])
    ]
    cells[2].outputs = [new_output("error", ename="NotImplementedError", evalue="", traceback=[])]
    found = first_error(new_notebook(cells=cells))
    assert found == {
        "status": "cell_error",
        "error": "NameError: name 'reslt' is not defined｜第 2 個程式格 (code cell 2): plot(reslt)",
    }
    stub = first_error(new_notebook(cells=[new_code_cell("1"), cells[2]]))
    assert stub is not None and stub["status"] == "unfinished"
    assert first_error(new_notebook(cells=[new_code_cell("x = 1")])) is None


def test_kernels_started_at_the_same_moment_never_collide(tmp_path: Path) -> None:
    """Four runners start four kernels at once on this machine, outside any sandbox (where each
    would have its own network): they talk over Unix sockets in folders of their own, so none can
    take another's port (jupyter/nbgrader#174, nteract/papermill#511)."""
    import subprocess

    runs = []
    for k in range(4):
        folder = tmp_path / f"k{k}"
        write_notebook(
            folder / "n.ipynb", f"import os\nvalue = {k} * 10", "print('VALUE', value, os.getpid())"
        )
        command = inside_command(
            "execute", str(folder / "n.ipynb"), "--timeout", "120", "--output-cap", "9999"
        )
        del command[command.index("--result-fd") : command.index(RESULT_FD) + 1]  # the result on stdout
        runs.append(subprocess.Popen(command, cwd=folder, stdout=subprocess.PIPE, text=True))
    results = [last_result(run.communicate(timeout=300)[0]) for run in runs]
    assert [r and r["status"] for r in results] == ["ok"] * 4, results
    assert all(isinstance(r["seconds"], float) for r in results)


def test_the_journal_keeps_finished_rows_and_skips_a_torn_line(tmp_path: Path) -> None:
    from helpers.grade.batch import Journal, journal_path, settings_key
    from helpers.grade.scoring import Row
    from helpers.grade.worker import TaskConfig

    journal = Journal(journal_path(tmp_path / "grades.csv"))
    assert journal.path.name == "grades.csv.journal.jsonl"
    journal.append("d1", "s", Row("alice", items={"runs": 10.0}, reference_s=12.5, worker="h:1"))
    with open(journal.path, "a", encoding="utf-8") as f:
        f.write('{"digest": "d2", "settings": "s", "row": {"id": "bo')  # killed mid-line
    kept = journal.load()
    assert list(kept) == [("d1", "s")] and kept[("d1", "s")].items == {"runs": 10.0}
    config = TaskConfig(mode="smoke", budget_s=300, rubric=RUBRIC, sandbox=False)
    assert settings_key(config) != settings_key(
        TaskConfig(mode="smoke", budget_s=200, rubric=RUBRIC, sandbox=False)
    )


def test_gpu_workers_take_full_mode_tasks_and_each_host_shares_its_cores() -> None:
    from helpers.grade.batch import Progress, cluster_layout
    from helpers.grade.scoring import Row

    class FakeClient:
        def scheduler_info(self):
            return {
                "workers": {
                    "tcp://10.0.0.2:1": {"host": "10.0.0.2", "nthreads": 1, "resources": {}},
                    "tcp://10.0.0.2:2": {"host": "10.0.0.2", "nthreads": 1, "resources": {}},
                    "tcp://10.0.0.3:1": {"host": "10.0.0.3", "nthreads": 1, "resources": {"GPU": 1}},
                }
            }

    slots, resources, where = cluster_layout(FakeClient(), "full")
    assert slots == {"10.0.0.2": 2, "10.0.0.3": 1} and resources == {"GPU": 1.0}
    assert "3 workers / 2 台機器" in where and "GPU 1" in where
    assert cluster_layout(FakeClient(), "smoke")[1] is None, "smoke runs anywhere"
    progress = Progress(total=4, already=1)
    line = progress.line(Row("alice", status="timeout"))
    assert "2/4" in line and "失敗 failures 1" in line and "ETA" in line


def test_a_task_lost_beside_a_crash_is_graded_again_alone_before_it_is_blamed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A task whose workers died twice (KilledWorker) may only have been queued beside the one that
    killed them: it is graded again alone, after the rest, and only one lost again is
    ``worker_lost``. Dask's KilledWorker is raised here by a stand-in task, on the embedded cluster."""
    from distributed import KilledWorker

    from helpers.grade import batch
    from helpers.grade.worker import TaskConfig

    log = tmp_path / "calls.txt"  # Dask pickles the task: a file, not a list, records the calls

    def stand_in(handin, config):  # type: ignore[no-untyped-def]
        with open(log, "a", encoding="utf-8") as f:
            f.write(handin.id + "\n")
        calls = log.read_text(encoding="utf-8").split()
        # raised by the task here, so Dask's retry (retries=1) runs it twice in the batch first
        if handin.id == "killer" or (handin.id == "bystander" and calls.count("bystander") <= 2):
            worker = SimpleNamespace(address="tcp://192.0.2.9:1")  # the worker that died, as Dask names it
            raise KilledWorker(f"grade-{handin.id}", worker, 1)  # type: ignore[arg-type]
        return Row(handin.id, status="no_model")

    monkeypatch.setattr(batch, "grade_task", stand_in)
    for name in ("a", "bystander", "killer"):
        write_notebook(tmp_path / "subs" / f"{name}.ipynb", "print('hi')")
    config = TaskConfig(mode="smoke", budget_s=SMOKE.budget_s, rubric=RUBRIC, sandbox=False)
    said: list[str] = []
    with batch.open_client(None, 1) as client:
        rows = batch.grade_batch(
            find_submissions(tmp_path / "subs"),
            config,
            client,
            tmp_path / "g.csv",
            tmp_path / "fb",
            say=said.append,
        )
    status = {row.id: row.status for row in rows}
    assert status == {"a": "no_model", "bystander": "no_model", "killer": "worker_lost"}
    calls = log.read_text(encoding="utf-8").split()
    assert sorted(calls) == ["a", *["bystander"] * 3, *["killer"] * 4], "each lost one: alone, once more"
    assert calls.index("a") < 3 and set(calls[-3:]) <= {"bystander", "killer"}, "graded again after the rest"
    assert any("單獨再評一次" in line for line in said)
    assert [r["id"] for r in read_rows(tmp_path / "g.csv")] == ["a", "bystander", "killer"]
