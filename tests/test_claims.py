"""Every claim a lesson makes that depends on the Keras or TensorFlow version, run on the
installed versions. A version bump that changes one fails here, naming the lesson to update.

`python -m pytest tests/test_claims.py -v` lists the claims.
"""
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest

from grader.quiet import import_tensorflow


@dataclass(frozen=True)
class Claim:
    lessons: str     # where the claim is made (update these if it stops holding)
    says: str        # the claim, as the lesson puts it
    holds: Callable  # (tf, keras) -> None, asserting the claim


def caught(make) -> list[str]:
    """The warning messages ``make()`` raises, whatever the filters in force."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        make()
    return [str(w.message) for w in seen]


def leaky_defaults(tf, keras):
    import inspect

    assert keras.layers.LeakyReLU().get_config()["negative_slope"] == pytest.approx(0.3)
    default = inspect.signature(keras.activations.leaky_relu).parameters["negative_slope"].default
    assert default == pytest.approx(0.2)
    x = tf.constant([-1.0, 2.0])
    assert np.allclose(keras.activations.leaky_relu(x), [-0.2, 2.0])


def saturation_margin(tf, keras) -> float:
    """The smallest logit margin (0.25 steps) at which float32 softmax over 10 classes gives
    exactly 1.0 for the top class."""
    for margin in np.arange(10, 30, 0.25):
        logits = np.zeros((1, 10), np.float32)
        logits[0, 0] = margin
        if float(np.asarray(keras.activations.softmax(tf.constant(logits)))[0, 0]) == 1.0:
            return float(margin)
    raise AssertionError("float32 softmax never reached exactly 1.0 below a margin of 30")


def softmax_reaches_one(tf, keras):
    assert 17 <= saturation_margin(tf, keras) <= 19


def lr_raises(tf, keras):
    with pytest.raises(ValueError, match="lr"):
        keras.optimizers.SGD(lr=0.1)


def decay_only_warns(tf, keras):
    made = []
    messages = caught(lambda: made.append(keras.optimizers.SGD(learning_rate=0.1, decay=1e-6)))
    assert any("decay" in m and "ignored" in m for m in messages), messages
    assert "decay" not in made[0].get_config() or not made[0].get_config().get("decay")


def input_shape_warns(tf, keras):
    messages = caught(lambda: keras.Sequential([keras.layers.Dense(3, input_shape=(4,))]))
    assert any("input_shape" in m for m in messages), messages


def history_key_is_compiled_name(tf, keras):
    x, y = np.ones((8, 3), np.float32), np.zeros(8)
    for name in ("acc", "accuracy"):
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
        model.compile("adam", "sparse_categorical_crossentropy", metrics=[name])
        assert set(model.fit(x, y, epochs=1, verbose=0).history) == {name, "loss"}


def hard_wired_dropout(tf, keras):
    inputs = keras.Input((20,))
    hidden = keras.layers.Dropout(0.5)(inputs, training=True)
    model = keras.Model(inputs, keras.layers.Dense(2)(hidden))
    x = np.ones((4, 20), np.float32)
    assert not np.array_equal(model(x), model(x)), "model(x) should still drop at random"
    assert np.array_equal(model.predict(x, verbose=0), model.predict(x, verbose=0))


def generators_gone(tf, keras):
    import keras.preprocessing.image as image

    assert not hasattr(image, "ImageDataGenerator")
    assert not hasattr(keras.Model, "fit_generator")
    assert hasattr(keras.layers, "RandomRotation") and hasattr(keras.layers, "RandomTranslation")


def channels_last_default(tf, keras):
    assert keras.config.image_data_format() == "channels_last"


def safe_mode_refuses_lambda(tf, keras, tmp_path):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Lambda(lambda t: t * 2)])
    path = tmp_path / "lambda.keras"
    model.save(path)
    with pytest.raises(ValueError, match="(?i)lambda|safe"):
        keras.models.load_model(path, safe_mode=True)


def augmentation_on_call_off_in_predict(tf, keras):
    x = np.random.default_rng(0).random((4, 28, 28, 1)).astype("float32")
    augment = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.RandomRotation(0.5, seed=1)])
    assert not np.allclose(augment(x), x), "calling the layer directly should augment"
    assert np.allclose(augment.predict(x, verbose=0), x), "predict should not augment"


def cpu_conv_refuses_channels_first(tf, keras):
    """Without oneDNN the CPU kernel is NHWC only; with it (grader.setup's default) it runs."""
    import os
    import subprocess
    import sys

    code = ("import numpy as np, keras\n"
            "try:\n"
            "    keras.layers.Conv2D(2, 3, data_format='channels_first')(np.zeros((1, 1, 8, 8), "
            "'float32'))\n"
            "    print('ran')\n"
            "except Exception as error:\n"
            "    print('refused', 'NHWC' in str(error))\n")
    env = dict(os.environ, TF_ENABLE_ONEDNN_OPTS="0", TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.stdout.split()[-2:] == ["refused", "True"], done.stdout + done.stderr[-500:]
    assert os.environ.get("TF_ENABLE_ONEDNN_OPTS") == "1"
    conv = keras.layers.Conv2D(2, 3, data_format="channels_first")
    assert conv(np.zeros((1, 1, 8, 8), np.float32)).shape == (1, 2, 6, 6)


def validation_split_takes_the_last_samples(tf, keras):
    x = np.concatenate([np.zeros((30, 1)), np.ones((10, 1))]).astype("float32")
    y = x[:, 0].copy()
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False,
                                                                     kernel_initializer="zeros")])
    model.compile("sgd", "mse")
    history = model.fit(x, y, validation_split=0.25, epochs=1, shuffle=True, verbose=0)
    assert history.history["val_loss"][0] == pytest.approx(1.0)  # the last 10, all ones


