"""grader.checks: structural checks, and accuracy measured from a saved file in another process."""
import pickle

import numpy as np
import pytest

import grader
from grader import checks, data
from grader.grading import verdicts
from grader.feedback import CheckFailed

tf, keras = grader.setup(seed=0)


def mlp(inputs=(784,), hidden=32, softmax=True):
    return keras.Sequential([keras.Input(inputs), keras.layers.Flatten(),
                             keras.layers.Dense(hidden, activation="relu"),
                             keras.layers.Dense(10, activation="softmax" if softmax else None)])


@pytest.fixture(scope="module")
def sample():
    """MNIST with its training split cut to 5,000 digits, so models train in a second; the test
    split stays whole (the grader always scores on all 10,000)."""
    data._load_cached_in_process.cache_clear()
    splits = data.load("mnist", quiet=True)
    (x_train, y_train), test = splits
    return data.Splits((x_train[:5000], y_train[:5000]), test, splits.name, splits.source)


def trained(sample, scale=1 / 255, epochs=2):
    (x, y), _ = sample
    keras.utils.set_random_seed(0)
    model = mlp()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x.reshape(-1, 784).astype("float32") * scale, y, epochs=epochs, batch_size=64,
              verbose=0)
    return model


@pytest.fixture(scope="module")
def good_model(sample):
    return trained(sample)


def test_structural_checks_pass_a_right_model():
    model = mlp()
    checks.assert_keras_model(model)
    checks.assert_input_shape(model, (784,))
    checks.assert_output_shape(model, (10,))
    checks.assert_layer_kinds(model, required=["Dense"], forbidden=["Dropout"])
    checks.assert_param_budget(model, 30_000)
    checks.assert_no_custom_code(model)
    checks.assert_softmax_output(model)


@pytest.mark.parametrize("check, args, message", [
    (checks.assert_keras_model, (), "should be a Keras model"),
    (checks.assert_input_shape, ((28, 28),), r"inputs of shape \(None, 28, 28\)"),
    (checks.assert_output_shape, ((5,),), "5 units, one per class"),
    (checks.assert_layer_kinds, (["Conv2D"],), "should contain a Conv2D layer"),
    (checks.assert_param_budget, (1000,), "25,450 parameters; the budget is 1,000"),
])
def test_structural_checks_explain_failures(check, args, message):
    target = "not a model" if check is checks.assert_keras_model else mlp()
    with pytest.raises(CheckFailed, match=message):
        check(target, *args)


class Subclassed(keras.Model):
    """A subclassed model: its computation is code in call(), which the grader never runs."""
    def __init__(self):
        super().__init__()
        self.dense = keras.layers.Dense(10, activation="softmax")

    def call(self, x):
        return self.dense(x)


@pytest.mark.parametrize("check, args", [
    (checks.assert_input_shape, ((784,),)), (checks.assert_output_shape, ((10,),)),
    (checks.assert_softmax_output, ()), (checks.assert_param_budget, (1000,)),
    (checks.assert_layer_kinds, (["Dense"],)), (checks.assert_no_custom_code, ()),
    (checks.assert_graph_model, ()),
])
def test_structural_checks_explain_models_they_cannot_read(check, args):
    """A subclassed model never called (no inputs, no outputs, no weights), an unbuilt
    Sequential, an empty one, a plain object: a message, never AttributeError or ValueError."""
    class NotAModel:
        inputs = outputs = layers = ()

    strict = check not in (checks.assert_layer_kinds, checks.assert_no_custom_code,
                           checks.assert_param_budget, checks.assert_softmax_output)
    cases = [(NotAModel(), "should be a Keras model")]
    if strict:  # what reads inputs or outputs needs a Sequential or functional model
        cases += [(Subclassed(), "subclassed model"),
                  (keras.Sequential([keras.layers.Dense(10)]), "has no defined inputs"),
                  (keras.Sequential(), "has no defined inputs")]
    if check is checks.assert_param_budget:
        cases += [(Subclassed(), "not built yet"),
                  (keras.Sequential([keras.layers.Dense(10)]), "not built yet")]
    if check is checks.assert_softmax_output:
        cases += [(keras.Sequential(), "has no layers")]
    for model, message in cases:
        with pytest.raises(CheckFailed, match=message):
            check(model, *args, name="net")
    assert checks.training_steps(NotAModel()) == checks.training_steps(Subclassed()) == 0


