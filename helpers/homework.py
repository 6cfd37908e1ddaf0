"""Homework 07: its rules, its self-checks, and the files a submission hands to the grader.

The rules are public (students read them in the notebook): :data:`PARAM_BUDGET`, the run
mode's accuracy target (:attr:`helpers.modes.RunMode.homework_target`), the time budget in
reference seconds (:mod:`helpers.budget`, of :data:`helpers.modes.GRADING_MODE`), and
the model contract checked by :func:`inspect_model` (shapes, budget, BN, pooling, GAP head, not a
course reference model). The questions (:data:`QUESTIONS`) are about the student's own model:
their answers are not stored anywhere; the grader computes them from the saved model
(:func:`model_facts`), and the notebook only checks that an answer has the right form.

A submission leaves two files at fixed paths, relative to the notebook's folder, which
``python -m helpers.grade`` reads: :data:`MODEL_PATH` (the trained model) and
:data:`ANSWERS_PATH` (the answers as JSON).

Used in notebooks 07.
"""

from __future__ import annotations

import difflib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from helpers.budget import budget_rule
from helpers.checks import Feedback, failed, passed
from helpers.data import IMAGE_SHAPE, NUM_CLASSES
from helpers.modes import GRADING_MODE, RunMode

if TYPE_CHECKING:  # pragma: no cover
    import keras

#: The most parameters a homework model may have: 40% of the Keras example's 1,250,858
#: (:data:`helpers.models.KERAS_EXAMPLE_PARAMS`).
PARAM_BUDGET = 500_000
#: The most bytes a hand-in may hold (notebook and files together); the grader reads no more.
MAX_SUBMISSION_BYTES = 20_000_000
#: Chance level on CIFAR-10's ten balanced classes.
CHANCE_ACCURACY = 0.10


def accuracy_credit(accuracy: float | None, mode: RunMode) -> float:
    """The share (0 to 1) of the accuracy points: 0 up to 20 points below the target (never
    below chance), rising linearly to 1 at the target (full mode: 60% → 0, 70% → 0.5, 80% → 1)."""
    if accuracy is None:
        return 0.0
    target = mode.homework_target
    floor = max(CHANCE_ACCURACY, target - 0.20)
    return float(min(1.0, max(0.0, (accuracy - floor) / (target - floor))))


#: Where a submission leaves its files, relative to the notebook's folder.
OUTPUT_DIR = Path("homework_output")
MODEL_PATH = OUTPUT_DIR / "model.keras"
ANSWERS_PATH = OUTPUT_DIR / "answers.json"
#: The free-text answer: one sentence on the chosen conv-block order, read by the instructor
#: (never scored by a program; the grader quotes it for review).
JUSTIFICATION_KEY = "bn_order_reason"


def grading_rules(mode: RunMode = GRADING_MODE) -> str:
    """What the notebook prints near the top and before training: how it is graded, and the time."""
    return (
        f"評分方式 (grading)：講師用 {mode.name} 模式從頭執行整本筆記本；超過時間預算就拿不到模型的分數。"
        "評分時不提供測試集：選模型與 epoch 請看驗證集。"
        f"交來的檔案最多 {MAX_SUBMISSION_BYTES / 1e6:.0f} MB；筆記本裡夾帶的資料或權重會列給講師審閱。\n"
        f"(Graded in {mode.name} mode, whole notebook; over the time budget, no model points. "
        "The test set is withheld while grading. "
        f"A hand-in holds at most {MAX_SUBMISSION_BYTES / 1e6:.0f} MB; embedded data or weights are "
        "listed for the instructor to review.)\n" + budget_rule(mode)
    )


