"""The grader, end to end: one sandboxed batch of honest, broken and hostile submissions.

One grader run (``python -m helpers.grade``, smoke mode, ``--jobs 2``) over a folder made here,
shared by every test of this file. Cheap by design: only two submissions really train (the
solution, and the student copy filled in as its comments suggest), and only these two import
TensorFlow in their kernel (the untouched student copy is handed in as its exercise stubs
alone); every other one is a few cells that train nothing (the snooping one hands in a small
untrained model that the test saved and the notebook carries as base64), and those that only
test ids are not notebooks at all (graded without a kernel). The grader runs with a stand-in
home folder and temporary folder, so the "instructor's secret" never touches the real
``$HOME``. Needs the CIFAR-10 copy (``CIFAR10_DIR``) and, for the hostile cases, bubblewrap and
cgroups (they skip where the machine has none).

What each hostile submission tries, and what the grader must do, is in its test's docstring.
"""

from __future__ import annotations

import base64
import csv
import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from helpers.contract import TRAIN_TAG, is_stub
from helpers.course import ROOT
from helpers.data import local_copy
from helpers.grade import STATUSES, Limits, find_submissions, load_rubric, sandbox_available
from helpers.grade.example import example_submission
from helpers.grade.report import FORMULA_STARTS
from helpers.grade.sandbox import make_control_group
from helpers.grade.submissions import MAX_ID_CHARS
from helpers.modes import SMOKE

RUBRIC = load_rubric()


def tiny_model_bytes(folder: Path) -> bytes:
    """A small untrained model, saved here (not in a kernel: no submission needs TensorFlow to hand
    it in). Its zero Dense makes every prediction class 0: exactly 10% on the smoke test set."""
    import keras
    from keras import layers

    model = keras.Sequential(
        [
            keras.Input(shape=(32, 32, 3)),
            layers.Conv2D(8, 3, padding="same"),
            layers.BatchNormalization(),
            layers.ReLU(),
            layers.MaxPooling2D(2),
            layers.GlobalAveragePooling2D(),
            layers.Dense(10, kernel_initializer="zeros"),
        ]
    )
    path = folder / "tiny.keras"
    model.save(path)
    return path.read_bytes()


#: Hands in the model it carries (base64, ``MODEL``) as its own: data carried in the notebook.
CARRIED = """\
import base64, pathlib
def save_carried_model():
    pathlib.Path("homework_output").mkdir(exist_ok=True)
    pathlib.Path("homework_output/model.keras").write_bytes(base64.b64decode(MODEL))
"""
#: The right answers about the tiny model: the feature maps entering GAP, and the head's parameters.
RIGHT = {"gap_input_shape": [16, 16, 8], "head_params": 90, "head_params_at_64px": 90}
REASON = {"bn_order_reason": "conv-bn-relu: BN 讓 ReLU 的輸入以 0 為中心"}
#: Written as plain JSON (no Keras): for submissions that hand in answers but no model.
ANSWERS_ONLY = """\
import json, pathlib
def save_answers(answers):
    pathlib.Path("homework_output").mkdir(exist_ok=True)
    pathlib.Path("homework_output/answers.json").write_text(json.dumps(answers, ensure_ascii=False))
"""


def write_notebook(path: Path, *sources: str, train_cell: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    cells = [new_code_cell(s) for s in sources]
    if train_cell is not None:
        cell = new_code_cell(train_cell)
        cell.metadata["tags"] = [TRAIN_TAG]
        cells.insert(1, cell)
    notebook = new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, path)
    return path


def shared_cache(factory: pytest.TempPathFactory) -> Path:
    """The graders' cache folder (data copy without the test set, calibrations), shared by the test
    files of one session (and by pytest-xdist's workers): made once, as on an instructor's machine."""
    folder = factory.getbasetemp().parent / "grade-cache"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def run_grader(folder: Path, out: Path, *options: str, env: dict[str, str] | None = None):
    """Run the grader's command line; returns the completed process."""
    return subprocess.run(
        [sys.executable, "-m", "helpers.grade", str(folder), "--out", str(out), "--mode", "smoke", *options],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env or dict(os.environ),
        timeout=900,
        check=False,
    )


