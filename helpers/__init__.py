"""Shared code of the CIFAR-10 CNN course. Notebooks stay thin: whatever is reused or graded lives
here, with unit tests in ``tests/`` (one test module per helpers module).

For the notebooks:
    ``runtime`` the setup cell and the run report · ``modes`` the run mode and every number that
    depends on it · ``device`` CPU/GPU names and the training policy · ``seed`` one seed for all ·
    ``data`` CIFAR-10 loading (also offline), subsets, tf.data pipelines · ``plots`` Chinese plots ·
    ``conv`` convolution, pooling and BN in NumPy · ``models`` every model a notebook trains ·
    ``training`` training, comparisons, recipes, accuracy · ``classifier`` softmax and
    cross-entropy in NumPy, confusion matrix · ``checks`` the exercises' ✅/❌ feedback ·
    ``homework`` homework 07's rules, self-checks and submission files.

For instructors and maintainers:
    ``course`` where the course is published (Colab badges, setup cell) · ``release`` student
    notebooks generated from the solutions · ``grade`` the homework grader
    (``python -m helpers.grade``).

Only Keras/TensorFlow are imported inside functions (about 3 s to import; the release command, the
grader's command line and the NumPy-only lessons never need them); everything else at the top.
"""

import sys

# jsonschema (which nbformat imports to validate notebooks) imports ``rfc3987_syntax`` when it is
# installed (JupyterLab's dependencies install it) to check the "iri" string format, and that
# module builds a Lark grammar on import: 1.2 s of CPU in every process that reads a notebook. The
# grader starts dozens of such processes per batch (one runner per submission), and no notebook
# schema uses that format, so the course's processes skip it (jsonschema imports it optionally).
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