def canonical(value: Any) -> str | None:
    """An answer as a comparable string: integers as digits, shapes as ``"14,14,16"`` (a leading
    ``None`` batch axis dropped), text stripped and lower-cased; ``None`` for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, str):
        return value.strip().lower() or None
    if isinstance(value, (tuple, list)):
        items = list(value)
        if items and items[0] is None:
            items = items[1:]
        parts = [canonical(v) for v in items]
        if not parts or any(p is None or not p.isdigit() for p in parts):
            return None
        return ",".join(parts)
    return None


@dataclass(frozen=True)
class Question:
    """A question about the student's own model: the answer's form and a hint."""

    form: str  # "shape" or "int"
    hint: str


QUESTIONS: dict[str, Question] = {
    "gap_input_shape": Question(
        "shape",
        "看你的模型裡每一次池化（或 strides）怎麼縮小高與寬，最後一個卷積有幾個通道。",
    ),
    "head_params": Question(
        "int",
        "分類頭是 GAP 之後所有 Dense 層；Dense 的參數是 (輸入數 + 1) × 輸出數。",
    ),
    "head_params_at_64px": Question(
        "int",
        "想一想：輸入變大時，GAP 輸出的長度會不會改變？",
    ),
}


def record_answer(question_id: str, value: Any) -> Feedback:
    """Check an answer's form only; the grader checks its value against the saved model.

    No instant right/wrong here: the answer depends on your own model, and guessing until a ✅
    appears would test nothing.
    """
    if question_id not in QUESTIONS:
        return failed(
            f"沒有這一題：{question_id!r}。 (No such question.)", f"題目代號：{', '.join(QUESTIONS)}"
        )
    question = QUESTIONS[question_id]
    text = canonical(value)
    well_formed = text is not None and text.replace(",", "").isdigit()
    if question.form == "shape":
        well_formed = well_formed and text.count(",") == 2
    else:
        well_formed = well_formed and "," not in text
    if not well_formed:
        form = "(H, W, C) 三個整數的 tuple" if question.form == "shape" else "一個整數"
        return failed(f"{question_id} 的答案要是{form}。 (Wrong form of answer.)", question.hint)
    return Feedback(
        True,
        f"📝 已記錄 {question_id} = {value!r}；評分程式會用你存下的模型核對。"
        " (Recorded; the grader checks it against your saved model.)",
    )


@dataclass(frozen=True)
class ModelReport:
    """What the rules look at in a model, read from the model itself (:func:`inspect_model`)."""

    input_shape: tuple[int | None, ...] | None
    output_shape: tuple[int | None, ...] | None
    params: int
    layer_types: tuple[str, ...]
    #: The course model this architecture equals (:func:`reference_match`), if any.
    reference: str | None = None
    #: Whether every path to the output goes through a GlobalAveragePooling2D followed only by
    #: head layers (Dense, activations, dropout, normalisation): read from the model's graph.
    gap_feeds_output: bool = True
    #: Whether at least one pooling layer makes the feature maps smaller.
    pooling_reduces: bool = True
    #: Course builders this model resembles: (name, similarity 0–1), for a person to review.
    similar: tuple[tuple[str, float], ...] = ()
    #: The course builder (:data:`UNCHANGED_BUILDERS`) this model is an unchanged copy of, if any:
    #: it earns no design points.
    unchanged: str | None = None

    @property
    def shapes_ok(self) -> bool:
        return self.input_shape == IMAGE_SHAPE and self.output_shape == (NUM_CLASSES,)

    @property
    def within_budget(self) -> bool:
        return self.params <= PARAM_BUDGET

    @property
    def gap_head(self) -> bool:
        return (
            "GlobalAveragePooling2D" in self.layer_types
            and not FLATTENING_LAYERS & set(self.layer_types)
            and self.gap_feeds_output
        )

    @property
    def batch_norm(self) -> bool:
        return "BatchNormalization" in self.layer_types

    @property
    def pooling(self) -> bool:
        return any(kind in POOLING_LAYERS for kind in self.layer_types) and self.pooling_reduces


#: Layer types that count as a pooling layer (GlobalAveragePooling2D does not: it is the head).
POOLING_LAYERS = frozenset({"MaxPooling2D", "AveragePooling2D"})
#: Layers that turn feature maps into a vector without averaging: not allowed in a GAP model.
FLATTENING_LAYERS = frozenset({"Flatten", "Reshape"})
#: Layers allowed between the GAP and the output (they mix channels, never positions).
HEAD_LAYERS = frozenset(
    {
        "Dense",
        "Dropout",
        "Activation",
        "ReLU",
        "LeakyReLU",
        "ELU",
        "PReLU",
        "Softmax",
        "BatchNormalization",
        "LayerNormalization",
        "Rescaling",
        "Identity",
        "GaussianNoise",
        "GaussianDropout",
        "AlphaDropout",
        "Add",
        "Average",
        "Maximum",
        "Multiply",
        "Concatenate",
    }
)
#: Course models that are not a design of the student's: handing one in unchanged earns no model
#: points (the course's reference recipes, and the Keras example with a GAP head).
REFERENCE_BUILDERS = ("fast_cnn", "resnet9", "keras_example_cnn")
#: Course builders a student may start from but not hand in unchanged: small_cnn (the homework's
#: starting point, in any conv-block order) and improved_cnn (notebook 06). One of them handed in
#: with the same layers with weights earns the model points it earns, but none of the rubric's
#: ``design`` points (the ablation and the justification): the design was the course's.
UNCHANGED_BUILDERS = ("improved_cnn", "small_cnn")
#: Every course builder a homework model is compared with for review; resembling one (a
#: structural similarity of :data:`NEAR_COPY_SIMILARITY` or more) is listed, never penalised.
COMPARED_BUILDERS = (*REFERENCE_BUILDERS, *UNCHANGED_BUILDERS)
#: From this structural similarity on, a model is listed for review as resembling a course builder.
NEAR_COPY_SIMILARITY = 0.85
_COURSE_MODELS: dict[str, tuple[tuple, tuple[str, ...]]] = {}


def _course_models() -> dict[str, tuple[tuple, tuple[str, ...]]]:
    """Each course builder's weight signature and structure tokens, built once on first use:
    the builders at their defaults, the Keras example with each of its heads, small_cnn in each
    order, and fast_cnn at airbench's widths (the GPU reference)."""
    if not _COURSE_MODELS:
        from helpers import models  # noqa: PLC0415 - builds Keras models

        built = {name: getattr(models, name)() for name in COMPARED_BUILDERS}
        for head in models.HEADS[1:]:
            built[f"keras_example_cnn(head={head!r})"] = models.keras_example_cnn(head=head)
        for order in models.ORDERS[1:]:
            built[f"small_cnn(order={order!r})"] = models.small_cnn(order)
        # the GPU reference with airbench's tricks (benchmarks/device): fast_cnn at airbench's widths
        built[f"fast_cnn(widths={models.AIRBENCH_WIDTHS})"] = models.fast_cnn(models.AIRBENCH_WIDTHS)
        for name, model in built.items():
            _COURSE_MODELS[name] = (weight_signature(model), structure_tokens(model))
    return _COURSE_MODELS


