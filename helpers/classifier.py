"""The classifier's last step in NumPy (softmax, cross-entropy) and evaluation a student reads.

Used in notebooks 06.
"""

from __future__ import annotations

import numpy as np

from helpers.data import NUM_CLASSES


def softmax_naive(logits: np.ndarray) -> np.ndarray:
    """``exp(z) / sum(exp(z))`` exactly as written: overflows for large logits (``exp(1000)``)."""
    exp = np.exp(logits)
    return exp / exp.sum(axis=-1, keepdims=True)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Numerically stable softmax: subtracting the row's maximum first changes nothing
    mathematically (it cancels in the ratio) but keeps every ``exp`` at most 1."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """``log(softmax(z))`` computed as ``z − logsumexp(z)``, without ever taking ``log(0)``."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def cross_entropy(
    outputs: np.ndarray, labels: np.ndarray, from_logits: bool = True, epsilon: float = 1e-7
) -> float:
    """Mean cross-entropy ``−log p(true class)`` of a batch.

    With ``from_logits=True`` it uses :func:`log_softmax` (exact); with probabilities it clips them
    to ``[epsilon, 1 − epsilon]`` first, as Keras does, so a probability of 0 costs at most
    ``−log(epsilon)`` ≈ 16.1 instead of infinity.
    """
    labels = np.asarray(labels).reshape(-1)
    log_p = log_softmax(outputs) if from_logits else np.log(np.clip(outputs, epsilon, 1 - epsilon))
    return float(-log_p[np.arange(len(labels)), labels].mean())


def confusion_matrix(
    labels: np.ndarray, predictions: np.ndarray, num_classes: int = NUM_CLASSES
) -> np.ndarray:
    """``matrix[i, j]`` = how many images of class ``i`` were predicted as class ``j``."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(labels).reshape(-1), np.asarray(predictions).reshape(-1)), 1)
    return matrix


def per_class_accuracy(matrix: np.ndarray) -> np.ndarray:
    """Accuracy of each class (row) of a confusion matrix."""
    return np.diag(matrix) / np.maximum(matrix.sum(axis=1), 1)


def top_confusions(matrix: np.ndarray, count: int = 5) -> list[tuple[int, int, int, int]]:
    """The ``count`` most frequent mistakes of a confusion matrix (rows: true class, columns:
    predicted), most first, as ``(true, predicted, times, times the other way round)``."""
    mistakes = np.array(matrix, copy=True)
    np.fill_diagonal(mistakes, 0)
    order = np.argsort(-mistakes, axis=None, kind="stable")[:count]
    return [
        (int(t), int(p), int(mistakes[t, p]), int(mistakes[p, t]))
        for t, p in zip(*np.unravel_index(order, mistakes.shape), strict=True)
    ]


def wrongly_predicted(matrix: np.ndarray) -> np.ndarray:
    """How many times each class was predicted for an image of another class."""
    return np.asarray(matrix).sum(axis=0) - np.diag(matrix)


def confident_mistakes(probabilities: np.ndarray, labels: np.ndarray, count: int = 16) -> np.ndarray:
    """Indices of the ``count`` wrongly classified images with the highest top probability, most
    confident first."""
    probabilities = np.asarray(probabilities)
    wrong = np.flatnonzero(probabilities.argmax(axis=1) != np.asarray(labels).reshape(-1))
    return wrong[np.argsort(-probabilities[wrong].max(axis=1), kind="stable")][:count]


def error_analysis(probabilities: np.ndarray, labels: np.ndarray, count: int = 16) -> dict[str, list]:
    """What a benchmark record keeps of a model's errors (JSON-ready): the confusion matrix, and the
    ``count`` most confident mistakes as ``[index, true class, predicted class, probability]``."""
    probabilities = np.asarray(probabilities, dtype="float64")
    labels = np.asarray(labels).reshape(-1)
    predictions = probabilities.argmax(axis=1)
    return {
        "confusion_matrix": confusion_matrix(labels, predictions, probabilities.shape[1]).tolist(),
        "confident_mistakes": [
            [int(i), int(labels[i]), int(predictions[i]), round(float(probabilities[i].max()), 4)]
            for i in confident_mistakes(probabilities, labels, count)
        ],
    }
