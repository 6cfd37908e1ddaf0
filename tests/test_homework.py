"""Homework 07's rules and self-checks: answers stay hidden, models are judged by what they are."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import nbformat
import numpy as np
import pytest
from keras import layers

from helpers.course import ROOT
from helpers.grade import Row, feedback_text, load_rubric
from helpers.homework import (
    ANSWERS_PATH,
    MODEL_PATH,
    PARAM_BUDGET,
    QUESTIONS,
    accuracy_credit,
    canonical,
    check_accuracy,
    check_model,
    grading_rules,
    inspect_model,
    model_facts,
    record_answer,
    save_submission,
)
from helpers.models import (
    AIRBENCH_WIDTHS,
    KERAS_EXAMPLE_PARAMS,
    conv_block,
    fast_cnn,
    keras_example_cnn,
    resnet9,
    small_cnn,
)
from helpers.modes import FULL, MODES, SMOKE
from helpers.training import FastRecipe

RUBRIC = load_rubric()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (18496, "18496"),
        (np.int64(7), "7"),
        (1290.0, "1290"),
        ((14, 14, 16), "14,14,16"),
        ([None, 14, 14, 16], "14,14,16"),
        ("  BN-ReLU-Conv ", "bn-relu-conv"),
        (True, None),
        (1.5, None),
        ((14, "a"), None),
        ("", None),
        (None, None),
    ],
)
def test_canonical_forms(value, expected) -> None:
    assert canonical(value) == expected


def test_rubric_has_every_question_and_reviewed_items() -> None:
    assert {f"q_{q}" for q in QUESTIONS} <= set(RUBRIC.points)
    assert set(RUBRIC.reviewed) == {"ablation", "justification", "augmentation"}
    assert RUBRIC.total == 100 and RUBRIC.automatic_total == 75 and RUBRIC.points["accuracy"] == 25
    assert RUBRIC.design == ("ablation", "justification")


def test_every_reviewed_item_has_descriptors_the_student_sees(tmp_path: Path) -> None:
    """Each reviewed item says what earns full, partial and no points; the homework notebook shows
    the same descriptors word for word, and the grader's feedback prints them."""
    assert set(RUBRIC.descriptors) == set(RUBRIC.reviewed)
    notebook = nbformat.read(ROOT / "solutions" / "07_homework.ipynb", as_version=4)
    shown = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    for name, levels in RUBRIC.descriptors.items():
        assert max(map(float, levels)) == RUBRIC.reviewed[name] and min(map(float, levels)) == 0, name
        for points, text in levels.items():
            assert f"| {points} | {text} |" in shown, (name, points)
    feedback = feedback_text(Row("s"), RUBRIC, "full")
    assert "審閱的標準" in feedback and "0 分：沒有資料增強" in feedback
    table = json.loads((ROOT / "solutions" / "07_homework.rubric.json").read_text(encoding="utf-8"))
    table["descriptors"]["augmentation"] = {"4": "top below the item's 5 points", "0": "none"}
    (tmp_path / "r.json").write_text(json.dumps(table), encoding="utf-8")
    with pytest.raises(ValueError, match="augmentation"):
        load_rubric(tmp_path / "r.json")


def own_model() -> keras.Model:
    return keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            *conv_block(16, "conv-bn-relu", name="a"),
            layers.MaxPooling2D(2),
            *conv_block(24, "conv-bn-relu", name="b"),
            layers.MaxPooling2D(2),
            layers.GlobalAveragePooling2D(),
            layers.Dense(10),
        ]
    )


def test_model_facts_are_read_from_the_model_itself() -> None:
    facts = model_facts(own_model())
    assert facts == {"gap_input_shape": [8, 8, 24], "head_params": 250, "head_params_at_64px": 250}
    bigger = keras.Sequential([keras.Input((64, 64, 3)), *own_model().layers])
    assert model_facts(bigger)["head_params"] == facts["head_params_at_64px"], "GAP: the head ignores H and W"
    assert model_facts(keras_example_cnn()) == {}, "no GAP, nothing to ask"