def reference_signatures(builders: tuple[str, ...] = REFERENCE_BUILDERS) -> dict[str, tuple]:
    """The weight signature of each course model built by one of ``builders`` (default: the
    reference models, :data:`REFERENCE_BUILDERS`)."""
    return {
        name: signature for name, (signature, _) in _course_models().items() if name.split("(")[0] in builders
    }


def reference_match(signature: tuple, builders: tuple[str, ...] = REFERENCE_BUILDERS) -> str | None:
    """The course model (built by one of ``builders``) whose layers with weights (types and weight
    shapes, in order) are the same as ``signature``; layers without weights (activations,
    pooling, dropout, a Normalization given its mean and variance) are ignored, so adding or
    removing them does not hide a copy."""
    if not signature:
        return None
    return next((name for name, sig in reference_signatures(builders).items() if sig == signature), None)


def structure_tokens(model: Any) -> tuple[str, ...]:
    """The model as a sequence of tokens, one per layer that shapes it: the layer kind, a conv's
    kernel size, and every width on a power-of-√2 scale (so 24 and 25 filters are the same token,
    32 and 64 are not)."""
    tokens = []
    for layer in _all_layers(model):
        kind = type(layer).__name__
        if getattr(layer, "layers", None) or not (layer.weights or kind in POOLING_LAYERS):
            continue
        config = layer.get_config()
        width = config.get("filters") or config.get("units")
        kernel = config.get("kernel_size")
        token = kind
        if kernel:
            token += "k" + "x".join(str(k) for k in kernel)
        if width:
            token += f"w{round(2 * math.log2(width))}"
        tokens.append(token)
    return tuple(tokens)


