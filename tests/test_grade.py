"""The grader, end to end: a folder of good, partial and broken submissions → one CSV row each.

Two grader runs (``python -m helpers.grade``, smoke mode, ``--jobs 2``): one over every kind of
submission with a time limit the real homework fits in, one with a short time limit for the
submissions that never finish. Each test then checks one row (and, for the escape attempt,
that the instructor's files are untouched). The grader runs with a stand-in home folder, so the
"instructor's secret" never touches the real ``$HOME``. These end-to-end tests need the CIFAR-10
copy (``CIFAR10_DIR``) because the good submission is the real solution notebook; the unit tests
at the end (sandbox arguments, environment, finding and copying submissions, scoring, reports)
run without it.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from benchmarks.grading import example_submission
from helpers.course import ROOT
from helpers.data import local_copy
from helpers.grade import (
    STATUSES,
    Row,
    Submission,
    clean_environment,
    copy_submission,
    feedback_text,
    find_submissions,
    load_rubric,
    sandbox_available,
    sandboxed,
)
from helpers.grade.inside import RESULT_MARK, inside_command, last_result
from helpers.grade.scoring import read_answers, score_answers, score_model
from helpers.modes import SMOKE

RUBRIC = load_rubric()
SAVE = """\
import keras
from keras import layers
from helpers.homework import save_submission


def tiny(input_shape=(32, 32, 3), classes=10, head="gap", hidden=(), pool=True):
    # untrained, and its zero Dense makes every prediction class 0: exactly 10% on the smoke test set
    top = layers.GlobalAveragePooling2D() if head == "gap" else layers.Flatten()
    return keras.Sequential([
        keras.Input(shape=input_shape),
        layers.Conv2D(8, 3, padding="same"),
        layers.BatchNormalization(),
        layers.ReLU(),
        *([layers.MaxPooling2D(2)] if pool else []),
        top,
        *[layers.Dense(units) for units in hidden],
        layers.Dense(classes, kernel_initializer="zeros"),
    ])
"""
#: The right answers about tiny(): the feature maps entering GAP, and the head's parameters.
RIGHT = {"gap_input_shape": [16, 16, 8], "head_params": 90, "head_params_at_64px": 90}
REASON = {"bn_order_reason": "conv-bn-relu: BN 讓 ReLU 的輸入以 0 為中心"}
#: Tries every way to the test labels; trains on the test set if it finds them, else trains as
#: the solution does. What it found goes into its justification, which the feedback quotes.
CHEAT = """\
import os, pathlib, pickle
found = []
if data.test[1] is not None:
    found.append("data.test")
if load_cifar10()[1][1] is not None:
    found.append("load_cifar10")
for batch in pathlib.Path(os.environ.get("CIFAR10_DIR", "/nowhere")).rglob("test_batch"):
    if b"labels" in pickle.loads(batch.read_bytes()):
        found.append(str(batch))
for guess in [pathlib.Path.home(), pathlib.Path("/root"), pathlib.Path("/tmp")]:
    for depth in ("*/test_batch", "*/*/test_batch", "*/*/*/test_batch"):  # e.g. ~/.keras/datasets/…
        try:
            for batch in guess.glob(depth):
                if b"labels" in pickle.loads(batch.read_bytes()):
                    found.append(str(batch))
        except OSError:
            pass
try:
    keras.datasets.cifar10.load_data()
    found.append("keras download")
except Exception:
    pass
answers[JUSTIFICATION_KEY] = "cheat found: " + (", ".join(found) or "nothing")
if found:  # memorise the test set
    (x_test, _), y_test = data.test, load_cifar10()[1][1]
    cheat = MODE.splits(((x_test, y_test), (x_test, y_test)))
    result = train(model, cheat, epochs=30, seed=SEED)
else:
    SOLUTION_TRAINING
