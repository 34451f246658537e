"""LeNet-5 trained two ways on the same images, timed to the same test accuracy.

- the seed articles' recipe: NumPy arrays straight into ``fit``, ``batch_size=128``,
  ``validation_split=0.2``, Adam with its defaults;
- the course's recipe (lesson 07): a cached, shuffled, prefetched ``tf.data`` pipeline,
  ``steps_per_execution``, batch 128 and Adam on a learning rate warmed up to 1e-2 in the first
  epoch and decayed along a cosine over the next 5, chosen by measurement.

Both train the same 28x28 LeNet-5 (61,706 parameters). Only ``fit``'s epochs are timed; the test
accuracy checked after each epoch is not. ``grader bench --recipes`` prints the comparison.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class CourseRecipe:
    """Lesson 07's graded recipe, as measured on full MNIST (2 cores): one epoch of linear
    warm-up from ``start_learning_rate`` to the peak, then a cosine down to ``final_fraction``
    of the peak by the end of ``epochs``."""
    batch_size: int = 128
    steps_per_execution: int = 32
    start_learning_rate: float = 1e-3
    peak_learning_rate: float = 1e-2
    final_fraction: float = 0.02  # CosineDecay's alpha
    epochs: int = 6  # the schedule's length; training stops early at the target


@dataclass
class Epoch:
    seconds: float
    images: int
    test_accuracy: float


@dataclass
class RecipeRun:
    name: str
    epochs: list[Epoch] = field(default_factory=list)
    target: float = 0.0

    @property
    def reached(self) -> int | None:
        """How many epochs it took to reach the target (None: it did not)."""
        return self.epochs_to(self.target)

    @property
    def seconds_to_target(self) -> float | None:
        return self.seconds_to(self.target)

    def epochs_to(self, accuracy: float) -> int | None:
        return next((i + 1 for i, e in enumerate(self.epochs) if e.test_accuracy >= accuracy),
                    None)

    def seconds_to(self, accuracy: float) -> float | None:
        """Training seconds until the test accuracy first reached ``accuracy`` (None: never)."""
        n = self.epochs_to(accuracy)
        return None if n is None else sum(e.seconds for e in self.epochs[:n])

    @property
    def best_accuracy(self) -> float:
        return max(e.test_accuracy for e in self.epochs)

    @property
    def seconds_per_epoch(self) -> float:
        """Median over the epochs after the first (the first one also traces the graph)."""
        later = [e.seconds for e in self.epochs[1:]] or [self.epochs[0].seconds]
        return float(np.median(later))

    @property
    def images_per_second(self) -> float:
        return self.epochs[-1].images / self.seconds_per_epoch


def build_lenet5(keras):
    """The 28x28 LeNet-5 variant both recipes train."""
    layers = keras.layers
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(6, 5, padding="same", activation="relu"),
        layers.AveragePooling2D(2),
        layers.Conv2D(16, 5, activation="relu"),
        layers.AveragePooling2D(2),
        layers.Flatten(),
        layers.Dense(120, activation="relu"),
        layers.Dense(84, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ], name="lenet5")


def training_flops(model) -> int:
    """Floating-point operations to train on one image: the forward pass, plus the weight
    gradients (as many again), plus the input gradients (as many again, except the first
    layer's, which nothing needs). Multiply-adds count as 2; pooling and activations ignored."""
    forward = []
    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "Conv2D":
            _, h, w, c_out = layer.output.shape
            kh, kw = layer.kernel_size
            forward.append(2 * h * w * c_out * kh * kw * layer.input.shape[-1])
        elif kind == "Dense":
            forward.append(2 * layer.kernel.shape[0] * layer.kernel.shape[1])
    return 2 * sum(forward) + (sum(forward) - forward[0])


def matmul_flops_per_second(size: int = 1024, repeats: int = 20) -> float:
    """What this machine's TensorFlow sustains on a large float32 matrix product: the most a
    training step could hope for, so the floor of the arithmetic."""
    from .quiet import import_tensorflow

    tf, _ = import_tensorflow()
    a = tf.random.normal((size, size))
    b = tf.random.normal((size, size))
    tf.matmul(a, b).numpy()  # warm up
    started = time.perf_counter()
    for _ in range(repeats):
        c = tf.matmul(a, b)
    c.numpy()
    return 2 * size**3 * repeats / (time.perf_counter() - started)


def _epoch_timer(keras, run: RecipeRun, x_test, y_test, images: int):
    """Times each epoch (its own validation included), then, untimed, checks the test accuracy
    and stops training once the target is reached."""

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds = time.perf_counter() - self.started
            accuracy = self.model.evaluate(x_test, y_test, batch_size=1000, verbose=0)[1]
            run.epochs.append(Epoch(seconds, images, float(accuracy)))
            if accuracy >= run.target:
                self.model.stop_training = True

    return EpochTimer()


def seeds_recipe(x, y, x_test, y_test, target: float, max_epochs: int) -> RecipeRun:
    """``model.fit(x, y, batch_size=128, validation_split=0.2)`` with Adam's defaults."""
    from .quiet import import_tensorflow

    _, keras = import_tensorflow()
    keras.utils.set_random_seed(0)
    run = RecipeRun("seeds' recipe", target=target)
    model = build_lenet5(keras)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    images = len(x) - int(len(x) * 0.2)
    model.fit(x, y, batch_size=128, validation_split=0.2, epochs=max_epochs, verbose=0,
              callbacks=[_epoch_timer(keras, run, x_test, y_test, images)])
    return run


def course_recipe(x, y, x_test, y_test, target: float, max_epochs: int,
                  recipe: CourseRecipe = CourseRecipe()) -> RecipeRun:
    """The lesson-07 recipe: tf.data (cache, shuffle, batch, prefetch), steps_per_execution,
    Adam on a warmed-up, cosine-decaying learning rate."""
    from .quiet import import_tensorflow

    tf, keras = import_tensorflow()
    keras.utils.set_random_seed(0)
    run = RecipeRun("course recipe", target=target)
    data = (tf.data.Dataset.from_tensor_slices((x, y)).cache()
            .shuffle(len(x), seed=0, reshuffle_each_iteration=True)
            .batch(recipe.batch_size).prefetch(tf.data.AUTOTUNE))
    steps_per_epoch = int(np.ceil(len(x) / recipe.batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(
        recipe.start_learning_rate, (recipe.epochs - 1) * steps_per_epoch,
        alpha=recipe.final_fraction, warmup_target=recipe.peak_learning_rate,
        warmup_steps=steps_per_epoch)
    model = build_lenet5(keras)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=schedule),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  steps_per_execution=recipe.steps_per_execution)
    model.fit(data, epochs=min(max_epochs, recipe.epochs), verbose=0,
              callbacks=[_epoch_timer(keras, run, x_test, y_test, len(x))])
    return run