def similar_builders(tokens: tuple[str, ...]) -> tuple[tuple[str, float], ...]:
    """Course builders whose structure is at least :data:`NEAR_COPY_SIMILARITY` alike
    (``difflib`` ratio of the token sequences), most alike first."""
    found = []
    for name, (_, theirs) in _course_models().items():
        ratio = difflib.SequenceMatcher(None, tokens, theirs, autojunk=False).ratio()
        if ratio >= NEAR_COPY_SIMILARITY:
            found.append((name, round(ratio, 3)))
    return tuple(sorted(found, key=lambda pair: -pair[1]))


def weight_signature(model: Any) -> tuple:
    return tuple(
        (type(layer).__name__, tuple(tuple(int(d) for d in w.shape) for w in layer.weights))
        for layer in _all_layers(model)
        if layer.weights and not getattr(layer, "layers", None)
    )


def _all_layers(model: Any) -> list[Any]:
    found = []
    for layer in getattr(model, "layers", []):
        found.append(layer)
        found.extend(_all_layers(layer))  # nested Sequential / functional models
    return found


def _shape_without_batch(shape: Any) -> tuple[int | None, ...] | None:
    if isinstance(shape, list):  # several inputs or outputs: not a CIFAR-10 classifier
        return None
    try:
        return tuple(None if d is None else int(d) for d in shape[1:])
    except (TypeError, ValueError):
        return None


def _path_state(tensor: Any, seen: dict[int, str], depth: int = 0) -> str:
    """How ``tensor`` depends on the model's input: ``"gap"`` (only through a
    GlobalAveragePooling2D, then head layers), ``"input"`` (through head layers only) or
    ``"other"`` (through anything else: a Flatten, a Reshape, a conv after the GAP, a side path).
    ``seen`` remembers each tensor's answer: a graph of merges is walked once, not once per path."""
    if id(tensor) in seen:
        return seen[id(tensor)]
    history = getattr(tensor, "_keras_history", None)
    if history is None or depth > 500:
        return "other"
    operation, node_index, _ = history
    kind = type(operation).__name__
    if kind == "InputLayer":
        state = "input"
    elif kind == "GlobalAveragePooling2D":
        state = "gap"
    elif hasattr(operation, "outputs") and hasattr(operation, "layers"):  # a nested model
        state = _model_state(operation, seen, depth + 1)
        if state == "input":
            state = _parents_state(operation, node_index, seen, depth)
    elif kind not in HEAD_LAYERS:
        state = "other"
    else:
        state = _parents_state(operation, node_index, seen, depth)
    seen[id(tensor)] = state
    return state


def _parents_state(operation: Any, node_index: int, seen: dict[int, str], depth: int) -> str:
    try:
        parents = operation._inbound_nodes[node_index].input_tensors
    except (AttributeError, IndexError):
        return "other"
    states = {_path_state(parent, seen, depth + 1) for parent in parents}
    return states.pop() if len(states) == 1 else "other"