def read_rows(out: Path) -> list[dict[str, str]]:
    with open(out, encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


#: What the snooping submission looks for; it writes what it finds into its justification.
SNOOP = """\
import glob, json, os, pathlib, pickle, urllib.request
from helpers.data import load_cifar10
paths = PATHS
found = {}
def attempt(name, action):
    try:
        found[name] = action()
    except Exception as error:
        found[name] = "refused " + type(error).__name__
attempt("root", lambda: sorted(os.listdir("/")))
attempt("mountinfo", lambda: [line.split()[4] for line in open("/proc/self/mountinfo")])
attempt("course", lambda: sorted(os.listdir(paths["course"])))
attempt("git", lambda: os.path.exists(paths["course"] + "/.git"))
attempt("rubric", lambda: open(paths["rubric"]).read()[:80])
attempt("home secret", lambda: open(paths["secret"]).read())
attempt("other labelled copy", lambda: len(pickle.loads(pathlib.Path(paths["other_copy"]).read_bytes())))
attempt("instructor data", lambda: os.listdir(paths["data"]))
given = os.environ["CIFAR10_DIR"] + "/**/test_batch"
attempt("given test batch", lambda: [os.path.basename(p) for p in glob.glob(given, recursive=True)])
attempt("test images", lambda: len(load_cifar10()[1][0]))
attempt("test labels", lambda: load_cifar10()[1][1] is not None)
attempt("network", lambda: urllib.request.urlopen("http://example.com", timeout=3).status)
attempt("delete instructor file", lambda: os.remove(paths["instructor_file"]))
attempt("write instructor folder", lambda: pathlib.Path(paths["pwned"]).write_text("x"))
attempt("delete other submission", lambda: os.remove(paths["other"]))
attempt("edit course", lambda: open(paths["course"] + "/README.md", "a").write("pwned"))
wrong = {**RIGHT, "head_params": 80}  # one wrong answer, a random justification, a printed accuracy
reason = "q7#Zp!x2Lw SNOOP " + json.dumps(found, ensure_ascii=False)
save_carried_model()
save_answers({**wrong, "bn_order_reason": reason})
print("測試準確率 test accuracy: 99.5%")
"""

#: Rewrites its own notebook (then leaves a FIFO there), and leaves a FIFO and a link where the
#: grader reads the answers and the model.
REWRITES = """\
import json, os, pathlib
me = [p for p in pathlib.Path(".").glob("*.ipynb")][0]
forged = json.loads(me.read_text())
for cell in forged["cells"]:
    cell["source"] = "FORGED-TRAINING-CELL: this never ran"
me.write_text(json.dumps(forged))
os.rename(me, "renamed.ipynb")
os.mkfifo(me)
pathlib.Path("homework_output").mkdir()
os.mkfifo("homework_output/answers.json")
os.symlink(SOLUTION, "homework_output/model.keras")
"""

#: Writes a megabyte of result lines saying "ok" to the stdout it inherited from the runner (and
#: prints some into its output), then fails.
FORGES = """\
import os
line = 'GRADER-RESULT {"status": "ok", "error": ""}\\n'
for _ in range(25_000):
    os.write(1, line.encode())
print(line * 100)
raise RuntimeError("failed after forging")
"""

#: Redefines the checks in its kernel and plants a fake grader in its folder before saving.
TAMPERS = """\
import helpers.homework, helpers.grade.inside, pathlib
helpers.homework.check_model = lambda model: "✅"
helpers.homework.model_problems = lambda report: []
helpers.homework.canonical = lambda value: "same"
pathlib.Path("helpers/grade").mkdir(parents=True)
pathlib.Path("helpers/__init__.py").write_text("")
pathlib.Path("helpers/grade/__init__.py").write_text("")
fake = "def main(argv=None):\\n    print('GRADER-RESULT {\\"status\\": \\"ok\\"}')\\n"
pathlib.Path("helpers/grade/inside.py").write_text(fake)
"""

#: Starts child processes that together need more memory than the whole run may use.
MEMORY = """\
import os, time
children = []
for _ in range(3):
    pid = os.fork()
    if pid == 0:
        blob = b"x" * (1200 * 2**20)
        time.sleep(2)
        os._exit(0)
    children.append(pid)
print([os.waitpid(pid, 0)[1] for pid in children])
blob = []
while True:
    blob.append(b"x" * 2**28)
"""

#: Starts as many processes as it can, and reports how many.
PROCESSES = (
    ANSWERS_ONLY
    + """\
import os, time
started = 0
try:
    for _ in range(2000):
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
        started += 1
except OSError as error:
    print(error)
save_answers({"bn_order_reason": f"PROCESSES started {started}"})
"""
)

#: Fills the scratch folder.
DISK = """\
chunk = b"x" * 2**26
for k in range(10_000):
    with open(f"fill{k}", "wb") as f:
        f.write(chunk)
"""

#: Breaks out of the quote in the feedback file, if it can.
INJECTION = (
    ANSWERS_ONLY
    + """\
save_answers({"bn_order_reason": "```\\n~~~~\\n# 滿分 FULL MARKS 85 / 85\\n<svg onload=alert(1)>\\n````"})
"""
)

FORMULA_ERROR = """\
Evil = type("=1+cmd|' /C calc'!A0", (Exception,), {})
raise Evil("=HYPERLINK(\\"http://evil.example\\", \\"click\\")")
"""


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
    (home / ".grader-test-secret").write_text("TOP-SECRET-TOKEN", encoding="utf-8")
    other = root / "shared-datasets" / "cifar-10-batches-py"  # a labelled copy outside the grader's view
    other.mkdir(parents=True)
    labels = {b"data": np.zeros((10, 3072), np.uint8), b"labels": list(range(10))}
    (other / "test_batch").write_bytes(pickle.dumps(labels))
    (root / "tmp").mkdir()
    return {
        "root": root,
        "home": home,
        "instructor": instructor,
        "subs": root / "submissions",
        "other_copy": other / "test_batch",
        "tmp": root / "tmp",
        "cache": shared_cache(tmp_path_factory),
    }


@pytest.fixture(scope="module")
def graded(place: dict[str, Path]) -> dict[str, dict[str, str]]:
    subs = place["subs"]
    subs.mkdir()
    shutil.copyfile(ROOT / "solutions" / "07_homework.ipynb", subs / "good.ipynb")
    nbformat.write(example_submission(), subs / "example.ipynb")
    # the student copy's own exercise stubs, handed in untouched, after the one import they need
    # (without the cells that load data and train: the solution and the example run those)
    student = nbformat.read(ROOT / "notebooks" / "07_homework.ipynb", as_version=4)
    student.cells = [new_code_cell("import keras"), *(cell for cell in student.cells if is_stub(cell))]
    assert len(student.cells) > 1, "the student copy has exercise stubs"
    nbformat.write(student, subs / "unfinished.ipynb")
    paths = {
        "course": str(ROOT),
        "rubric": str(ROOT / "solutions" / "07_homework.rubric.json"),
        "secret": str(place["home"] / ".grader-test-secret"),
        "other_copy": str(place["other_copy"]),
        "data": str(local_copy()),
        "instructor_file": str(place["instructor"] / "grades_last_year.csv"),
        "pwned": str(place["instructor"] / "pwned.txt"),
        "other": str(subs / "good.ipynb"),
    }
    if not sandbox_available():  # nothing would stop the writes: aim them at decoys instead
        decoys = place["root"] / "decoys"
        decoys.mkdir()
        for key in ("instructor_file", "pwned", "other"):
            paths[key] = str(decoys / key)
        paths["course"] = str(decoys)
    carried = base64.b64encode(tiny_model_bytes(place["root"])).decode()
    blob = f"MODEL = {carried!r}  # a model carried in the notebook\n" + CARRIED
    snoop = f"RIGHT = {RIGHT!r}\nPATHS = {paths!r}\n" + SNOOP
    write_notebook(subs / "snoop.ipynb", ANSWERS_ONLY, blob, TAMPERS, snoop)
    write_notebook(
        subs / "rewrites.ipynb",
        f"SOLUTION = {str(ROOT / 'solutions' / '07_homework.ipynb')!r}",
        REWRITES,
        train_cell="# ORIGINAL-TRAINING-CELL: what the student handed in\nprint('training')",
    )
    write_notebook(subs / "forges.ipynb", FORGES)
    write_notebook(subs / "memory.ipynb", MEMORY)
    write_notebook(subs / "processes.ipynb", PROCESSES)
    write_notebook(subs / "disk.ipynb", DISK)
    write_notebook(subs / "injection.ipynb", INJECTION)
    reason = 'JUSTIFICATION_KEY = "bn_order_reason"\nanswers = {JUSTIFICATION_KEY: "MY-REASON conv-bn-relu"}'
    write_notebook(subs / "late_typo.ipynb", ANSWERS_ONLY + reason, "print(reslt)", "save_answers(answers)")
    write_notebook(subs / "late_typo_unsaved.ipynb", ANSWERS_ONLY + reason, "save_answerz(answers)")
    # names: a formula, bytes that are not UTF-8, a line break with HTML, a very long folder name
    write_notebook(subs / '=HYPERLINK("http:evil.example","x").ipynb', FORMULA_ERROR)
    with open(os.path.join(os.fsencode(subs), b"bad\xff\xfename.ipynb"), "w") as f:
        f.write("{}")
    (subs / "evil\n<svg onload=alert(1)>.ipynb").write_text("{}")  # ids only: no kernel needed
    (subs / ("長" * 80)).mkdir()
    (subs / ("長" * 80) / "07_homework.ipynb").write_text("{}")
    # ids that collide: a folder, a file of the same name, and a file named like the suffixed id
    for name in ("alice/07_homework.ipynb", "alice.ipynb", "alice_2.ipynb"):
        (subs / name).parent.mkdir(exist_ok=True)
        (subs / name).write_text("{}")
    (subs / "linked.ipynb").symlink_to(ROOT / "solutions" / "07_homework.ipynb")
    os.mkfifo(subs / "fifo.ipynb")
    (subs / "not_json.ipynb").write_text("{ this is not a notebook", encoding="utf-8")
    write_notebook(subs / "syntax.ipynb", "def broken(:\n    pass")
    write_notebook(subs / "raises.ipynb", "x = 1", "raise ValueError('我壞掉了 broken on purpose')")
    write_notebook(subs / "exits.ipynb", "import os\nos._exit(3)")
    write_notebook(subs / "no_model.ipynb", "x = 1\nprint('done, but nothing saved')")
    write_notebook(subs / "huge_output.ipynb", "while True:\n    print('x' * 10_000)")
    folder = subs / "folder_student"
    write_notebook(folder / "07_homework.ipynb", "print('I did not train anything')")
    write_notebook(folder / "scratch_work.ipynb", "print('notes')")
    (folder / "homework_output").mkdir()
    (folder / "homework_output" / "model.keras").write_bytes(b"a model trained elsewhere must not count")
    (subs / "empty_folder").mkdir()

    env = {**os.environ, "HOME": str(place["home"]), "TMPDIR": str(place["tmp"])}
    env["COURSE_GRADE_CACHE"] = str(place["cache"])
    options = ("--jobs", "2", "--memory-gb", "3", "--disk-gb", "0.5", "--output-mb", "2")
    completed = run_grader(subs, place["root"] / "grades.csv", *options, env=env)
    assert completed.returncode == 0, completed.stderr[-3000:]
    place["stderr"] = completed.stderr  # type: ignore[assignment]
    rows = read_rows(place["root"] / "grades.csv")
    place["rows"] = rows  # type: ignore[assignment]
    return {row["id"]: row for row in rows}


def feedback(place: dict[str, Path], name: str) -> str:
    return (place["root"] / "feedback" / f"{name}.md").read_text(encoding="utf-8")


def points(row: dict[str, str], item: str) -> float:
    return float(row[item])


needs_sandbox = pytest.mark.skipif(not sandbox_available(), reason="bubblewrap is not available here")
needs_cgroup = pytest.mark.skipif(make_control_group(Limits()) is None, reason="no cgroup can be made here")


def test_one_row_per_submission_with_unique_printable_ids(graded, place) -> None:
    rows = place["rows"]
    assert len(rows) == len(find_submissions(place["subs"])) == len(list(place["subs"].iterdir()))
    ids = [row["id"] for row in rows]
    assert len(set(ids)) == len(ids)
    assert {"alice", "alice_2", "alice_2_2"} <= set(ids), "a folder and two files named alike: three rows"
    assert all(i.isprintable() and "\n" not in i and len(i) <= MAX_ID_CHARS for i in ids)
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
        "reference_s",
        "worker",
        "device",
        "error",
    ]
    assert all(row["status"] in STATUSES for row in rows)
    assert {p.stem for p in (place["root"] / "feedback").glob("*.md")} == set(ids)