def test_answers_are_recorded_by_form_never_judged_in_the_notebook() -> None:
    recorded = record_answer("gap_input_shape", (8, 8, 24))
    assert recorded and "已記錄" in recorded.message and "✅" not in recorded.message
    assert record_answer("head_params", 250) and record_answer("head_params", 99999)  # no right/wrong here
    assert (
        not record_answer("gap_input_shape", 250) and "提示" in record_answer("gap_input_shape", 250).message
    )
    assert not record_answer("head_params", (8, 8, 24))
    assert not record_answer("head_params", "a lot") and not record_answer("head_params", True)
    assert "沒有這一題" in record_answer("nope", 1).message


def test_grading_rules_come_from_the_grading_mode() -> None:
    rules = grading_rules()
    assert "withheld" in rules and f"{FULL.budget_s:,.0f} 參考秒" in rules


def test_an_own_model_meets_every_rule() -> None:
    report = inspect_model(own_model())
    assert report.input_shape == (32, 32, 3) and report.output_shape == (10,)
    assert report.gap_head and report.batch_norm and report.pooling and report.shapes_ok
    assert report.reference is None
    assert check_model(own_model())


def test_the_course_reference_models_are_recognised_even_with_extra_layers() -> None:
    report = inspect_model(fast_cnn())
    assert report.params == 296_002 <= PARAM_BUDGET < KERAS_EXAMPLE_PARAMS and report.reference == "fast_cnn"
    feedback = check_model(fast_cnn())
    assert not feedback and "fast_cnn" in feedback.message and "參考模型" in feedback.message
    padded = keras.Sequential(
        [keras.Input((32, 32, 3)), layers.Identity(), *fast_cnn().layers, layers.Activation("linear")]
    )
    assert inspect_model(padded).reference == "fast_cnn", "parameter-free layers do not hide a copy"
    assert inspect_model(resnet9()).reference == "resnet9"
    assert inspect_model(fast_cnn(AIRBENCH_WIDTHS)).reference == f"fast_cnn(widths={AIRBENCH_WIDTHS})"
    whitened = fast_cnn()  # the ≥ 85% recipe's model: the same layers, its stem set by the whitening trick
    FastRecipe(whiten=True).prepare(
        whitened, np.random.default_rng(0).integers(0, 256, (64, 32, 32, 3)), 1, 0
    )
    assert inspect_model(whitened).reference == "fast_cnn"
    assert inspect_model(fast_cnn(widths=(32, 64, 160))).reference is None, "a changed design is not a copy"


def test_a_model_without_pooling_breaks_the_pooling_rule() -> None:
    flat = keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            *conv_block(8, name="a"),
            layers.GlobalAveragePooling2D(),
            layers.Dense(10),
        ]
    )
    report = inspect_model(flat)
    assert not report.pooling and report.gap_head and report.batch_norm
    feedback = check_model(flat)
    assert not feedback and "池化" in feedback.message


def test_the_keras_example_breaks_three_rules() -> None:
    feedback = check_model(keras_example_cnn())
    assert not feedback
    for problem in ("超過預算", "GlobalAveragePooling2D", "BatchNormalization"):
        assert problem in feedback.message


def test_nested_models_and_wrong_shapes_are_seen() -> None:
    inner = small_cnn(widths=(8,), convs_per_stage=1)
    outer = keras.Sequential([keras.Input((32, 32, 3)), inner])
    assert inspect_model(outer).batch_norm and inspect_model(outer).gap_head
    gray = small_cnn(widths=(8,), convs_per_stage=1, input_shape=(28, 28, 1))
    feedback = check_model(gray)
    assert not feedback and "(28, 28, 1)" in feedback.message


@pytest.mark.parametrize(
    ("accuracy", "mode", "credit"),
    [
        (None, "full", 0),
        (0.55, "full", 0),
        (0.7, "full", 0.5),
        (0.8, "full", 1),
        (0.93, "full", 1),
        (0.10, "smoke", 0),
        (0.11, "smoke", 0.5),
        (0.12, "smoke", 1),
    ],
)
def test_accuracy_credit_rises_linearly_to_the_target(accuracy, mode, credit) -> None:
    assert accuracy_credit(accuracy, MODES[mode]) == pytest.approx(credit)


def test_check_accuracy() -> None:
    assert check_accuracy(0.81, FULL)
    assert not check_accuracy(0.79, FULL)
    assert check_accuracy(0.2, SMOKE)
    withheld = check_accuracy(None, FULL)
    assert "grader measures" in withheld.message and "✅" not in withheld.message


