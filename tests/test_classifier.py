"""Softmax and cross-entropy in NumPy agree with Keras; the confusion-matrix helpers count right."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from helpers.classifier import (
    confident_mistakes,
    confusion_matrix,
    cross_entropy,
    error_analysis,
    log_softmax,
    per_class_accuracy,
    softmax,
    softmax_naive,
    top_confusions,
    wrongly_predicted,
)

LOGITS = np.random.default_rng(0).normal(scale=3, size=(6, 10))
LABELS = np.array([0, 3, 9, 2, 2, 7])


def test_softmax_matches_keras_and_sums_to_one() -> None:
    probabilities = softmax(LOGITS)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(probabilities, np.asarray(keras.activations.softmax(LOGITS)), rtol=1e-5)
    np.testing.assert_allclose(softmax_naive(LOGITS), probabilities, rtol=1e-12)
    np.testing.assert_allclose(np.exp(log_softmax(LOGITS)), probabilities, rtol=1e-12)


def test_naive_softmax_overflows_and_stable_one_does_not() -> None:
    large = np.array([[1000.0, 999.0, 0.0]])
    with np.errstate(over="ignore", invalid="ignore"):
        assert np.isnan(softmax_naive(large)).any()
    np.testing.assert_allclose(softmax(large), [[1 / (1 + np.exp(-1)), 1 / (1 + np.e), 0.0]], atol=1e-12)


@pytest.mark.parametrize("from_logits", [True, False])
def test_cross_entropy_matches_keras(from_logits: bool) -> None:
    outputs = LOGITS if from_logits else softmax(LOGITS)
    expected = keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits)(LABELS, outputs)
    assert cross_entropy(outputs, LABELS, from_logits=from_logits) == pytest.approx(float(expected), rel=1e-5)


def test_probabilities_lose_information_for_extreme_logits() -> None:
    logits = np.array([[1000.0, 0.0]])
    assert cross_entropy(logits, [1]) == pytest.approx(1000.0)
    assert cross_entropy(softmax(logits), [1], from_logits=False) == pytest.approx(-np.log(1e-7), rel=1e-6)


def test_confusion_matrix_and_per_class_accuracy() -> None:
    matrix = confusion_matrix([0, 0, 1, 1, 1, 2], [0, 1, 1, 1, 0, 2], num_classes=3)
    assert matrix.tolist() == [[1, 1, 0], [1, 2, 0], [0, 0, 1]]
    np.testing.assert_allclose(per_class_accuracy(matrix), [0.5, 2 / 3, 1.0])
    assert per_class_accuracy(np.zeros((2, 2), int)).tolist() == [0.0, 0.0]


def test_top_confusions_are_asymmetric_counts_most_first() -> None:
    matrix = np.array([[5, 3, 0], [1, 4, 7], [0, 2, 6]])
    assert top_confusions(matrix, 2) == [(1, 2, 7, 2), (0, 1, 3, 1)]
    assert wrongly_predicted(matrix).tolist() == [1, 5, 7]


def test_error_analysis_keeps_the_matrix_and_the_most_confident_mistakes() -> None:
    probabilities = np.array(
        [
            [0.9, 0.1, 0.0],  # right
            [0.2, 0.7, 0.1],  # wrong (true 0), 0.7
            [0.05, 0.05, 0.9],  # wrong (true 1), 0.9: the most confident mistake
            [0.4, 0.35, 0.25],  # wrong (true 2), 0.4
        ]
    )
    labels = np.array([0, 0, 1, 2])
    assert confident_mistakes(probabilities, labels).tolist() == [2, 1, 3]
    assert confident_mistakes(probabilities, labels, count=1).tolist() == [2]
    analysis = error_analysis(probabilities, labels, count=2)
    assert analysis["confusion_matrix"] == [[1, 1, 0], [0, 0, 1], [1, 0, 0]]
    assert analysis["confident_mistakes"] == [[2, 1, 2, 0.9], [1, 0, 1, 0.7]]