def test_the_solution_gets_full_automatic_marks_and_is_listed_for_review(graded) -> None:
    row = graded["good"]
    assert row["status"] == "ok", row["error"]
    assert float(row["score"]) == RUBRIC.automatic_total
    assert float(row["test_accuracy"]) >= 0.2
    assert int(row["params"]) == 280_298
    assert all(row[item] == "" for item in RUBRIC.reviewed), "reviewed items are the instructor's"
    assert "BN 順序的理由" in row["review"] and "資料增強" in row["review"] and "消融實驗" in row["review"]


def test_the_solutions_ablation_is_quoted_from_the_graders_run_and_its_cells(graded, place) -> None:
    text = feedback(place, "good")
    quoted = text.split("### 消融實驗", 1)[1]
    assert "1 個卷積 (mine)" in quoted and "validation" in quoted and "run_ablation(" in quoted


def test_the_student_copy_filled_in_as_its_comments_suggest_runs_and_scores(graded) -> None:
    row = graded["example"]
    assert row["status"] == "ok", row["error"]
    assert int(row["params"]) < 100_000
    assert float(row["test_accuracy"]) >= SMOKE.homework_target, "the starter reaches the smoke target"
    for item in ("runs", "shapes", "pooling", "q_gap_input_shape", "q_head_params", "q_head_params_at_64px"):
        assert points(row, item) == RUBRIC.points[item], item
    assert "small_cnn" in row["review"] or "相似" in row["review"], "the unchanged starter is listed"
    assert row["ablation"] == row["justification"] == "0", "an unchanged starter earns no design points"
    assert row["augmentation"] == "", "the augmentation is still the instructor's to score"