def test_save_submission_writes_the_documented_files(tmp_path) -> None:
    model = small_cnn(widths=(4,), convs_per_stage=1)
    save_submission(model, {"gap_input_shape": (8, 8, 4), "head_params": 50}, tmp_path)
    answers = json.loads((tmp_path / ANSWERS_PATH).read_text(encoding="utf-8"))
    assert answers == {"gap_input_shape": [8, 8, 4], "head_params": 50}
    reloaded = keras.saving.load_model(tmp_path / MODEL_PATH, compile=False, safe_mode=True)
    assert reloaded.count_params() == model.count_params()


def _body(x):
    for layer in [*conv_block(16, name="b1"), layers.MaxPooling2D(2), *conv_block(32, name="b2")]:
        x = layer(x)
    return x


def test_the_gap_head_is_read_from_the_graph_not_the_layer_list() -> None:
    """A Reshape head, or a GAP on a side branch while a flattened path feeds the output, has a
    GlobalAveragePooling2D among its layers but no GAP head."""
    inputs = keras.Input((32, 32, 3))
    features = _body(inputs)
    side = layers.GlobalAveragePooling2D()(features)
    flat = layers.Dense(32)(layers.Reshape((-1,))(features))
    side_branch = keras.Model(inputs, layers.Dense(10)(layers.Add()([layers.Dense(32)(side), flat])))
    reshape_head = keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            *conv_block(8, name="c"),
            layers.MaxPooling2D(2),
            layers.GlobalAveragePooling2D(),
            layers.Reshape((8,)),
            layers.Dense(10),
        ]
    )
    unused_gap = keras.Model(inputs, [layers.Dense(10)(layers.Flatten()(features))][0])
    for model in (side_branch, reshape_head, unused_gap):
        report = inspect_model(model)
        assert "GlobalAveragePooling2D" in report.layer_types or model is unused_gap
        assert not report.gap_head, model.name
    functional = keras.Model(inputs, layers.Dense(10)(layers.Dropout(0.2)(side)))
    nested = keras.Sequential([keras.Input((32, 32, 3)), keras.Sequential(_seq_body()), layers.Dense(10)])
    assert inspect_model(functional).gap_head and inspect_model(nested).gap_head
    assert inspect_model(own_model()).gap_head


def _seq_body() -> list:
    return [*conv_block(8, name="n"), layers.MaxPooling2D(2), layers.GlobalAveragePooling2D()]


def test_a_pooling_layer_must_make_the_feature_maps_smaller() -> None:
    no_op = keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            *conv_block(8, name="d"),
            layers.MaxPooling2D(1),
            layers.GlobalAveragePooling2D(),
            layers.Dense(10),
        ]
    )
    report = inspect_model(no_op)
    assert "MaxPooling2D" in report.layer_types and not report.pooling
    assert "縮小" in check_model(no_op).message
    assert inspect_model(own_model()).pooling


def test_near_copies_of_course_models_are_listed_with_their_similarity() -> None:
    wider_stem = inspect_model(fast_cnn(stem_filters=25))
    assert wider_stem.reference is None and wider_stem.similar[0][0] == "fast_cnn"
    assert wider_stem.similar[0][1] == 1.0, "24 and 25 filters are the same width token"
    plus_dense = keras.Sequential(
        [keras.Input((32, 32, 3)), *fast_cnn().layers[:-1], layers.Dense(64), layers.Dense(10)]
    )
    assert plus_dense.count_params() <= PARAM_BUDGET and inspect_model(plus_dense).reference is None
    assert ("fast_cnn", pytest.approx(0.97, abs=0.03)) in inspect_model(plus_dense).similar
    starter = inspect_model(small_cnn("conv-bn-relu", widths=(16, 32, 64), bn_momentum=0.9))
    assert starter.reference is None and starter.similar[0] == ("small_cnn", 1.0), "listed, not penalised"
    assert inspect_model(own_model()).similar == (), "an own design resembles no course model"


def test_a_graph_of_many_merges_is_read_quickly() -> None:
    """Forty Add layers, each fed twice by the one before: 2**40 paths, one walk."""
    import time

    inputs = keras.Input((32, 32, 3))
    x = layers.GlobalAveragePooling2D()(_body(inputs))
    for _ in range(40):
        x = layers.Add()([x, x])
    started = time.perf_counter()
    assert inspect_model(keras.Model(inputs, layers.Dense(10)(x))).gap_head
    assert time.perf_counter() - started < 30