def test_a_subclassed_model_is_not_saved_for_grading(tmp_path):
    with pytest.raises(CheckFailed, match="`mlp` is a subclassed model"):
        checks.save_for_grading(Subclassed(), "03-mlp", tmp_path)
    assert not (tmp_path / "graded-models").exists()


def test_softmax_missing_is_named():
    with pytest.raises(CheckFailed, match="softmax"):
        checks.assert_softmax_output(mlp(softmax=False))


def test_lambda_layers_are_refused(tmp_path):
    model = keras.Sequential([keras.Input((784,)), keras.layers.Lambda(lambda t: t * 2),
                              keras.layers.Dense(10, activation="softmax")])
    with pytest.raises(CheckFailed, match="Lambda"):
        checks.assert_no_custom_code(model)
    path = tmp_path / "lambda.keras"
    model.save(path)
    with pytest.raises(CheckFailed, match="Lambda"):
        verdicts.evaluate_saved_model(path, "mnist")


def in_process_accuracy(model, images, labels):
    return np.mean(model.predict(images.reshape(-1, 784) / 255, verbose=0).argmax(1) == labels)


@pytest.mark.separate_process
def test_accuracy_is_measured_out_of_process_and_matches(good_model, sample, tmp_path):
    from grader.transforms import perturbed

    path = checks.save_for_grading(good_model, "probe", tmp_path)
    evaluation = verdicts.evaluate_saved_model(path, "mnist")
    _, (x_test, y_test) = sample
    assert evaluation.n == 10_000 and evaluation.target_key == "mnist"
    # scored on the preview copy (no grader's seed given) ...
    assert evaluation.copy == "a preview"
    assert abs(evaluation.accuracy - in_process_accuracy(good_model, perturbed(x_test), y_test)) < 1e-3
    # ... and on the published images, as they ship
    assert abs(evaluation.published_accuracy - in_process_accuracy(good_model, x_test, y_test)) < 1e-3
    assert evaluation.accuracy > 0.85 and evaluation.outputs_are_probabilities
    assert evaluation.seconds > 0


def test_the_graders_copy_is_drawn_from_its_own_seed(good_model, sample, tmp_path):
    path = checks.save_for_grading(good_model, "seeded", tmp_path)
    preview = verdicts.evaluate_saved_model(path, "mnist")
    graders = verdicts.evaluate_saved_model(path, "mnist", copy_seed=731_406_289)
    again = verdicts.evaluate_saved_model(path, "mnist", copy_seed=731_406_289)
    assert graders.copy == "the grader's" and graders.accuracy == again.accuracy
    assert graders.published_accuracy == preview.published_accuracy
    # alike in kind: an honest model scores within a few tenths of a point on either copy
    assert abs(graders.accuracy - preview.accuracy) < 0.005
    assert graders.accuracy > graders.published_accuracy - 0.02


def test_the_perturbed_copy_moves_every_digit_a_little_and_depends_on_the_seed(sample):
    from grader.transforms import perturbed, probe

    _, (x_test, _) = sample
    images = x_test[:300]
    first, again, other = perturbed(images, 5), perturbed(images, 5), perturbed(images, 6)
    assert first.dtype == np.uint8 and first.shape == images.shape
    assert np.array_equal(first, again) and not np.array_equal(first, other)
    # no image survives exactly, so nothing can be looked up by its pixels ...
    assert not any(np.array_equal(a, b) for a, b in zip(first, images))
    # ... yet each stays close to its original: a small mean change, the ink mostly kept
    change = np.abs(first.astype(int) - images).mean(axis=(1, 2))
    assert np.median(change) < 15
    ink = first.sum(axis=(1, 2)) / images.sum(axis=(1, 2))
    assert 0.85 < np.median(ink) < 1.05
    # the probe moves the digits further than the graded copy does
    probed = np.abs(probe(images, 5).astype(int) - images).mean(axis=(1, 2))
    assert np.median(probed) > np.median(change)
    assert perturbed(images[:5, ..., None]).shape == (5, 28, 28, 1)