def test_the_untouched_student_exercises_are_unfinished(graded) -> None:
    row = graded["unfinished"]
    assert row["status"] == "unfinished" and "NotImplementedError" in row["error"]
    assert float(row["score"]) == 0


def test_partial_credit_item_by_item_from_what_the_grader_measured(graded, place) -> None:
    row = graded["snoop"]
    assert row["status"] == "ok", row["error"]
    assert float(row["test_accuracy"]) == pytest.approx(0.1), "measured by the grader, not the 99.5% printed"
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
    assert row["justification"] == "" and "BN 順序的理由" in row["review"]
    text = feedback(place, "snoop")
    assert "自動評分 (automatic score)：45 / 75" in text and "q7#Zp!x2Lw" in text and "講師審閱" in text
    assert "❌ 你的答案 (yours): 80；你的模型 (your model): 90" in text


@needs_sandbox
def test_the_kernel_sees_nothing_but_what_the_run_needs(graded, place) -> None:
    """It looks for test labels and images everywhere (the data it was given, another labelled
    copy on disk, the instructor's data), the mount table, the course's git history, the rubric,
    the instructor's home; and tries to write, delete and reach the network."""
    row = graded["snoop"]
    assert row["status"] == "ok", row["error"]
    text = feedback(place, "snoop")
    assert "SNOOP" in text
    assert "夾帶" in row["review"] and "b64decode" in text, "embedded data is listed for review"
    found = json.loads(text.split("SNOOP ", 1)[1].split("\n", 1)[0])
    assert found["test images"] == 0 and found["test labels"] is False
    assert found["given test batch"] == ["test_batch"]  # present, and empty
    for refused in (
        "rubric",
        "home secret",
        "other labelled copy",
        "instructor data",
        "network",
        "delete instructor file",
        "write instructor folder",
        "delete other submission",
        "edit course",
    ):
        assert str(found[refused]).startswith("refused"), (refused, found[refused])
    python_env = (
        {Path(sys.prefix).relative_to(ROOT).parts[0]} if Path(sys.prefix).is_relative_to(ROOT) else set()
    )
    assert set(found["course"]) == {"helpers"} | python_env, "only helpers/ (and a venv kept in the course)"
    assert found["git"] is False
    mounted = " ".join(found["mountinfo"])
    for secret in (place["home"], place["instructor"], place["subs"], place["other_copy"].parent.parent):
        assert str(secret) not in mounted
    assert "TOP-SECRET" not in text and '"points"' not in text
    assert (place["instructor"] / "grades_last_year.csv").read_text(encoding="utf-8") == "id,score\nold,100\n"
    assert not (place["instructor"] / "pwned.txt").exists() and (place["subs"] / "good.ipynb").is_file()
    assert "pwned" not in (ROOT / "README.md").read_text(encoding="utf-8")
    assert "沙箱 sandbox bubblewrap" in place["stderr"]


