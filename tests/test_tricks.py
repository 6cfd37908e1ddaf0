"""The airbench tricks (helpers.tricks), each checked against a hand or NumPy computation."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from helpers.tricks import (
    FreezeAfter,
    Lookahead,
    ScaledSGD,
    alternating_flips,
    apply_dirac,
    dirac_kernel,
    image_patches,
    lookahead_decay,
    set_whitening,
    tta_scores,
    tta_views,
    whitening_kernel,
)


def test_patches_are_ordered_like_a_keras_kernel() -> None:
    images = np.arange(2 * 3 * 3 * 2, dtype=float).reshape(2, 3, 3, 2)
    patches = image_patches(images, 2)
    assert patches.shape == (2 * 2 * 2, 2 * 2 * 2)
    np.testing.assert_array_equal(patches[0], images[0, :2, :2, :].reshape(-1))  # (kh, kw, c) order
    np.testing.assert_array_equal(patches[3], images[0, 1:3, 1:3, :].reshape(-1))


def test_the_whitening_conv_decorrelates_its_patches_as_numpy_says() -> None:
    """The kernel's eigen-decomposition matches NumPy's of the patches' covariance, and a Keras
    Conv2D holding it outputs features whose covariance is diag(λ / (λ + eps)): whitened."""
    rng = np.random.default_rng(0)
    mix = rng.normal(size=(3, 3))
    images = rng.normal(size=(64, 8, 8, 3)) @ mix  # correlated channels
    images[:, :, 1:] += 0.5 * images[:, :, :-1]  # and correlated neighbours
    eps = 1e-3
    kernel, eigenvalues = whitening_kernel(images, size=2, eps=eps)
    assert kernel.shape == (2, 2, 3, 24) and np.all(np.diff(eigenvalues) <= 0)
    patches = image_patches(images, 2)
    np.testing.assert_allclose(eigenvalues, np.linalg.eigvalsh(patches.T @ patches / len(patches))[::-1])
    conv = keras.layers.Conv2D(24, 2, padding="valid")
    conv.build((None, 8, 8, 3))
    set_whitening(conv, images.astype("float32"), eps=eps)
    out = np.asarray(conv(images.astype("float32")), np.float64).reshape(-1, 24)
    half = out[:, :12]
    np.testing.assert_allclose(
        half.T @ half / len(half), np.diag(eigenvalues / (eigenvalues + eps)), atol=2e-4
    )
    np.testing.assert_allclose(out[:, 12:], -half, atol=1e-5)
    np.testing.assert_array_equal(np.asarray(conv.bias), 0)
    with pytest.raises(ValueError, match="whitening needs"):
        wrong = keras.layers.Conv2D(8, 2)
        wrong.build((None, 8, 8, 3))
        set_whitening(wrong, images)


def test_a_dirac_conv_passes_its_first_channels_through() -> None:
    rng = np.random.default_rng(1)
    model = keras.Sequential(
        [keras.Input((6, 6, 4)), keras.layers.Conv2D(6, 3, padding="same", use_bias=False)]
    )
    before = np.asarray(model.layers[0].kernel)
    assert apply_dirac(model) == [model.layers[0].name]
    x = rng.normal(size=(2, 6, 6, 4)).astype("float32")
    y = np.asarray(model(x))
    np.testing.assert_allclose(y[..., :4], x, atol=1e-6)  # identity on the first 4 filters
    np.testing.assert_array_equal(np.asarray(model.layers[0].kernel)[..., 4:], before[..., 4:])
    narrow = dirac_kernel(np.ones((3, 3, 8, 2)))
    assert narrow[1, 1, 0, 0] == narrow[1, 1, 1, 1] == 1 and narrow[..., :2].sum() == 2


def _toy() -> keras.Model:
    return keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(2, name="a"), keras.layers.Dense(1, name="b")]
    )


def test_scaled_sgd_multiplies_the_step_of_matched_variables_only() -> None:
    """One plain-SGD step: the matched kernel moves 4× as far, a ×0 bias does not move, the rest
    moves as plain SGD; weight decay is not multiplied."""
    x, y = np.ones((4, 3), "float32"), np.ones((4, 1), "float32")
    runs = {}
    for name, optimizer in {
        "plain": keras.optimizers.SGD(0.1),
        "scaled": ScaledSGD(0.1, multipliers={"a/kernel": 4.0, "b/bias": 0.0}),
    }.items():
        keras.utils.set_random_seed(0)
        model = _toy()
        before = [np.asarray(v) for v in model.trainable_variables]
        model.compile(optimizer=optimizer, loss="mse")
        model.train_on_batch(x, y)
        runs[name] = [np.asarray(v) - b for v, b in zip(model.trainable_variables, before, strict=True)]
    plain, scaled = runs["plain"], runs["scaled"]  # a/kernel, a/bias, b/kernel, b/bias
    np.testing.assert_allclose(scaled[0], 4 * plain[0], rtol=1e-5)
    np.testing.assert_allclose(scaled[1], plain[1], rtol=1e-5)
    np.testing.assert_allclose(scaled[2], plain[2], rtol=1e-5)
    assert np.all(scaled[3] == 0) and np.any(plain[3] != 0)
    decayed = ScaledSGD(0.1, weight_decay=0.5, multipliers={"a/kernel": 0.0})
    model = _toy()
    kernel = np.asarray(model.layers[0].kernel)
    model.compile(optimizer=decayed, loss="mse")
    model.train_on_batch(x, y)
    np.testing.assert_allclose(np.asarray(model.layers[0].kernel), kernel * (1 - 0.1 * 0.5), rtol=1e-5)
    assert decayed.matched()["a/kernel"], "the pattern matched a variable"


def test_freeze_after_stops_a_variable_once_its_epochs_are_done() -> None:
    x, y = np.ones((8, 3), "float32"), np.ones((8, 1), "float32")
    optimizer = ScaledSGD(0.05, multipliers={"a/bias": 1.0})
    model = _toy()
    model.compile(optimizer=optimizer, loss="mse")
    seen = []

    class Watch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):  # type: ignore[no-untyped-def]
            seen.append(np.asarray(model.layers[0].bias).copy())

    model.fit(
        x, y, epochs=4, batch_size=8, verbose=0, callbacks=[FreezeAfter(optimizer, "a/bias", 2), Watch()]
    )
    assert not np.allclose(seen[0], seen[1]), "trained during epochs 1 and 2"
    np.testing.assert_array_equal(seen[1], seen[2])
    np.testing.assert_array_equal(seen[2], seen[3])


def test_lookahead_averages_and_copies_back_as_by_hand() -> None:
    model = _toy()
    state = Lookahead(total_steps=10, start_step=2, every=2, base=0.9, power=1.0)
    values = []
    for step in range(1, 7):
        for v in model.variables:
            v.assign(np.full(v.shape, float(step), "float32"))
        state.after_step(model)
        values.append(float(np.asarray(model.variables[0]).ravel()[0]))
    # step 2 starts the average at 2; step 4: ρ = 0.9² · 0.4; step 6: ρ = 0.9² · 0.6
    rho4, rho6 = lookahead_decay(4, 10, 2, 0.9, 1.0), lookahead_decay(6, 10, 2, 0.9, 1.0)
    assert rho4 == pytest.approx(0.81 * 0.4) and rho6 == pytest.approx(0.81 * 0.6)
    at4 = rho4 * 2 + (1 - rho4) * 4
    at6 = rho6 * at4 + (1 - rho6) * 6
    assert values == pytest.approx([1, 2, 3, at4, 5, at6], abs=1e-5)
    model.variables[0].assign(np.zeros(model.variables[0].shape, "float32"))
    state.after_epoch(model)
    assert float(np.asarray(model.variables[0]).ravel()[0]) == pytest.approx(at6, abs=1e-5)


def test_tta_views_are_the_mirror_and_one_pixel_shifts_weighted_to_one() -> None:
    images = np.arange(2 * 4 * 4 * 1, dtype=float).reshape(2, 4, 4, 1)
    for level, count in ((0, 1), (1, 2), (2, 6)):
        views = tta_views(images, level)
        assert len(views) == count and sum(w for w, _ in views) == pytest.approx(1)
    views = tta_views(images, 2)
    np.testing.assert_array_equal(views[1][1], images[:, :, ::-1])
    up_left = views[2][1]
    np.testing.assert_array_equal(up_left[:, 1:, 1:], images[:, :3, :3])  # shifted by one pixel
    np.testing.assert_array_equal(up_left[:, 0, 1:], images[:, 1, :3])  # reflected border
    down_right = views[4][1]
    np.testing.assert_array_equal(down_right[:, :3, :3], images[:, 1:, 1:])
    np.testing.assert_array_equal(views[5][1], down_right[:, :, ::-1])
    total = tta_scores(lambda v: v.reshape(len(v), -1).mean(axis=1, keepdims=True), images, 2)
    assert total.shape == (2, 1)
    with pytest.raises(ValueError, match="TTA level"):
        tta_views(images, 3)


def test_alternating_flips_flip_every_image_every_other_epoch() -> None:
    flipped = alternating_flips(1000, seed=3)
    even, odd = flipped(0), flipped(1)
    assert np.all(even ^ odd) and 400 < even.sum() < 600
    np.testing.assert_array_equal(flipped(2), even)
    np.testing.assert_array_equal(alternating_flips(1000, seed=3)(0), even), "reproducible"


def test_the_fast_recipe_with_every_trick_trains_and_keeps_what_it_froze(fake_data) -> None:
    """fast_cnn with the whitening stem (frozen kernel, bias frozen after epoch 1), dirac convs, BN
    biases at ×64: three eager epochs run; the stem's kernel is the whitening kernel of the
    training images before and after; its bias stops moving after the first epoch. With lookahead
    added, training runs too."""
    import dataclasses

    from helpers.data import CIFAR10_MEAN, CIFAR10_STD
    from helpers.models import fast_cnn
    from helpers.training import FAST_RECIPE

    recipe = dataclasses.replace(
        FAST_RECIPE,
        min_steps_per_epoch=2,
        whiten=True,
        freeze_stem_bias_after=1,
        dirac=True,
        bn_bias_lr=64.0,
    )
    assert set(recipe.multipliers()) == {"stem/kernel", "stem/bias", "/beta"}
    (x, y), val = fake_data(40, 20)
    model = fast_cnn(widths=(8, 16))
    biases = []

    class Watch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):  # type: ignore[no-untyped-def]
            biases.append(np.asarray(model.get_layer("stem").bias).copy())

    result = recipe.train(model, ((x, y), val), epochs=3, seed=0, callbacks=[Watch()])
    averaged = fast_cnn(widths=(8, 16))  # lookahead too (it averages the frozen bias as well)
    dataclasses.replace(recipe, lookahead_from=0.0).train(averaged, ((x, y), val), epochs=2, seed=0)
    assert len(result.history["loss"]) == 3 and np.isfinite(result.history["loss"]).all()
    expected, _ = whitening_kernel((x.astype("float32") / 255 - CIFAR10_MEAN) / CIFAR10_STD, 2)
    np.testing.assert_allclose(np.asarray(model.get_layer("stem").kernel), expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(biases[1], biases[2])
    optimizer = model.optimizer
    assert all(optimizer.matched().values()), "every multiplier found its variables"
    assert len(optimizer.matched()["/beta"]) == 4, "the four BN layers' biases"