def test_an_unchanged_course_builder_is_recognised_and_the_check_says_what_it_costs() -> None:
    """small_cnn (the starter, any order, any BN momentum) and improved_cnn handed in unchanged are
    recognised from their layers with weights; the self-check says the design points are 0."""
    from helpers.models import ORDERS, improved_cnn

    assert inspect_model(improved_cnn()).unchanged == "improved_cnn"
    starter = small_cnn("conv-bn-relu", widths=(16, 32, 64), bn_momentum=0.9)
    assert inspect_model(starter).unchanged == "small_cnn"
    for order in ORDERS[1:3]:  # conv-relu-bn and bn-relu-conv have the same layers with weights
        assert (inspect_model(small_cnn(order)).unchanged or "").startswith("small_cnn"), order
    feedback = check_model(improved_cnn())
    assert not feedback and "設計分" in feedback.message and "improved_cnn" in feedback.message
    assert inspect_model(own_model()).unchanged is None
    assert inspect_model(small_cnn(widths=(16, 32, 96))).unchanged is None, "one width changed: own"


GOOD_ABLATION = {
    "change": "第 1 階段的卷積數",
    "split": "validation",
    "arms": {"1": [0.61, 0.62], "2": [0.63, 0.6]},
    "reading": "差 0.0 個百分點，在範圍之內。所以我留下一個卷積。",
}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({}, None),
        ({"change": " "}, "改了什麼"),
        ({"arms": {"1": [0.6, 0.6]}}, "兩組"),
        ({"arms": {"1": [0.6, 0.6], "2": [0.6, 0.6], "3": [0.6, 0.6]}}, "兩組"),
        ({"arms": {"1": [0.6], "2": [0.6]}}, "種子"),
        ({"arms": {"1": [0.6, 0.6], "2": [0.6, 0.6, 0.6]}}, "種子"),
        ({"arms": {"1": [60, 61], "2": [0.6, 0.6]}}, "0～1"),
        ({"split": "test"}, "驗證集"),
        ({"reading": "只有一句，沒有第二句"}, "2 句"),
        ({"reading": "TODO。TODO。"}, "2 句"),
    ],
)
def test_the_ablation_check_reads_the_form_only_and_never_leaks_a_conclusion(change, message) -> None:
    from helpers.homework import check_ablation

    feedback = check_ablation({**GOOD_ABLATION, **change})
    if message is None:
        assert feedback and "講師審閱" in feedback.message
        return
    assert not feedback and message in feedback.message and "提示" in feedback.message
    assert "分不出來" not in feedback.message and "留下" not in feedback.message
    assert not check_ablation(None) and "還沒有定義" in check_ablation(None).message


def test_run_ablation_trains_two_arms_over_seeds_and_its_answer_passes_the_check(fake_data) -> None:
    import dataclasses

    from helpers.data import CourseData
    from helpers.homework import check_ablation, run_ablation
    from helpers.training import FAST_RECIPE

    train_split, val_split = fake_data(40, 20)
    tiny_data = CourseData(train=train_split, val=val_split, test=val_split)
    quick = dataclasses.replace(FAST_RECIPE, min_steps_per_epoch=2)
    arms = {
        "8": lambda: small_cnn(widths=(8,), convs_per_stage=1),
        "12": lambda: small_cnn(widths=(12,), convs_per_stage=1),
    }
    ablation = run_ablation("width 8 → 12", arms, tiny_data, epochs=1, seeds=(0, 1), recipe=quick)
    answer = ablation.answer(reading="第一句讀表格。第二句說決定。")
    assert answer["arms"].keys() == arms.keys() and all(len(v) == 2 for v in answer["arms"].values())
    assert answer["seeds"] == [0, 1] and answer["split"] == "validation" and answer["epochs"] == 1
    assert answer["train_images"] == len(tiny_data.train[0]) and " − " in answer["verdict"]
    assert json.loads(json.dumps(answer)) == answer and check_ablation(answer)
    assert list(ablation.table().index) == list(arms)
    with pytest.raises(ValueError, match="兩組"):
        run_ablation("x", {"a": arms["8"]}, tiny_data, epochs=1, recipe=quick)
    with pytest.raises(ValueError, match="種子"):
        run_ablation("x", arms, tiny_data, epochs=1, seeds=(0, 0), recipe=quick)
