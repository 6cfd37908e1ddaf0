"""Homework 07's rules and self-checks: answers stay hidden, models are judged by what they are."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
from keras import layers

from helpers.grade import load_rubric
from helpers.homework import (
    ANSWERS_PATH,
    MODEL_PATH,
    PARAM_BUDGET,
    QUESTIONS,
    accuracy_credit,
    canonical,
    check_accuracy,
    check_answer,
    check_model,
    digest,
    inspect_model,
    save_submission,
)
from helpers.models import KERAS_EXAMPLE_PARAMS, fast_cnn, keras_example_cnn, small_cnn
from helpers.modes import FULL, MODES, SMOKE

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


def test_rubric_answers_match_the_public_digests() -> None:
    assert set(RUBRIC.answers) == set(QUESTIONS)
    for question, answer in RUBRIC.answers.items():
        assert digest(question, answer) == QUESTIONS[question].digest, question
        assert f"q_{question}" in RUBRIC.points
    assert RUBRIC.total == 100


def test_the_answers_are_what_the_lessons_teach() -> None:
    conv = keras.Sequential([keras.Input((32, 32, 32)), layers.Conv2D(64, 3)])
    assert check_answer("conv_params", conv.count_params())
    shape = keras.Sequential([keras.Input((32, 32, 3)), layers.Conv2D(16, 5, strides=2)]).output_shape[1:]
    assert check_answer("output_shape", shape)
    head = keras.Sequential([keras.Input((8, 8, 128)), layers.GlobalAveragePooling2D(), layers.Dense(10)])
    assert check_answer("gap_head_params", head.count_params())
    assert check_answer("preact_order", "bn-relu-conv")


@pytest.mark.parametrize(("question", "wrong"), [("conv_params", 18432), ("output_shape", (16, 16, 16))])
def test_a_wrong_answer_gets_a_hint_but_not_the_answer(question, wrong) -> None:
    feedback = check_answer(question, wrong)
    assert not feedback
    assert "❌" in feedback.message and "提示" in feedback.message
    right = canonical(RUBRIC.answers[question])
    assert right not in feedback.message.replace(" ", "")
    assert str(RUBRIC.answers[question]) not in feedback.message


def test_wrong_types_and_unknown_questions() -> None:
    assert "型別" in check_answer("conv_params", None).message
    assert "型別" in check_answer("conv_params", True).message
    assert "沒有這一題" in check_answer("nope", 1).message


def test_reference_model_meets_every_rule() -> None:
    model = fast_cnn()
    report = inspect_model(model)
    assert report.input_shape == (32, 32, 3) and report.output_shape == (10,)
    assert report.params == 296_002 <= PARAM_BUDGET < KERAS_EXAMPLE_PARAMS
    assert report.gap_head and report.batch_norm and report.shapes_ok
    assert check_model(model)


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
        (0.125, "smoke", 0.5),
        (0.15, "smoke", 1),
    ],
)
def test_accuracy_credit_rises_linearly_to_the_target(accuracy, mode, credit) -> None:
    assert accuracy_credit(accuracy, MODES[mode]) == pytest.approx(credit)


def test_check_accuracy() -> None:
    assert check_accuracy(0.81, FULL)
    assert not check_accuracy(0.79, FULL)
    assert check_accuracy(0.2, SMOKE)


def test_save_submission_writes_the_documented_files(tmp_path) -> None:
    model = small_cnn(widths=(4,), convs_per_stage=1)
    save_submission(model, {"output_shape": (14, 14, 16), "conv_params": 1}, tmp_path)
    answers = json.loads((tmp_path / ANSWERS_PATH).read_text(encoding="utf-8"))
    assert answers == {"output_shape": [14, 14, 16], "conv_params": 1}
    reloaded = keras.saving.load_model(tmp_path / MODEL_PATH, compile=False, safe_mode=True)
    assert reloaded.count_params() == model.count_params()
