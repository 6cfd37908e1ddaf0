"""Run modes: ``full`` (the default, real epochs on all data) and ``smoke`` (CI: tiny and fast).

This module is the only place that reads the environment variable ``COURSE_MODE``
(:data:`MODE_ENV_VAR`), and every number that depends on the mode lives on :class:`RunMode`:
data sizes (training, validation, test), the epoch cap, the homework's accuracy target and the
grader's time limit. The setup cell of every notebook calls :func:`get_mode` once and hands the
mode on (``MODE``); helpers take it as an argument instead of reading the environment again.
Notebooks never hard-code epochs or data sizes; they ask the mode::

    mode = get_mode()
    epochs = mode.epochs(full=25)          # 25 in full mode, at most 2 in smoke mode
    data = mode.splits(load_cifar10())     # CourseData: train / val / test
    print(mode.describe())
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from helpers.data import CourseData, Split, stratified_subset, validation_split

#: The environment variable that chooses the run mode.
MODE_ENV_VAR = "COURSE_MODE"


@dataclass(frozen=True)
class RunMode:
    """How much work a notebook does: data sizes and an epoch cap."""

    name: str
    train_size: int | None  # None: all training images left after the validation split (45,000)
    #: Images held out of the official training set for validation (stratified, fixed seed).
    val_size: int
    test_size: int | None  # None: the whole test set (10,000 images)
    max_epochs: int | None  # None: as many epochs as the notebook asks for
    #: Test accuracy a homework-07 model must reach. Full mode is the real target; smoke mode
    #: (1,000 images, 2 epochs) only tells a model that learned from one that did not.
    homework_target: float
    #: The homework's time budget: reference seconds (:mod:`helpers.budget`: seconds on the course's
    #: 2-core CPU grader) for one submission's whole notebook, kernel start to the last cell.
    budget_s: float
    #: Training images of the homework (``splits(..., homework=True)``) when they differ from
    #: :attr:`train_size`: smoke mode checks that the lessons run on a few images, but its homework
    #: target must tell a model that learned from chance, which takes more.
    homework_train_size: int | None = None
    #: Seconds a notebook's speed calibration times (:func:`helpers.budget.calibrate`; 0: a dry
    #: run of one eager step); the grader always times :data:`helpers.budget.GRADER_CALIBRATION_S`.
    calibration_s: float = 1.5
    #: The fewest steps an epoch of the fast recipe takes on a small training set
    #: (:attr:`helpers.training.FastRecipe.min_steps_per_epoch`) where this mode lowers it: smoke
    #: mode's homework ablation (4 runs) then trains a few eager steps each; None: the recipe's own.
    fast_recipe_min_steps: int | None = None
    #: The most epochs each run of the homework's ablation trains (:func:`helpers.homework.run_ablation`)
    #: where this mode caps them below :attr:`max_epochs`: smoke mode checks that the ablation runs
    #: and is recorded, not what it finds; None: as many as asked.
    ablation_max_epochs: int | None = None

    def epochs(self, full: int) -> int:
        """The number of epochs to train for a notebook that wants ``full`` epochs."""
        return full if self.max_epochs is None else min(full, self.max_epochs)

    def fast_recipe(self, recipe: Any) -> Any:
        """``recipe`` (a :class:`helpers.training.FastRecipe`) as this mode runs it (see
        :attr:`fast_recipe_min_steps`)."""
        if self.fast_recipe_min_steps is None:
            return recipe
        steps = min(recipe.min_steps_per_epoch, self.fast_recipe_min_steps)
        return dataclasses.replace(recipe, min_steps_per_epoch=steps)

    def runs(self, full: int) -> int:
        """How many repeated runs (seeds) for a notebook that wants ``full`` runs; 1 in smoke mode."""
        return full if self.max_epochs is None else 1

    def splits(
        self,
        data: tuple[Split, Split | tuple[np.ndarray, None]],
        seed: int = 0,
        full_train_size: int | None = None,
        homework: bool = False,
    ) -> CourseData:
        """Train / validation / test splits of ``((x_train, y_train), (x_test, y_test))``.

        First :attr:`val_size` images (stratified, fixed by ``seed``) are held out of the official
        training set for validation; then the rest is shrunk to this mode's training size, and the
        test set to its test size (both stratified). ``full_train_size`` lets a notebook train on
        fewer images in full mode too (experiments that train many models); the smaller of it and
        the mode's size wins. ``homework=True`` (notebook 07) uses :attr:`homework_train_size`
        where the mode has one. The validation set is the same whatever the training size.
        A test split without labels (``y_test`` is ``None``, a grading run) is shrunk by position.
        """
        (x_train, y_train), (x_test, y_test) = data
        rest, val = validation_split(x_train, y_train, self.val_size, seed)
        mode_size = self.train_size
        if homework and self.homework_train_size is not None:
            mode_size = self.homework_train_size
        sizes = [s for s in (mode_size, full_train_size) if s is not None]
        train = _shrink(*rest, min(sizes) if sizes else None, seed)
        if y_test is None:
            test: tuple[np.ndarray, np.ndarray | None] = (x_test[: self.test_size], None)
        else:
            test = _shrink(x_test, y_test, self.test_size, seed)
        return CourseData(train=train, val=val, test=test)

    def describe(self) -> str:
        """One line a student reads: the mode and the sizes it uses."""
        train = "全部 (all) 45,000" if self.train_size is None else f"{self.train_size:,}"
        if self.homework_train_size is not None:
            train += f"（作業 homework {self.homework_train_size:,}）"
        test = "全部 (all) 10,000" if self.test_size is None else f"{self.test_size:,}"
        epochs = (
            "依筆記本設定 (as set by the notebook)"
            if self.max_epochs is None
            else (f"最多 (at most) {self.max_epochs}")
        )
        label = "完整 (full)" if self.name == "full" else "快速測試 (smoke)"
        return (
            f"執行模式 (mode): {label}｜訓練 (train): {train}｜驗證 (validation): {self.val_size:,}｜"
            f"測試 (test): {test}｜epochs: {epochs}"
        )


def _shrink(x: np.ndarray, y: np.ndarray, size: int | None, seed: int) -> Split:
    if size is None or size >= len(x):
        return x, y
    return stratified_subset(x, y, size, seed=seed)


FULL = RunMode(
    "full",
    train_size=None,
    val_size=5000,
    test_size=None,
    max_epochs=None,
    homework_target=0.80,
    budget_s=1800.0,
)
SMOKE = RunMode(
    "smoke",
    train_size=128,
    val_size=200,
    test_size=500,
    max_epochs=2,
    homework_target=0.12,
    budget_s=300.0,
    homework_train_size=1000,
    calibration_s=0.0,
    fast_recipe_min_steps=2,
    ablation_max_epochs=1,
)
MODES = {mode.name: mode for mode in (FULL, SMOKE)}
#: The mode the instructor grades homework 07 in; its budget is the one the notebook states.
GRADING_MODE = FULL


def get_mode(name: str | None = None) -> RunMode:
    """The run mode named by ``name``, else by ``$COURSE_MODE``, else ``full``."""
    chosen = (name if name is not None else os.environ.get(MODE_ENV_VAR, "")).strip().lower() or "full"
    if chosen not in MODES:
        raise ValueError(
            f"未知的執行模式 {chosen!r}：{MODE_ENV_VAR} 只能是 {' 或 '.join(MODES)}。\n"
            f"Unknown run mode {chosen!r}: {MODE_ENV_VAR} must be one of {', '.join(MODES)}."
        )
    return MODES[chosen]