def test_what_is_quoted_comes_from_the_hand_in_and_no_planted_file_is_followed(graded, place) -> None:
    """It rewrites its own notebook and leaves a FIFO in its place; its answers file is a FIFO and
    its model a link to the solution notebook: the batch still ends, the quote is the original."""
    row = graded["rewrites"]
    assert row["status"] == "no_model" and points(row, "runs") == 0
    text = feedback(place, "rewrites")
    assert "ORIGINAL-TRAINING-CELL" in text and "FORGED" not in text
    assert "BEGIN SOLUTION" not in text and "CosineDecay" not in text


def test_forged_result_lines_change_nothing(graded) -> None:
    """A megabyte of "ok" result lines on stdout, then an error: the result comes from the
    runner's private pipe, so the row says what happened."""
    row = graded["forges"]
    assert row["status"] == "cell_error" and "RuntimeError" in row["error"]
    assert points(row, "runs") == 0, "a failing run never earns the runs points"


def test_checks_redefined_in_the_kernel_and_a_planted_grader_change_nothing(graded) -> None:
    """The snooping notebook also redefines the homework's checks (every answer "right") and
    plants a fake ``helpers/grade/inside.py`` in its folder: the grader still measures and
    checks everything itself (its wrong answer stays wrong)."""
    row = graded["snoop"]
    assert row["status"] == "ok" and points(row, "q_head_params") == 0
    assert float(row["test_accuracy"]) == pytest.approx(0.1)