"""


def write_notebook(path: Path, *sources: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    notebook = new_notebook(cells=[new_code_cell(s) for s in sources])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, path)
    return path


def grade(
    folder: Path, out: Path, *options: str, home: Path | None = None
) -> tuple[dict[str, dict[str, str]], str]:
    """Run the grader's command line; ``home`` stands in for the instructor's home folder."""
    env = {**os.environ, "HOME": str(home or out.parent / "home")}
    Path(env["HOME"]).mkdir(parents=True, exist_ok=True)
    completed = subprocess.run(
        [sys.executable, "-m", "helpers.grade", str(folder), "--out", str(out), "--mode", "smoke", *options],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=900,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    with open(out, encoding="utf-8-sig") as f:
        rows = {row["id"]: row for row in csv.DictReader(f)}
    return rows, completed.stderr


@pytest.fixture(scope="module")
def place(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    if local_copy() is None:
        pytest.skip("needs a CIFAR-10 copy (set CIFAR10_DIR)")
    root = tmp_path_factory.mktemp("grading")
    instructor = root / "instructor"
    instructor.mkdir()
    (instructor / "grades_last_year.csv").write_text("id,score\nold,100\n", encoding="utf-8")
    home = root / "home"  # the instructor's home folder while the grader runs
    home.mkdir()
    secret = home / ".grader-test-secret"  # stands for the instructor's ~/.ssh
    secret.write_text("TOP-SECRET-TOKEN", encoding="utf-8")
    return {
        "root": root,
        "home": home,
        "instructor": instructor,
        "subs": root / "submissions",
        "slow": root / "slow",
        "secret": secret,
    }


@pytest.fixture(scope="module")
def graded(place: dict[str, Path]) -> dict[str, dict[str, str]]:
    subs = place["subs"]
    subs.mkdir()
    shutil.copyfile(ROOT / "solutions" / "07_homework.ipynb", subs / "good.ipynb")
    shutil.copyfile(ROOT / "notebooks" / "07_homework.ipynb", subs / "unfinished.ipynb")
    wrong = {**RIGHT, "head_params": 80, "bn_order_reason": "q7#Zp!x2Lw"}  # 10 random characters
    write_notebook(  # also prints an accuracy it never had
        subs / "partial.ipynb",
        SAVE,
        f"save_submission(tiny(), {wrong!r})\nprint('測試準確率 test accuracy: 99.5%')",
    )
    write_notebook(
        subs / "reference.ipynb",
        SAVE,
        "from helpers.models import fast_cnn\n"
        "answers = {'gap_input_shape': (3, 3, 128), 'head_params': 1290, 'head_params_at_64px': 1290}\n"
        f"save_submission(fast_cnn(), {{**answers, **{REASON!r}}})",
    )
    write_notebook(subs / "no_pooling.ipynb", SAVE, f"save_submission(tiny(pool=False), {RIGHT!r})")
    solution = nbformat.read(ROOT / "solutions" / "07_homework.ipynb", as_version=4)
    [training] = [c for c in solution.cells if "homework-train" in c.metadata.get("tags", [])]
    honest = training.source.split("# BEGIN SOLUTION\n")[1].split("# END SOLUTION")[0]
    training.source = CHEAT.replace(
        "    SOLUTION_TRAINING\n", "".join("    " + line for line in honest.splitlines(True))
    )
    training.source += "\nprint(time_check(result.seconds))"
    nbformat.write(solution, subs / "trains_on_test.ipynb")
    nbformat.write(example_submission(), subs / "example.ipynb")
    (subs / "not_json.ipynb").write_text("{ this is not a notebook", encoding="utf-8")
    write_notebook(subs / "syntax.ipynb", "def broken(:\n    pass")
    write_notebook(subs / "raises.ipynb", "x = 1", "raise ValueError('我壞掉了 broken on purpose')")
    write_notebook(subs / "exits.ipynb", "import os\nos._exit(3)")
    write_notebook(subs / "memory.ipynb", "blob = []\nwhile True:\n    blob.append(bytearray(2**28))")
    write_notebook(subs / "no_model.ipynb", "print('done, but nothing saved')")
    write_notebook(
        subs / "wrong_shape.ipynb", SAVE, f"save_submission(tiny(input_shape=(28, 28, 1)), {RIGHT!r})"
    )
    write_notebook(subs / "wrong_output.ipynb", SAVE, f"save_submission(tiny(classes=100), {RIGHT!r})")
    write_notebook(subs / "over_budget.ipynb", SAVE, f"save_submission(tiny(hidden=(800, 800)), {RIGHT!r})")
    fake_grader = (
        "import json\n\ndef main(argv=None):\n"
        "    report = {'input_shape': [32, 32, 3], 'output_shape': [10], 'params': 1, 'test_accuracy': 1.0,\n"
        "              'layer_types': ['GlobalAveragePooling2D', 'BatchNormalization']}\n"
        "    print('GRADER-RESULT ' + json.dumps(report))\n    return 0\n"
    )
    write_notebook(  # redefines the checks in its kernel and leaves a fake grader in its folder
        subs / "tampers.ipynb",
        SAVE,
        "import helpers.homework, helpers.grade.inside\n"
        "helpers.homework.check_model = lambda model: '✅'\n"
        "helpers.homework.model_problems = lambda report: []\n"
        "helpers.grade.inside.evaluate_model = lambda path, mode: {'test_accuracy': 1.0}\n"
        "helpers.homework.ModelReport.gap_head = True\n"
        "import pathlib\npathlib.Path('helpers/grade').mkdir(parents=True)\n"
        "pathlib.Path('helpers/__init__.py').write_text('')\n"
        "pathlib.Path('helpers/grade/__init__.py').write_text('')\n"
        f"pathlib.Path('helpers/grade/inside.py').write_text({fake_grader!r})\n"
        f"save_submission(tiny(head='flatten'), {RIGHT!r})",
    )
    write_notebook(subs / "huge_output.ipynb", "while True:\n    print('x' * 10_000)")
    escape = {
        "instructor": str(place["instructor"] / "grades_last_year.csv"),
        "pwned": str(place["instructor"] / "pwned.txt"),
        "other": str(subs / "good.ipynb"),
        "rubric": str(ROOT / "solutions" / "07_homework.rubric.json"),
        "data": str(local_copy()),
        "course": str(ROOT / "README.md"),
        "secret": str(place["secret"]),
    }
    write_notebook(
        subs / "escape.ipynb",
        SAVE,
        f"import json, os, pathlib, urllib.request\npaths = {escape!r}\ntried = {{}}\n"
        "def attempt(name, action):\n"
        "    try:\n        action()\n        tried[name] = 'done'\n"
        "    except Exception as error:\n        tried[name] = type(error).__name__\n"
        "attempt('delete instructor file', lambda: os.remove(paths['instructor']))\n"
        "attempt('write instructor folder', lambda: pathlib.Path(paths['pwned']).write_text('x'))\n"
        "attempt('delete other submission', lambda: os.remove(paths['other']))\n"
        "attempt('edit course', lambda: open(paths['course'], 'a').write('pwned'))\n"
        "attempt('network', lambda: urllib.request.urlopen('http://example.com', timeout=3))\n"
        "answers = {}\n"
        "attempt('read rubric', lambda: answers.update(bn_order_reason=open(paths['rubric']).read()))\n"
        "attempt('read home', lambda: answers.update(head_params=open(paths['secret']).read()))\n"
        "attempt('read data', lambda: answers.update(gap_input_shape=os.listdir(paths['data'])))\n"
        "print(tried)\n"
        "save_submission(tiny(), answers)",
    )
    folder = subs / "folder_student"
    write_notebook(folder / "07_homework.ipynb", "print('I did not train anything')")
    write_notebook(folder / "scratch_work.ipynb", "print('notes')")
    stale = folder / "homework_output"
    stale.mkdir()
    (stale / "model.keras").write_bytes(b"a model trained elsewhere must not count")
    (subs / "empty_folder").mkdir()
    rows, stderr = grade(
        subs,
        place["root"] / "grades.csv",
        *("--jobs", "2", "--timeout", "240", "--memory-gb", "3"),
        home=place["home"],
    )
    place["stderr_file"] = place["root"] / "stderr.txt"
    place["stderr_file"].write_text(stderr, encoding="utf-8")
    return rows


@pytest.fixture(scope="module")
def graded_slow(place: dict[str, Path]) -> tuple[dict[str, dict[str, str]], str]:
    slow = place["slow"]
    write_notebook(slow / "infinite_loop.ipynb", "while True:\n    pass")
    write_notebook(slow / "sleeps.ipynb", "import time\ntime.sleep(10**6)")
    return grade(slow, place["root"] / "slow.csv", "--jobs", "2", "--timeout", "10", home=place["home"])


def points(row: dict[str, str], item: str) -> float:
    return float(row[item])


def test_csv_has_one_row_per_submission_and_the_documented_columns(graded, place) -> None:
    ids = {s.id for s in find_submissions(place["subs"])}
    assert set(graded) == ids
    with open(place["root"] / "grades.csv", encoding="utf-8-sig") as f:
        header = next(csv.reader(f))
    assert header == [
        "id",
        "status",
        "score",
        *RUBRIC.columns,
        "review",
        "test_accuracy",
        "params",
        "runtime_s",
        "error",
    ]
    assert all(row["status"] in STATUSES for row in graded.values())


def test_the_solution_gets_full_automatic_marks_and_is_listed_for_review(graded) -> None:
    row = graded["good"]
    assert row["status"] == "ok", row["error"]
    assert float(row["score"]) == RUBRIC.automatic_total
    assert float(row["test_accuracy"]) >= 0.2
    assert int(row["params"]) == 289_642
    assert all(row[item] == "" for item in RUBRIC.reviewed), "reviewed items are the instructor's"
    assert "BN 順序的理由" in row["review"] and "資料增強" in row["review"]


def test_the_student_copy_filled_in_as_its_comments_suggest_runs_and_scores(graded) -> None:
    row = graded["example"]
    assert row["status"] == "ok", row["error"]
    assert int(row["params"]) < 100_000
    for item in ("runs", "shapes", "pooling", "q_gap_input_shape", "q_head_params", "q_head_params_at_64px"):
        assert points(row, item) == RUBRIC.points[item], item


def test_training_on_the_test_data_it_can_see_gains_nothing(graded, place) -> None:
    cheat, honest = graded["trains_on_test"], graded["good"]
    assert cheat["status"] == "ok", cheat["error"]
    feedback = (place["root"] / "feedback" / "trains_on_test.md").read_text(encoding="utf-8")
    assert "cheat found: nothing" in feedback, "no test labels reached the submission's kernel"
    assert abs(float(cheat["test_accuracy"]) - float(honest["test_accuracy"])) <= 0.03
    assert float(cheat["accuracy"]) <= float(honest["accuracy"])


def test_the_course_reference_model_earns_no_model_points(graded, place) -> None:
    row = graded["reference"]
    assert row["status"] == "bad_model" and "fast_cnn" in row["error"]
    for item in ("shapes", "param_budget", "gap_head", "batch_norm", "pooling", "accuracy"):
        assert points(row, item) == 0, item
    assert float(row["test_accuracy"]) >= 0  # measured, but not credited
    text = (place["root"] / "feedback" / "reference.md").read_text(encoding="utf-8")
    assert "參考模型 fast_cnn" in text


def test_a_model_without_pooling_fails_the_pooling_rule(graded) -> None:
    row = graded["no_pooling"]
    assert row["status"] == "bad_model" and "池化" in row["error"]
    assert points(row, "pooling") == 0 and points(row, "gap_head") == 5 and points(row, "batch_norm") == 5


def test_a_justification_is_never_scored_by_length_but_quoted_for_review(graded, place) -> None:
    row = graded["partial"]
    assert row["justification"] == "" and "BN 順序的理由" in row["review"]
    text = (place["root"] / "feedback" / "partial.md").read_text(encoding="utf-8")
    assert "q7#Zp!x2Lw" in text and "講師審閱" in text


def test_the_untouched_student_notebook_is_unfinished(graded) -> None:
    row = graded["unfinished"]
    assert row["status"] == "unfinished"
    assert "NotImplementedError" in row["error"]
    assert float(row["score"]) == 0


def test_partial_credit_item_by_item(graded) -> None:
    row = graded["partial"]
    assert row["status"] == "ok", row["error"]
    assert float(row["test_accuracy"]) == pytest.approx(0.1)  # measured by the grader, not claimed
    expected = {
        "runs": 10,
        "shapes": 5,
        "param_budget": 5,
        "gap_head": 5,
        "batch_norm": 5,
        "pooling": 5,
        "accuracy": 0,
        "q_gap_input_shape": 5,
        "q_head_params": 0,
        "q_head_params_at_64px": 5,
    }
    assert {item: points(row, item) for item in expected} == expected
    assert float(row["score"]) == sum(expected.values())


@pytest.mark.parametrize(
    ("submission", "status", "in_error"),
    [
        ("not_json", "invalid_notebook", ""),
        ("syntax", "syntax_error", "SyntaxError"),
        ("raises", "cell_error", "ValueError"),
        ("exits", "kernel_died", ""),
        ("memory", "memory_limit", "MemoryError"),
        ("no_model", "no_model", ""),
        ("wrong_shape", "bad_model", "(28, 28, 1)"),
        ("wrong_output", "bad_model", "(100,)"),
        ("over_budget", "bad_model", "預算"),
        ("huge_output", "output_limit", ""),
        ("empty_folder", "no_notebook", ""),
        ("folder_student", "no_model", ""),
    ],
)
def test_a_broken_submission_gets_a_clear_status(graded, submission, status, in_error) -> None:
    row = graded[submission]
    assert row["status"] == status, row
    assert in_error in row["error"]
    assert float(row["score"]) < RUBRIC.total / 2


def test_wrong_shapes_and_budget_lose_those_items(graded) -> None:
    assert points(graded["wrong_shape"], "shapes") == 0
    assert graded["wrong_shape"]["test_accuracy"] == ""  # not measurable on CIFAR-10 images
    assert points(graded["over_budget"], "param_budget") == 0
    assert int(graded["over_budget"]["params"]) > 500_000
    assert points(graded["over_budget"], "shapes") == 5


def test_printed_accuracy_is_ignored(graded) -> None:
    row = graded["partial"]
    assert row["status"] == "ok"
    assert float(row["test_accuracy"]) == pytest.approx(0.1)
    assert points(row, "accuracy") == 0


def test_redefining_the_checks_or_leaving_a_fake_grader_changes_nothing(graded) -> None:
    row = graded["tampers"]
    assert row["status"] == "bad_model"
    assert float(row["test_accuracy"]) == pytest.approx(0.1)
    assert points(row, "gap_head") == 0


def test_a_model_brought_along_does_not_count(graded) -> None:
    assert points(graded["folder_student"], "shapes") == 0


@pytest.mark.skipif(not sandbox_available(), reason="bubblewrap is not available here")
def test_sandbox_keeps_the_instructor_and_other_submissions_safe(graded, place) -> None:
    assert (place["instructor"] / "grades_last_year.csv").read_text(encoding="utf-8") == "id,score\nold,100\n"
    assert not (place["instructor"] / "pwned.txt").exists()
    assert (place["subs"] / "good.ipynb").is_file()
    assert "pwned" not in (ROOT / "README.md").read_text(encoding="utf-8")
    row = graded["escape"]
    assert row["status"] == "ok"
    escape = (place["root"] / "feedback" / "escape.md").read_text(encoding="utf-8")
    assert '"points"' not in escape, "the rubric was hidden from it"
    assert "test_batch" not in escape, "the instructor's CIFAR-10 copy was hidden from it"
    assert "沙箱 sandbox bubblewrap" in place["stderr_file"].read_text(encoding="utf-8")
    assert "TOP-SECRET" not in escape
    assert "TOP-SECRET" not in (place["root"] / "grades.csv").read_text(encoding="utf-8")


def test_feedback_file_per_student_in_chinese(graded, place) -> None:
    feedback = place["root"] / "feedback"
    assert {p.stem for p in feedback.glob("*.md")} == set(graded)
    text = (feedback / "partial.md").read_text(encoding="utf-8")
    assert "自動評分 (automatic score)：45 / 85" in text
    assert "評分程式量到的測試準確率" in text
    assert "❌ 你的答案 (yours): 80；你的模型 (your model): 90" in text
    assert "`no_model`" in (feedback / "no_model.md").read_text(encoding="utf-8")


def test_time_limit_stops_endless_submissions(graded_slow) -> None:
    rows, _ = graded_slow
    for name in ("infinite_loop", "sleeps"):
        assert rows[name]["status"] == "timeout"
        assert float(rows[name]["runtime_s"]) < 60


def test_without_a_sandbox_the_grader_says_so_loudly(tmp_path: Path) -> None:
    write_notebook(tmp_path / "subs" / "a.ipynb", "print('hi')")
    rows, stderr = grade(tmp_path / "subs", tmp_path / "g.csv", "--no-sandbox", "--timeout", "60")
    assert "No sandbox" in stderr and "沒有可用的沙箱" in stderr
    assert rows["a"]["status"] == "no_model"


def test_sandbox_command_hides_and_protects(tmp_path: Path) -> None:
    command = sandboxed(["python", "x.py"], tmp_path / "s", [ROOT], [tmp_path / "subs", tmp_path])
    joined = " ".join(command)
    assert "--ro-bind / /" in joined and "--unshare-all" in joined and "--cap-drop ALL" in joined
    assert f"--bind {tmp_path / 's'} {tmp_path / 's'}" in joined
    assert f"--tmpfs {tmp_path}" in joined
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


def test_submissions_are_files_or_folders_with_unique_ids(tmp_path: Path) -> None:
    write_notebook(tmp_path / "alice.ipynb", "1")
    write_notebook(tmp_path / "alice" / "work" / "07_homework.ipynb", "1")
    write_notebook(tmp_path / "alice" / "draft.ipynb", "1")
    write_notebook(tmp_path / "bob" / ".ipynb_checkpoints" / "x.ipynb", "1")
    (tmp_path / ".hidden.ipynb").write_text("{}")
    (tmp_path / "notes.txt").write_text("not a submission")
    found = {s.id: s for s in find_submissions(tmp_path)}
    assert set(found) == {"alice", "alice_2", "bob"}
    assert {found["alice"].notebook, found["alice_2"].notebook} == {
        tmp_path / "alice.ipynb",
        tmp_path / "alice" / "work" / "07_homework.ipynb",  # a 07… notebook is preferred in a folder
    }
    assert found["bob"].notebook is None


def test_copy_keeps_regular_files_but_not_a_brought_model_or_links(tmp_path: Path) -> None:
    student = tmp_path / "subs" / "carol"
    write_notebook(student / "07_homework.ipynb", "1")
    (student / "data").mkdir()
    (student / "data" / "notes.txt").write_text("mine")
    (student / "homework_output").mkdir()
    (student / "homework_output" / "model.keras").write_bytes(b"trained elsewhere")
    (student / "link").symlink_to(tmp_path)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    [submission] = find_submissions(tmp_path / "subs")
    notebook = copy_submission(submission, scratch)
    assert notebook == scratch / "07_homework.ipynb" and notebook.is_file()
    assert (scratch / "data" / "notes.txt").read_text() == "mine"
    assert not (scratch / "homework_output").exists() and not (scratch / "link").exists()
    with pytest.raises(ValueError, match="no notebook"):
        copy_submission(Submission("dave", tmp_path, None), scratch)


def test_answers_are_scored_against_the_saved_model(tmp_path: Path) -> None:
    row = Row("erin")
    (tmp_path / "answers.json").write_text(json.dumps({**RIGHT, "head_params": 1, **REASON}))
    score_answers(row, read_answers(tmp_path / "answers.json", row), RIGHT, RUBRIC)
    assert row.items["q_head_params"] == 0
    assert row.items["q_gap_input_shape"] == RUBRIC.points["q_gap_input_shape"]
    assert "❌" in row.notes["q_head_params"] and row.notes["q_gap_input_shape"] == "✅"
    assert "justification" not in row.items, "the justification is reviewed, not scored"
    nothing = Row("no-model")
    score_answers(nothing, RIGHT, {}, RUBRIC)
    assert nothing.score == 0 and "沒有可核對的模型" in nothing.notes["q_head_params"]
    (tmp_path / "bad.json").write_text("{ not json")
    broken = Row("frank")
    assert read_answers(tmp_path / "bad.json", broken) == {} and "JSON" in broken.notes["answers"]
    assert read_answers(tmp_path / "missing.json", broken) == {} and "no answers" in broken.notes["answers"]


def test_model_scoring_uses_only_the_measurement() -> None:
    measured = {
        "input_shape": [32, 32, 3],
        "output_shape": [10],
        "params": 600_000,
        "layer_types": ["Conv2D", "BatchNormalization", "MaxPooling2D", "GlobalAveragePooling2D", "Dense"],
        "test_accuracy": SMOKE.homework_target,
    }
    row = Row("gina")
    score_model(row, measured, RUBRIC, SMOKE)
    assert row.items["param_budget"] == 0 and row.items["shapes"] == RUBRIC.points["shapes"]
    assert row.items["accuracy"] == RUBRIC.points["accuracy"]
    assert row.status == "bad_model" and "預算" in row.error
    text = feedback_text(row, RUBRIC, "smoke")
    assert "# 作業 07 回饋 (feedback)：gina" in text and "`bad_model`" in text and "600,000" in text


def test_the_inside_processes_run_isolated_and_report_one_line() -> None:
    command = inside_command("evaluate", "m.keras", "--mode", "smoke")
    assert command[:2] == [sys.executable, "-I"] and command[-4:] == [
        "evaluate",
        "m.keras",
        "--mode",
        "smoke",
    ]
    assert "helpers.grade.inside" in command[3]
    out = f'noise\n{RESULT_MARK}{{"status": "ok"}}\n{RESULT_MARK}{{"status": "timeout"}}\n'
    assert last_result(out) == {"status": "timeout"}
    assert last_result("no result here") is None and last_result(RESULT_MARK + "{broken") is None