CLAIMS = [
    Claim("04", "layers.LeakyReLU's default negative_slope is 0.3, "
                "activations.leaky_relu's is 0.2", leaky_defaults),
    Claim("01, 07", "in float32, softmax's top probability is exactly 1.0 once the logit margin "
                    "is about 17-19 (10 classes)", softmax_reaches_one),
    Claim("03", "optimizers refuse lr= (ValueError)", lr_raises),
    Claim("03", "decay= is accepted with a warning and ignored", decay_only_warns),
    Claim("03", "Dense(..., input_shape=...) works but warns", input_shape_warns),
    Claim("03, 05", "history.history's key is the metric's name as compiled ('acc' gives 'acc')",
          history_key_is_compiled_name),
    Claim("05, 06", "a Dropout hard-wired with training=True: model(x) still drops, while this "
                    "Keras's predict() runs it in inference mode", hard_wired_dropout),
    Claim("06", "ImageDataGenerator and fit_generator are gone; RandomRotation and "
                "RandomTranslation are layers", generators_gone),
    Claim("02", "the default image_data_format is channels_last", channels_last_default),
    Claim("07", "load_model(safe_mode=True) refuses a Lambda layer", safe_mode_refuses_lambda),
    Claim("06, 07", "a random augmentation layer called directly augments; predict() does not",
          augmentation_on_call_off_in_predict),
    Claim("02, 07", "TensorFlow's CPU convolutions refuse channels_first without oneDNN, and run it with oneDNN on",
          cpu_conv_refuses_channels_first),
    Claim("03", "validation_split holds out the last samples, taken before any shuffling",
          validation_split_takes_the_last_samples),
]


@pytest.fixture(scope="module")
def tf_keras():
    return import_tensorflow()


@pytest.mark.parametrize("claim", CLAIMS, ids=[c.holds.__name__ for c in CLAIMS])
def test_claim(claim, tf_keras, tmp_path):
    import inspect

    tf, keras = tf_keras
    kwargs = {"tmp_path": tmp_path} if "tmp_path" in inspect.signature(claim.holds).parameters else {}
    try:
        claim.holds(tf, keras, **kwargs)
    except (AssertionError, Exception) as failure:
        pytest.fail(f"Keras {keras.__version__} / TensorFlow {tf.__version__} no longer bears out "
                    f"lesson {claim.lessons}: \"{claim.says}\" ({type(failure).__name__}: "
                    f"{failure}). Update the lesson, then this claim.")


def test_a_broken_claim_names_its_lesson(tf_keras):
    broken = Claim("99", "softmax never reaches 1", lambda tf, keras: softmax_reaches_one(tf, None))
    with pytest.raises(pytest.fail.Exception, match="lesson 99"):
        test_claim(broken, tf_keras, None)


def test_pins_agree_and_admit_the_installed_versions(tf_keras):
    """pyproject.toml and environment.yml bound TensorFlow and Keras alike, at versions that
    include the ones these claims just ran on."""
    import re
    from pathlib import Path

    from packaging.requirements import Requirement

    tf, keras = tf_keras
    root = Path(__file__).resolve().parents[1]
    pyproject = (root / "pyproject.toml").read_text()
    environment = (root / "environment.yml").read_text()
    for package, installed in (("tensorflow", tf.__version__), ("keras", keras.__version__)):
        spec = re.search(rf'"({package}[<>=,.\d ]+)"', pyproject).group(1)
        assert re.search(rf"- {re.escape(spec)}\s", environment), (package, spec)
        requirement = Requirement(spec)
        assert "<" in str(requirement.specifier) and installed in requirement.specifier, spec