def _model_state(model: Any, seen: dict[int, str] | None = None, depth: int = 0) -> str:
    try:
        outputs = list(model.outputs)
    except (AttributeError, ValueError, TypeError):
        return "other"
    seen = {} if seen is None else seen
    states = {_path_state(output, seen, depth) for output in outputs}
    return states.pop() if len(states) == 1 else "other"


def _pooling_reduces(model: Any) -> bool:
    """Whether some pooling layer's output is smaller (height × width) than its input."""
    for layer in _all_layers(model):
        if type(layer).__name__ not in POOLING_LAYERS:
            continue
        try:
            node = layer._inbound_nodes[0]
            before = tuple(node.input_tensors[0].shape)[1:3]
            after = tuple(node.output_tensors[0].shape)[1:3]
        except (AttributeError, IndexError, TypeError):
            continue
        if None not in before and None not in after and after[0] * after[1] < before[0] * before[1]:
            return True
    return False


def inspect_model(model: keras.Model) -> ModelReport:
    """Read the shapes, parameter count, layer types and graph of ``model``, and compare it with
    the course's builders."""
    tokens = structure_tokens(model)
    return ModelReport(
        input_shape=_shape_without_batch(getattr(model, "input_shape", None)),
        output_shape=_shape_without_batch(getattr(model, "output_shape", None)),
        params=int(model.count_params()),
        layer_types=tuple(type(layer).__name__ for layer in _all_layers(model)),
        reference=reference_match(signature := weight_signature(model)),
        unchanged=reference_match(signature, UNCHANGED_BUILDERS),
        gap_feeds_output=_model_state(model) == "gap",
        pooling_reduces=_pooling_reduces(model),
        similar=similar_builders(tokens),
    )


def model_facts(model: keras.Model) -> dict[str, Any]:
    """The answers to :data:`QUESTIONS` for this model (what the grader checks answers against):
    the shape entering the last GlobalAveragePooling2D, and the parameters of every layer after
    it (the head), which do not depend on the input size. Empty when the model has no GAP."""
    layers = _all_layers(model)
    gaps = [i for i, layer in enumerate(layers) if type(layer).__name__ == "GlobalAveragePooling2D"]
    if not gaps:
        return {}
    gap = layers[gaps[-1]]
    shape = _shape_without_batch(gap.input.shape)
    head = sum(
        int(layer.count_params()) for layer in layers[gaps[-1] + 1 :] if not getattr(layer, "layers", None)
    )
    return {"gap_input_shape": list(shape or ()), "head_params": head, "head_params_at_64px": head}


def model_problems(report: ModelReport) -> list[tuple[str, str]]:
    """The rules a model breaks, each as (problem, hint), in zh-TW with English."""
    problems = []
    if not report.shapes_ok:
        problems.append(
            (
                f"輸入 {report.input_shape}、輸出 {report.output_shape}；"
                f"要是輸入 {IMAGE_SHAPE}、輸出 ({NUM_CLASSES},)。 (Wrong input or output shape.)",
                "用 keras.Input(shape=(32, 32, 3)) 開頭，最後一層 Dense(10)。",
            )
        )
    if not report.within_budget:
        problems.append(
            (
                f"{report.params:,} 個參數，超過預算 {PARAM_BUDGET:,}。 (Over the parameter budget.)",
                "減少寬度（filters），或用 GAP 代替 Flatten + 大 Dense。",
            )
        )
    if not report.gap_head:
        problems.append(
            (
                "分類頭要用 GlobalAveragePooling2D，而且輸出只能經過它（不用 Flatten、Reshape 或旁路）。"
                " (The output must come through a GAP head: no Flatten, Reshape or side path.)",
                "見筆記本 05：最後一個卷積 → GAP → Dense(10)。",
            )
        )
    if not report.batch_norm:
        problems.append(
            ("模型裡沒有 BatchNormalization。 (No batch normalisation.)", "見筆記本 03 的卷積區塊。")
        )
    if not report.pooling:
        problems.append(
            (
                "模型裡沒有會縮小特徵圖的池化層（MaxPooling2D 或 AveragePooling2D）。"
                " (No pooling layer that makes the feature maps smaller.)",
                "見筆記本 04：每個階段一次 2×2 的池化。",
            )
        )
    if report.reference:
        problems.append(
            (
                f"這是課程的參考模型 {report.reference}，不是你自己的設計：模型的分數是 0。"
                f" (This is the course's reference model {report.reference}, not your design:"
                " no model points.)",
                "從 conv_block、small_cnn 或 Keras 內建的層開始，設計你自己的模型。",
            )
        )
    return problems