@needs_cgroup
def test_memory_and_processes_are_limited_for_the_whole_run(graded, place) -> None:
    assert graded["memory"]["status"] == "memory_limit", graded["memory"]
    text = feedback(place, "processes")
    started = int(text.split("PROCESSES started ", 1)[1].split()[0])
    assert started < Limits().tasks


def test_a_disk_filler_is_stopped_and_its_scratch_folder_removed(graded, place) -> None:
    assert graded["disk"]["status"] == "disk_limit", graded["disk"]
    assert list(place["tmp"].iterdir()) == [], "every scratch folder is deleted"
    assert graded["good"]["status"] == "ok"


def test_the_feedback_quote_cannot_be_closed_from_inside(graded, place) -> None:
    text = feedback(place, "injection")
    quote = text.split("### BN 順序的理由", 1)[1]
    fence = quote.split("\n")[1]
    assert set(fence) == {"`"} and len(fence) > 4
    inside, _, after = quote.split(fence + "\n", 1)[1].partition("\n" + fence)
    assert "# 滿分 FULL MARKS" in inside and "<svg" in inside
    assert "滿分" not in after


def test_no_csv_cell_is_a_formula(graded, place) -> None:
    for row in place["rows"]:
        for value in row.values():
            assert not value.startswith(FORMULA_STARTS), value
    assert any("HYPERLINK" in row["id"] for row in place["rows"])
    assert any(row["error"].startswith("'=1+cmd") for row in place["rows"])
    evil = next(row["id"] for row in place["rows"] if row["id"].startswith("evil"))
    assert "<svg" not in feedback(place, evil)


def test_a_late_typo_costs_the_runs_points_and_nothing_the_student_wrote(graded, place) -> None:
    """A typo in a late cell: the run goes on, the status names the cell, later cells still save
    the answers; when the save itself fails, the feedback quotes the justification from the
    notebook instead of saying there is none."""
    row = graded["late_typo"]
    assert row["status"] == "cell_error" and points(row, "runs") == 0
    assert "NameError" in row["error"] and "第 2 個程式格 (code cell 2): print(reslt)" in row["error"]
    assert "MY-REASON" in feedback(place, "late_typo")
    unsaved = feedback(place, "late_typo_unsaved")
    assert "MY-REASON" in unsaved and "沒有寫 none" not in unsaved and "not saved by the run" in unsaved


def test_links_and_fifos_handed_in_are_not_read(graded, place) -> None:
    for name in ("linked", "fifo"):
        assert graded[name]["status"] == "invalid_notebook", graded[name]
    assert "CosineDecay" not in feedback(place, "linked")


@pytest.mark.parametrize(
    ("submission", "status", "in_error"),
    [
        ("not_json", "invalid_notebook", ""),
        ("syntax", "syntax_error", "SyntaxError"),
        ("raises", "cell_error", "ValueError"),
        ("exits", "kernel_died", ""),
        ("no_model", "no_model", ""),
        ("huge_output", "output_limit", ""),
        ("empty_folder", "no_notebook", ""),
        ("folder_student", "no_model", ""),
    ],
)
def test_a_broken_submission_gets_a_clear_status_and_no_runs_points(
    graded, submission, status, in_error
) -> None:
    row = graded[submission]
    assert row["status"] == status, row
    assert in_error in row["error"]
    assert points(row, "runs") == 0 and float(row["score"]) < RUBRIC.total / 2