def test_a_target_calibrated_before_the_copy_is_scored_on_the_published_images(good_model, tmp_path):
    path = checks.save_for_grading(good_model, "older", tmp_path)
    older = {"targets": {"mnist": {"runs": [{"seed": 0, "accuracy": 0.9}]}}}
    evaluation = verdicts.evaluate_as_registered(path, older, "mnist", copy_seed=11)
    assert evaluation.copy == "none" and evaluation.accuracy == evaluation.published_accuracy
    newer = {"targets": {"mnist": {"runs": [{"seed": 0, "accuracy": 0.9,
                                             "published_accuracy": 0.91, "probe_accuracy": 0.88}]}}}
    evaluation = verdicts.evaluate_as_registered(path, newer, "mnist", copy_seed=11)
    assert evaluation.copy == "the grader's"


@pytest.mark.parametrize("dataset", data.DATASETS)
def test_every_target_is_calibrated_on_the_copy_with_its_probe(dataset):
    """Every graded model scored on the copy, and looked at for memorising, with a ratio
    measured over several honest runs."""
    from grader.targets import graded_models, scored_on_copy, target_for

    for name, entry in graded_models().items():
        assert scored_on_copy(entry, dataset), name
        assert len(entry["targets"][dataset]["runs"]) >= 5, name
        ratio = target_for(name, dataset).probe_error_ratio
        assert ratio is not None and 0.9 < ratio < 4.0, (name, ratio)


def lookup_model(x_test, y_test):
    """A model of stock Keras layers that answers by finding the nearest published test image
    (7x7 averages, cosine similarity): a cheat that knows every test image by heart."""
    pooled = x_test.reshape(-1, 7, 4, 7, 4).mean(axis=(2, 4)).reshape(len(x_test), 49)
    pooled /= np.linalg.norm(pooled, axis=1, keepdims=True)
    inputs = keras.Input((784,))
    small = keras.layers.Flatten()(keras.layers.AveragePooling2D(4)(
        keras.layers.Reshape((28, 28, 1))(inputs)))
    match = keras.layers.Dense(len(x_test), use_bias=False)
    similar = keras.layers.Softmax()(keras.layers.Rescaling(500.0)(
        match(keras.layers.UnitNormalization()(small))))
    vote = keras.layers.Dense(10, use_bias=False, activation="softmax")
    model = keras.Model(inputs, vote(similar))
    match.set_weights([pooled.T.astype("float32")])
    vote.set_weights([20 * np.eye(10, dtype="float32")[y_test]])
    return model


def test_a_model_that_knows_the_test_images_by_heart_is_named(sample, tmp_path):
    _, (x_test, y_test) = sample
    path = checks.save_for_grading(lookup_model(x_test, y_test), "lookup", tmp_path)
    evaluation = verdicts.evaluate_saved_model(path, "mnist", copy_seed=11)
    assert evaluation.published_accuracy > 0.999  # it knows them all ...
    assert evaluation.accuracy > 0.99  # ... so well that even the graded copy is no obstacle:
    verdict = verdicts.accuracy_verdict(evaluation, 0.9, "model", probe_error_ratio=2.5)
    assert "published test images" in verdict and "trained on the test images" in verdict
    assert verdicts.memorised(evaluation, 2.5)


def test_an_honest_model_is_not_taken_for_a_memoriser(good_model, tmp_path):
    path = checks.save_for_grading(good_model, "honest", tmp_path)
    evaluation = verdicts.evaluate_saved_model(path, "mnist", copy_seed=11)
    # even against a ratio far below the calibrated answers' (about 2)
    assert not verdicts.memorised(evaluation, 1.0)
    assert verdicts.accuracy_verdict(evaluation, 0.5, "model", probe_error_ratio=1.0) is None


@pytest.mark.separate_process
def test_untrained_model_misses_target(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CheckFailed, match="the target is"):
        checks.assert_accuracy(mlp(), "02-pipeline-mlp", "mnist")
    assert (tmp_path / "graded-models" / "02-pipeline-mlp.keras").exists()


def test_unnormalised_training_is_named(sample, tmp_path):
    path = checks.save_for_grading(trained(sample, scale=1.0, epochs=1), "raw", tmp_path)
    evaluation = verdicts.evaluate_saved_model(path, "mnist")
    verdict = verdicts.accuracy_verdict(evaluation, 0.99, "model")
    assert "not scaled to [0, 1]" in verdict