def unchanged_note(name: str) -> str:
    """What the notebook and the feedback say about a model that is an unchanged course builder."""
    return (
        f"這是課程的 {name} 原封不動，不是你自己的設計：模型的分數照算，但設計分（消融實驗、理由）是 0。"
        f" (This is the course's {name} unchanged, not your design: the model points count,"
        " the design points — the ablation and the justification — are 0.)"
    )


def check_model(model: keras.Model) -> Feedback:
    """Self-check a homework model against every rule; lists what is wrong (an unchanged course
    builder breaks no rule, but the check fails so that the student sees it costs design points)."""
    report = inspect_model(model)
    problems = model_problems(report)
    if report.unchanged and not report.reference:
        problems.append(
            (
                unchanged_note(report.unchanged),
                "改一個你想驗證的設計（寬度、深度、區塊的順序…），再用消融實驗比較。",
            )
        )
    if not problems:
        return passed(
            f"輸入輸出形狀、參數預算（{report.params:,} ≤ {PARAM_BUDGET:,}）、BN、池化、GAP 分類頭都符合。"
            " (Shapes, budget, BN, pooling and GAP head all meet the rules.)"
        )
    return failed("\n   ".join(p for p, _ in problems), " ".join(h for _, h in problems))


def check_accuracy(accuracy: float | None, mode: RunMode) -> Feedback:
    """Self-check the test accuracy against this run mode's target (``None``: labels withheld)."""
    if accuracy is None:
        return Feedback(
            True,
            "ℹ️  評分中：測試準確率由評分程式用你存下的模型量測。"
            " (Grading run: the grader measures the test accuracy of your saved model.)",
        )
    target = mode.homework_target
    if accuracy >= target:
        return passed(f"測試準確率 {accuracy:.1%} ≥ 目標 {target:.0%}。 (Target reached.)")
    return failed(
        f"測試準確率 {accuracy:.1%}，目標是 {target:.0%}。 (Below the target.)",
        "加資料增強、調學習率排程、多訓練幾個 epoch，或加寬模型（注意預算）。",
    )


