"""Fast-training tricks of airbench (Keller Jordan, 2024, arXiv 2404.00498) in Keras 3, each small
and named, for the fast CPU recipe (:class:`helpers.training.FastRecipe`) and the GPU reference.

- :func:`whitening_kernel`: the first conv's kernel set from the training images' patches — the
  eigenvectors of their covariance, scaled by 1/√(eigenvalue + eps), and their negatives — so
  its outputs are decorrelated with unit variance; kept frozen while the rest trains.
- :func:`dirac_kernel`: a 3×3 conv initialised to pass its first input channels through
  (identity), the "implicit residual" of airbench's convs.
- :class:`ScaledSGD`: SGD (Nesterov) with a learning-rate multiplier per variable: a frozen
  kernel (×0), BatchNorm biases ×64, a bias frozen after some epochs (:class:`FreezeAfter`).
- :class:`Lookahead`: every few steps, an exponential moving average of the weights (and BN
  statistics) is updated and copied back into the model; its decay rises over training.
- :func:`tta_scores`: test-time augmentation — the mirror image, and one-pixel translations.
- :func:`alternating_flips`: each image flipped on every other epoch (a fixed random half flipped
  on even epochs, the other half on odd ones) instead of a fresh coin every epoch.

Label smoothing, the recipe's fifth trick, is :attr:`helpers.training.FastRecipe.label_smoothing`.
Everything here is written with NumPy and ``keras.ops`` (no TensorFlow), so it runs on Keras's
JAX backend too (the GPU reference, :mod:`benchmarks.device`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import keras


def image_patches(images: np.ndarray, size: int) -> np.ndarray:
    """Every ``size``×``size`` patch of ``images`` ``(N, H, W, C)`` (stride 1, no padding) as a row
    ``(kh, kw, c)``-ordered, the order of a Keras conv kernel's first three axes:
    shape ``(N · (H − size + 1) · (W − size + 1), size · size · C)``."""
    windows = np.lib.stride_tricks.sliding_window_view(images, (size, size), axis=(1, 2))
    # (N, H', W', C, kh, kw) → (N, H', W', kh, kw, C)
    windows = np.moveaxis(windows, 3, -1)
    return windows.reshape(-1, size * size * images.shape[-1]).astype(np.float64)


def whitening_kernel(images: np.ndarray, size: int = 2, eps: float = 5e-4) -> tuple[np.ndarray, np.ndarray]:
    """The whitening conv's kernel from (standardised) ``images`` ``(N, H, W, C)``, and the
    eigenvalues of the patches' covariance, largest first.

    As in airbench: the covariance is ``PᵀP / n`` over all patches ``P`` (not centred), its
    eigenvectors ``v`` (largest eigenvalue ``λ`` first) are scaled to ``v / √(λ + eps)``, and the
    kernel holds them and their negatives: ``2 · size² · C`` filters, shape
    ``(size, size, C, 2 · size² · C)``. A patch's response to filter ``k`` is ``v_k · p / √(λ_k +
    eps)``, so over the images the first half of the outputs has covariance ``diag(λ / (λ + eps))``
    (≈ the identity: whitened)."""
    patches = image_patches(images, size)
    covariance = patches.T @ patches / len(patches)
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    order = np.argsort(eigenvalues)[::-1]
    eigenvalues, eigenvectors = eigenvalues[order], eigenvectors[:, order]
    scaled = eigenvectors / np.sqrt(eigenvalues + eps)
    kernel = np.concatenate([scaled, -scaled], axis=1)
    return kernel.reshape(size, size, images.shape[-1], -1).astype(np.float32), eigenvalues


def dirac_kernel(kernel: np.ndarray) -> np.ndarray:
    """``kernel`` ``(kh, kw, c_in, c_out)`` with its first ``min(c_in, c_out)`` filters replaced by
    identities (filter ``i`` passes input channel ``i`` through at the centre tap), the rest kept:
    PyTorch's ``dirac_`` on airbench's ``w[:c_in]``."""
    out = np.array(kernel, copy=True)
    kh, kw, c_in, c_out = out.shape
    n = min(c_in, c_out)
    out[:, :, :, :n] = 0.0
    out[kh // 2, kw // 2, np.arange(n), np.arange(n)] = 1.0
    return out


def apply_dirac(model: keras.Model, kernel_size: tuple[int, int] = (3, 3)) -> list[str]:
    """Give every ``kernel_size`` Conv2D of ``model`` a :func:`dirac_kernel`; returns their names."""
    done = []
    for layer in model.layers:
        if type(layer).__name__ == "Conv2D" and tuple(layer.kernel_size) == kernel_size:
            layer.kernel.assign(dirac_kernel(np.asarray(layer.kernel)))
            done.append(layer.name)
    return done


def set_whitening(layer: Any, images: np.ndarray, eps: float = 5e-4) -> np.ndarray:
    """Set a square conv ``layer``'s kernel to :func:`whitening_kernel` of ``images`` (already
    standardised, as the layer sees them) and its bias to 0; returns the eigenvalues."""
    size = int(layer.kernel_size[0])
    kernel, eigenvalues = whitening_kernel(images, size, eps)
    if tuple(layer.kernel.shape) != kernel.shape:
        raise ValueError(f"{layer.name}: kernel {tuple(layer.kernel.shape)}, whitening needs {kernel.shape}")
    layer.kernel.assign(kernel)
    if layer.bias is not None:
        layer.bias.assign(np.zeros(layer.bias.shape, np.float32))
    return eigenvalues


def _scaled_sgd_class() -> type:
    import keras  # noqa: PLC0415
    from keras import ops  # noqa: PLC0415

    class ScaledSGD(keras.optimizers.SGD):
        """SGD whose step for a variable is multiplied by the first factor of ``multipliers``
        (``{substring of the variable's path: factor}``) that matches; weight decay (Keras's,
        decoupled: ``w ← w − lr · wd · w``) is not multiplied (as airbench: "scales up the learning
        rate, but not the weight decay"). A factor of 0 freezes the variable: no step at all, not
        even the momentum's. The factors are variables: :meth:`set_multiplier` changes one during
        training (a freeze, :class:`FreezeAfter`)."""

        def __init__(self, *args: Any, multipliers: dict[str, float] | None = None, **kwargs: Any):
            super().__init__(*args, **kwargs)
            self.multipliers = dict(multipliers or {})
            self._factor_of: dict[str, Any] = {}
            self._factor_vars: dict[str, Any] = {}

        def build(self, variables: Sequence[Any]) -> None:
            super().build(variables)
            for pattern, factor in self.multipliers.items():
                name = "multiplier_" + "".join(ch if ch.isalnum() else "_" for ch in pattern)
                constant = keras.initializers.Constant(float(factor))
                var = self.add_variable((), initializer=constant, name=name)
                self._factor_vars[pattern] = var
            for variable in variables:
                pattern = next((p for p in self.multipliers if p in variable.path), None)
                if pattern is not None:
                    self._factor_of[self._var_key(variable)] = self._factor_vars[pattern]

        def set_multiplier(self, pattern: str, factor: float) -> None:
            self._factor_vars[pattern].assign(float(factor))

        def matched(self) -> dict[str, list[str]]:
            """Which variables each pattern scales (for a check that none is a typo)."""
            return {
                p: [k for k, v in self._factor_of.items() if v is var] for p, var in self._factor_vars.items()
            }

        def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
            factor = self._factor_of.get(self._var_key(variable))
            if factor is None:
                super().update_step(gradient, variable, learning_rate)
                return
            factor = ops.cast(factor, variable.dtype)
            before = ops.convert_to_tensor(variable) + 0  # a copy: the step reads the variable
            super().update_step(
                gradient, variable, ops.multiply(ops.cast(learning_rate, variable.dtype), factor)
            )
            # ×0 is a freeze: no step at all (the momentum left from earlier steps would still
            # move the variable; PyTorch's requires_grad=False skips it, as here)
            # (the variable read as a tensor: JAX's where takes arrays, not Keras variables)
            after = ops.convert_to_tensor(variable)
            self.assign(variable, ops.where(ops.equal(factor, 0), before, after))

        def get_config(self) -> dict[str, Any]:
            return {**super().get_config(), "multipliers": self.multipliers}

    return ScaledSGD


_CLASSES: dict[str, type] = {}


def ScaledSGD(*args: Any, **kwargs: Any) -> keras.optimizers.SGD:
    """A ``keras.optimizers.SGD`` with per-variable learning-rate multipliers (see the class's
    docstring); made on first use so that importing this module does not import Keras."""
    if "ScaledSGD" not in _CLASSES:
        _CLASSES["ScaledSGD"] = _scaled_sgd_class()
    return _CLASSES["ScaledSGD"](*args, **kwargs)


def _callback_base() -> type:
    import keras  # noqa: PLC0415

    return keras.callbacks.Callback


def FreezeAfter(optimizer: Any, pattern: str, epochs: int) -> keras.callbacks.Callback:
    """A callback that sets ``optimizer``'s (:func:`ScaledSGD`) multiplier for ``pattern`` to 0
    once ``epochs`` epochs have finished: airbench trains the whitening conv's bias for 3 epochs,
    then freezes it."""

    class _FreezeAfter(_callback_base()):
        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            if epoch >= epochs:
                optimizer.set_multiplier(pattern, 0.0)

    return _FreezeAfter()


def lookahead_decay(step: int, total_steps: int, every: int, base: float = 0.95, power: float = 3.0) -> float:
    """The weight of the old average at ``step``: ``(base ** every) · (step / total) ** power``
    (airbench: it rises over training, so the average moves fast early and smooths at the end)."""
    return float(base**every * (step / total_steps) ** power)


class Lookahead:
    """Airbench's lookahead: from ``start_step`` on, every ``every`` steps, ``average ← ρ · average
    + (1 − ρ) · weights`` (ρ from :func:`lookahead_decay`) and the weights are set to the average;
    after every epoch the weights are set to the average once more. Applies to every float
    variable of the model, BN's moving statistics included. Use :meth:`callback` with ``fit``."""

    def __init__(
        self, total_steps: int, start_step: int, every: int = 5, base: float = 0.95, power: float = 3.0
    ):
        self.total_steps, self.start_step, self.every = total_steps, start_step, every
        self.base, self.power = base, power
        self.step = 0
        self.average: list[np.ndarray] | None = None

    @staticmethod
    def _variables(model: Any) -> list[Any]:
        return [v for v in model.variables if "float" in str(v.dtype)]

    def after_step(self, model: Any) -> None:
        self.step += 1
        if self.step < self.start_step or self.step % self.every:
            return
        variables = self._variables(model)
        weights = [np.asarray(v) for v in variables]
        if self.average is None:
            self.average = weights
            return
        rho = lookahead_decay(self.step, self.total_steps, self.every, self.base, self.power)
        self.average = [rho * a + (1 - rho) * w for a, w in zip(self.average, weights, strict=True)]
        for variable, value in zip(variables, self.average, strict=True):
            variable.assign(value)

    def after_epoch(self, model: Any) -> None:
        if self.average is not None:
            for variable, value in zip(self._variables(model), self.average, strict=True):
                variable.assign(value)

    def callback(self) -> keras.callbacks.Callback:
        state = self

        class _Lookahead(_callback_base()):
            def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
                state.after_step(self.model)

            def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
                state.after_epoch(self.model)

        return _Lookahead()


def tta_views(images: np.ndarray, level: int) -> list[tuple[float, np.ndarray]]:
    """The test-time views of ``images`` ``(N, H, W, C)`` and their weights (summing to 1):
    level 0 the images; level 1 the images and their mirror images, ½ each; level 2 (airbench) ½
    for level 1's pair, and ¼ for each of two one-pixel translations (reflection-padded, shifted
    up-left and down-right), each with its mirror image."""
    if level not in (0, 1, 2):
        raise ValueError(f"TTA level 0, 1 or 2, not {level!r}")
    if level == 0:
        return [(1.0, images)]
    views = [(0.5, images), (0.5, images[:, :, ::-1])]
    if level == 1:
        return views
    height, width = images.shape[1:3]
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="reflect")
    shifted = [padded[:, :height, :width], padded[:, 2 : height + 2, 2 : width + 2]]
    return [(w / 2, v) for w, v in views] + [(0.125, view) for s in shifted for view in (s, s[:, :, ::-1])]


def tta_scores(predict: Callable[[np.ndarray], np.ndarray], images: np.ndarray, level: int = 2) -> np.ndarray:
    """The weighted mean of ``predict`` over :func:`tta_views` of ``images``."""
    return sum(weight * np.asarray(predict(view), np.float64) for weight, view in tta_views(images, level))


def alternating_flips(count: int, seed: int) -> Callable[[int], np.ndarray]:
    """Airbench's alternating flip: a fixed random half of the ``count`` images is flipped on even
    epochs and the other half on odd epochs, so every image is seen both ways every two epochs
    (random flipping leaves a quarter of them unflipped, or always flipped, over two epochs).
    Returns ``flipped(epoch)``: a boolean mask over the images."""
    first = np.random.default_rng(seed).random(count) < 0.5

    def flipped(epoch: int) -> np.ndarray:
        return first if epoch % 2 == 0 else ~first

    return flipped