def test_pickled_model_is_refused(good_model, tmp_path):
    path = tmp_path / "model.keras"
    path.write_bytes(pickle.dumps([w.numpy() for w in good_model.weights]))
    with pytest.raises(CheckFailed, match="pickle"):
        verdicts.evaluate_saved_model(path, "mnist")


def test_missing_file_says_what_to_run(tmp_path):
    with pytest.raises(CheckFailed, match="No saved model"):
        verdicts.evaluate_saved_model(tmp_path / "absent.keras", "mnist")


def test_wrong_input_size_is_explained(tmp_path):
    model = keras.Sequential([keras.Input((32, 32, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    path = checks.save_for_grading(model, "wrong-input", tmp_path)
    with pytest.raises(CheckFailed, match="expects inputs of shape"):
        verdicts.evaluate_saved_model(path, "mnist")


def test_dropout_active_at_inference_is_named(good_model, tmp_path):
    """``training=True`` wired into a functional model keeps dropout on in ``model(x)``; predict
    hides it, so the grader also calls the model directly."""
    inputs = keras.Input((784,))
    hidden = good_model.layers[1](good_model.layers[0](inputs))
    hidden = keras.layers.Dropout(0.5, name="always_on")(hidden, training=True)
    model = keras.Model(inputs, good_model.layers[2](hidden))
    path = checks.save_for_grading(model, "noisy", tmp_path)
    evaluation = verdicts.evaluate_saved_model(path, "mnist")
    assert evaluation.random_at_inference and evaluation.random_layers == ("always_on",)
    verdict = verdicts.accuracy_verdict(evaluation, 0.0, "model")
    assert "still active at inference (always_on called with training=True)" in verdict


def test_deterministic_model_is_not_flagged(good_model, tmp_path):
    model = keras.Sequential([keras.Input((784,)), good_model.layers[0], keras.layers.Dropout(0.5),
                              good_model.layers[1], good_model.layers[2]])
    evaluation = verdicts.evaluate_saved_model(checks.save_for_grading(model, "d", tmp_path), "mnist")
    assert not evaluation.random_at_inference and evaluation.random_layers == ()
    assert evaluation.train_accuracy is None and evaluation.gap is None


def test_train_test_gap_over_the_bound_is_named(sample, tmp_path):
    overfit = trained(sample, epochs=12)  # on the first 5,000 training digits
    path = checks.save_for_grading(overfit, "overfit", tmp_path)
    # Scored on the images it trained on (as lesson 05 registers with `train_images`) ...
    evaluation = verdicts.evaluate_saved_model(path, "mnist", train=True, train_images=5000)
    # ... not on 10,000 drawn from all 60,000, most of which it never saw.
    drawn = verdicts.evaluate_saved_model(path, "mnist", train=True)
    assert evaluation.train_accuracy > drawn.train_accuracy + 0.02
    assert evaluation.accuracy == drawn.accuracy
    assert evaluation.train_accuracy > evaluation.accuracy
    # like with like: the training images and the test images both as published
    assert evaluation.gap == pytest.approx(evaluation.train_accuracy - evaluation.published_accuracy)
    verdict = verdicts.accuracy_verdict(evaluation, 0.5, "model", max_gap=evaluation.gap - 0.01)
    assert "over-fits" in verdict and f"a gap of {evaluation.gap:.2%}" in verdict
    assert verdicts.accuracy_verdict(evaluation, 0.5, "model", max_gap=evaluation.gap + 0.01) is None


def test_a_lessons_own_advice_replaces_the_generic_one(good_model, tmp_path):
    evaluation = verdicts.evaluate_saved_model(checks.save_for_grading(good_model, "a", tmp_path),
                                             "mnist")
    generic = verdicts.accuracy_verdict(evaluation, 0.999, "model")
    assert "Train longer" in generic
    advised = verdicts.accuracy_verdict(evaluation, 0.999, "model", advice="Use ReLU and He init.")
    assert advised.endswith("Use ReLU and He init.") and "Train longer" not in advised


def test_shifted_rotated_copy_is_deterministic_and_moves_every_digit(sample):
    from grader.transforms import shifted_rotated

    _, (x_test, _) = sample
    first, again = shifted_rotated(x_test[:200]), shifted_rotated(x_test[:200])
    assert first.dtype == np.uint8 and first.shape == (200, 28, 28)
    assert np.array_equal(first, again)
    moved = np.abs(first.astype(int) - x_test[:200]).sum(axis=(1, 2))
    assert (moved > 0).all()
    ink = first.sum(axis=(1, 2)) / x_test[:200].sum(axis=(1, 2))
    assert 0.8 < np.median(ink) < 1.1  # moved and turned, not cropped away
    assert shifted_rotated(x_test[:5, ..., None]).shape == (5, 28, 28, 1)


def test_a_model_can_be_graded_on_the_shifted_rotated_copy(good_model, tmp_path):
    path = checks.save_for_grading(good_model, "robust", tmp_path)
    plain = verdicts.evaluate_saved_model(path, "mnist")
    moved = verdicts.evaluate_saved_model(path, "mnist", variant="shifted-rotated")
    assert moved.variant == "shifted-rotated" and plain.variant is None
    assert moved.accuracy < plain.accuracy - 0.1  # an MLP without augmentation is not robust
    verdict = verdicts.accuracy_verdict(moved, 0.99, "model")
    assert "shifted-rotated test images" in verdict


def test_channels_first_input_to_channels_last_convolutions_is_named(tmp_path):
    model = keras.Sequential([keras.Input((1, 28, 28)), keras.layers.Conv2D(4, 5, padding="same"),
                              keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
    path = checks.save_for_grading(model, "first", tmp_path)
    with pytest.raises(CheckFailed, match=r"channels_first \(N, C, H, W\).*keras.Input\(shape=\(28, 28, 1\)\)"):
        verdicts.evaluate_saved_model(path, "mnist")


def augmented(training_flag=None):
    inputs = keras.Input((28, 28, 1))
    turn = keras.layers.RandomRotation(0.05, name="turn")
    moved = turn(inputs) if training_flag is None else turn(inputs, training=training_flag)
    hidden = keras.layers.Dense(16, activation="relu")(keras.layers.Flatten()(moved))
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(hidden))


@pytest.mark.parametrize("training_flag", [None, True])
def test_augmentation_inside_a_model_is_not_random_at_inference(tmp_path, training_flag):
    """Keras 3's augmentation layers default to training=True (a bare model(x) augments, and
    the config records training=True even when nobody wrote it), yet predict and
    model(x, training=False) switch them off: a model with augmentation inside is graded as
    deterministic, wired or not."""
    path = checks.save_for_grading(augmented(training_flag), "aug", tmp_path)
    evaluation = verdicts.evaluate_saved_model(path, "mnist")
    assert not evaluation.random_at_inference and evaluation.random_layers == ()


def test_augmentation_kept_on_at_inference_is_named(tmp_path):
    """A noise augmentation wired with training=True stays on in the grader's model(x) calls
    (GaussianNoise's call defaults to training=False, so the wiring is the student's)."""
    inputs = keras.Input((28, 28, 1))
    noisy = keras.layers.GaussianNoise(0.5, name="noise")(inputs, training=True)
    hidden = keras.layers.Dense(16, activation="relu")(keras.layers.Flatten()(noisy))
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(hidden))
    evaluation = verdicts.evaluate_saved_model(checks.save_for_grading(model, "n", tmp_path), "mnist")
    assert evaluation.random_at_inference and evaluation.random_layers == ("noise",)
    verdict = verdicts.accuracy_verdict(evaluation, 0.0, "model")
    assert "still active at inference (noise called with training=True)" in verdict
    assert "random augmentation must only act while training" in verdict


def test_augmentation_forced_on_through_a_lambda_is_refused(tmp_path):
    """The one wiring Keras' predict cannot switch off, a Lambda that calls the augmentation
    with training=True, is Python code: the safe load refuses it and says so."""
    turn = keras.layers.RandomRotation(0.2)
    inputs = keras.Input((28, 28, 1))
    turned = keras.layers.Lambda(lambda x: turn(x, training=True), name="always_turn")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(
        keras.layers.Flatten()(turned)))
    path = tmp_path / "lambda.keras"
    model.save(path)
    with pytest.raises(CheckFailed, match="Lambda layer or other Python code"):
        verdicts.evaluate_saved_model(path, "mnist")