def save_submission(model: keras.Model, answers: dict[str, Any], folder: str | Path = ".") -> Path:
    """Save ``model`` to :data:`MODEL_PATH` and ``answers`` to :data:`ANSWERS_PATH` under ``folder``."""
    out = Path(folder) / OUTPUT_DIR
    out.mkdir(parents=True, exist_ok=True)
    model.save(Path(folder) / MODEL_PATH)
    plain = {k: list(v) if isinstance(v, tuple) else v for k, v in answers.items()}
    (Path(folder) / ANSWERS_PATH).write_text(
        json.dumps(plain, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    return out


# --- The ablation: one change, on the validation set, over seeds ------------------------------

#: The answers file's key for the ablation (:meth:`Ablation.answer`), reviewed by the instructor.
ABLATION_KEY = "ablation"
#: The fewest seeds per arm an ablation must run.
ABLATION_MIN_SEEDS = 2
#: The fewest sentences of reading an ablation must give.
ABLATION_MIN_SENTENCES = 2


def sentences(text: str) -> list[str]:
    """The non-empty sentences of ``text`` (ended by 。！？ or . ! ? followed by a space or the end)."""
    import re  # noqa: PLC0415

    parts = re.split(r"(?<=[。！？!?])|(?<=\.)(?=\s|$)", text)
    return [p.strip() for p in parts if len(p.strip()) > 1]


@dataclass
class Ablation:
    """An ablation the notebook ran (:func:`run_ablation`): one change, two arms, the same seeds,
    data and budget; each arm's runs are :class:`helpers.training.TrainResult`."""

    change: str
    results: dict[str, list[Any]]
    train_images: int
    epochs: int
    mode: str

    def finals(self) -> dict[str, list[float]]:
        """Each arm's final validation accuracy, one per seed."""
        return {name: [round(r.final_accuracy, 4) for r in runs] for name, runs in self.results.items()}

    def seconds(self) -> dict[str, float]:
        """Each arm's mean training time per run, in seconds."""
        return {
            name: round(float(np.mean([r.seconds for r in runs])), 1) for name, runs in self.results.items()
        }

    def table(self):
        """The small table (pandas): each arm's seeds, mean and spread (:func:`results_table`)."""
        from helpers.training import results_table  # noqa: PLC0415

        return results_table(self.results)

    def verdict(self) -> str:
        """The difference of the two arms with its uncertainty (:func:`range_verdicts`)."""
        from helpers.training import seed_verdicts  # noqa: PLC0415

        return seed_verdicts(self.results)[0]

    def answer(self, reading: str) -> dict[str, Any]:
        """What goes into ``answers[ABLATION_KEY]``: the change, the budget, every run's validation
        accuracy, the verdict line, and the student's reading (read by the instructor)."""
        return {
            "change": self.change,
            "split": "validation",
            "mode": self.mode,
            "train_images": self.train_images,
            "epochs": self.epochs,
            "seeds": [r.seed for r in next(iter(self.results.values()))],
            "arms": self.finals(),
            "seconds": self.seconds(),
            "verdict": self.verdict(),
            "reading": reading,
        }


def run_ablation(
    change: str,
    arms: dict[str, Any],
    data: Any,
    *,
    epochs: int,
    seeds: tuple[int, ...] = (0, 1),
    recipe: Any = None,
) -> Ablation:
    """Train two arms that differ in one thing, once per seed, on ``data.train``, and read them on
    ``data.val`` (the test set is not touched). ``arms`` maps a name to a model builder; the
    homework's recipe (:data:`helpers.training.FAST_RECIPE`: SGD Nesterov, warmup + cosine,
    weight decay, label smoothing, flip + crop) trains both, unless ``recipe`` gives one recipe
    for both or one per arm (for a change in training, e.g. ``dataclasses.replace(FAST_RECIPE,
    label_smoothing=0.0)``); the run mode adapts it (:meth:`helpers.modes.RunMode.fast_recipe`:
    smoke mode takes fewer steps, and one epoch: :attr:`helpers.modes.RunMode.ablation_max_epochs`).
    Prints every run; returns the :class:`Ablation`."""
    from helpers.modes import get_mode  # noqa: PLC0415
    from helpers.training import FAST_RECIPE, compare, fit_splits  # noqa: PLC0415

    if len(arms) != 2:
        raise ValueError(
            f"消融實驗要剛好兩組（原本的與改了一件事的），你給了 {len(arms)} 組。"
            f" (An ablation has exactly two arms: before and after one change; got {len(arms)}.)"
        )
    if len(set(seeds)) < ABLATION_MIN_SEEDS:
        raise ValueError(
            f"每一組至少要 {ABLATION_MIN_SEEDS} 個不同的種子。 (At least {ABLATION_MIN_SEEDS} seeds per arm.)"
        )
    mode = get_mode()
    if mode.ablation_max_epochs is not None:  # smoke mode: that it runs, not what it finds
        epochs = min(epochs, mode.ablation_max_epochs)
    chosen = recipe or FAST_RECIPE
    if isinstance(chosen, dict):
        chosen = {name: mode.fast_recipe(one) for name, one in chosen.items()}
    else:
        chosen = mode.fast_recipe(chosen)
    results = compare(arms, data, epochs=epochs, seeds=tuple(seeds), recipe=chosen)
    return Ablation(change, results, len(fit_splits(data)[0][0]), epochs, mode.name)


def check_ablation(answer: Any) -> Feedback:
    """Self-check the ablation's answer (:meth:`Ablation.answer`): its form only — one named
    change, two arms with the same seeds (at least two), read on the validation set, and a
    reading of at least two sentences. What it concludes is for the instructor to review."""
    hint = "用 run_ablation(...) 跑兩組，再把 ablation.answer(reading=...) 存進 answers[ABLATION_KEY]。"
    if not isinstance(answer, dict):
        return failed("answers[ABLATION_KEY] 還沒有定義。 (The ablation's answer is not defined yet.)", hint)
    change = answer.get("change")
    arms = answer.get("arms")
    if not isinstance(change, str) or not change.strip():
        return failed(
            "沒有寫改了什麼（change）。 (Name the one change.)",
            "在 run_ablation 的第一個參數寫出那一個改變。",
        )
    if not isinstance(arms, dict) or len(arms) != 2:
        return failed("消融實驗要剛好兩組。 (Exactly two arms.)", hint)
    runs = [v for v in arms.values() if isinstance(v, list)]
    if len(runs) != 2 or any(not all(isinstance(a, (int, float)) and 0 <= a <= 1 for a in r) for r in runs):
        return failed("每一組要是一串 0～1 的驗證準確率。 (Each arm: a list of accuracies.)", hint)
    if min(len(r) for r in runs) < ABLATION_MIN_SEEDS or len(runs[0]) != len(runs[1]):
        return failed(
            f"每一組至少 {ABLATION_MIN_SEEDS} 個種子，兩組的種子要一樣。"
            f" (At least {ABLATION_MIN_SEEDS} seeds per arm, the same seeds in both.)",
            "seeds=(0, 1) 或更多。",
        )
    if answer.get("split") != "validation":
        return failed("消融實驗要看驗證集。 (Read the ablation on the validation set.)", hint)
    reading = answer.get("reading")
    if not isinstance(reading, str) or "TODO" in reading or len(sentences(reading)) < ABLATION_MIN_SENTENCES:
        return failed(
            f"解讀至少要 {ABLATION_MIN_SENTENCES} 句。"
            f" (Write at least {ABLATION_MIN_SENTENCES} sentences of reading.)",
            "第一句說表格量到什麼（差多少、和種子間的差異比起來如何）；第二句說你因此怎麼決定。",
        )
    return passed(
        "消融實驗的形式都對：一個改變、兩組、同樣的種子、驗證集、兩句以上的解讀；內容由講師審閱。"
        " (The ablation's form is right; its content is reviewed by the instructor.)"
    )


def format_ablation(answer: Any) -> str:
    """The ablation's answer as plain text for the instructor (whatever the answers file holds:
    it was written by the submission's own code, so nothing here trusts its types)."""
    if not isinstance(answer, dict):
        return "（沒有消融實驗 no ablation）"

    def text(value: Any, limit: int = 600) -> str:
        return str(value)[:limit]

    lines = [
        f"改變 (change)：{text(answer.get('change'))}",
        f"資料 (data)：{text(answer.get('split'), 40)}；訓練影像 {text(answer.get('train_images'), 20)} 張；"
        f"{text(answer.get('epochs'), 20)} epochs；種子 (seeds) {text(answer.get('seeds'), 80)}；"
        f"模式 (mode) {text(answer.get('mode'), 20)}",
    ]
    arms = answer.get("arms")
    if isinstance(arms, dict):
        for name, values in list(arms.items())[:4]:
            lines.append(f"- {text(name, 120)}：{text(values, 200)}")
    lines += [
        f"判讀 (verdict)：{text(answer.get('verdict'))}",
        f"學生的解讀 (reading)：{text(answer.get('reading'), 2000)}",
    ]
    return "\n".join(lines)
