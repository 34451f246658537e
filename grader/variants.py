"""Right answers other than the reference, for every trained-model exercise.

Each exercise leaves the student a choice (a width, an optimiser, a schedule, the API). A target
calibrated on the reference solution alone can fail a student who chose differently but well,
so ``grader calibrate`` runs each variant below in place of the reference answer, seed by seed,
and sets the target below the worst of them all. The end-to-end tests grade one variant per
exercise as a student's submission, which must score full marks.

A variant is the whole answer cell, as a student would write it: it uses only what the notebook
defines before that cell.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Variant:
    name: str     # recorded with its calibration runs in targets.json
    change: str   # what it chose differently from the reference, in words
    source: str   # the answer cell


REFERENCE = "reference"  # the solution notebook's own answer, as the runs record it

VARIANTS: dict[str, tuple[Variant, ...]] = {
    "02-pipeline-mlp": (
        Variant("functional-wide-rmsprop", "the functional API, 256 units, RMSprop, batch 128, "
                "4 epochs", """\
(x_tr, y_tr), (x_val, y_val) = split_validation(x_train, y_train, fraction=0.1, seed=0)
train_ds = make_dataset(x_tr, y_tr, batch_size=128, training=True)
val_ds = make_dataset(x_val, y_val, batch_size=128)

inputs = keras.Input(shape=(28, 28, 1))
hidden = keras.layers.Dense(256, activation="relu")(keras.layers.Flatten()(inputs))
pipeline_model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(hidden))
pipeline_model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=1e-3),
                       loss="sparse_categorical_crossentropy", metrics=["accuracy"])
pipeline_history = pipeline_model.fit(train_ds, validation_data=val_ds, epochs=4, verbose=0)
"""),
        Variant("narrow-sgd-momentum", "64 units, SGD with momentum, 8 epochs", """\
(x_tr, y_tr), (x_val, y_val) = split_validation(x_train, y_train, fraction=0.1, seed=0)
train_ds = make_dataset(x_tr, y_tr, batch_size=256, training=True)
val_ds = make_dataset(x_val, y_val, batch_size=256)

pipeline_model = keras.Sequential([
    keras.Input(shape=(28, 28, 1)),
    keras.layers.Flatten(),
    keras.layers.Dense(64, activation="relu"),
    keras.layers.Dense(10, activation="softmax"),
])
pipeline_model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1, momentum=0.9),
                       loss="sparse_categorical_crossentropy", metrics=["accuracy"])
pipeline_history = pipeline_model.fit(train_ds, validation_data=val_ds, epochs=8, verbose=0)
"""),
    ),
    "03-mlp": (
        Variant("add-rmsprop-batch64", "add() style, RMSprop, batch 64, 3 epochs", """\
mlp = keras.Sequential(name="mlp")
mlp.add(keras.Input(shape=(784,)))
mlp.add(layers.Dense(256, activation="relu"))
mlp.add(layers.Dense(128, activation="relu"))
mlp.add(layers.Dense(10, activation="softmax"))
mlp.compile(optimizer=keras.optimizers.RMSprop(learning_rate=1e-3),
            loss="sparse_categorical_crossentropy", metrics=["accuracy"])
mlp_history = mlp.fit(x_tr, y_tr, validation_data=(x_val, y_val), epochs=3, batch_size=64,
                      verbose=0)
"""),
        Variant("functional-sgd-momentum", "the functional API, SGD with momentum, 6 epochs",
                """\
inputs = keras.Input(shape=(784,))
hidden = layers.Dense(128, activation="relu")(layers.Dense(256, activation="relu")(inputs))
mlp = keras.Model(inputs, layers.Dense(10, activation="softmax")(hidden))
mlp.compile(optimizer=keras.optimizers.SGD(learning_rate=0.05, momentum=0.9),
            loss="sparse_categorical_crossentropy", metrics=["accuracy"])
mlp_history = mlp.fit(x_tr, y_tr, validation_data=(x_val, y_val), epochs=6, batch_size=128,
                      verbose=0)
"""),
    ),
    "04-deep-mlp": (
        Variant("elu-he-uniform", "ELU with He-uniform initialisation", """\
deep_mlp = keras.Sequential(
    [keras.Input(shape=(28, 28)), keras.layers.Flatten()]
    + [keras.layers.Dense(128, activation="elu", kernel_initializer="he_uniform")
       for _ in range(8)]
    + [keras.layers.Dense(10, activation="softmax")])
deep_mlp.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
                 loss="sparse_categorical_crossentropy", metrics=["accuracy"])
deep_history = deep_mlp.fit(x_train_f, y_train, epochs=2, batch_size=128, verbose=0)
"""),
        Variant("functional-leaky-relu", "the functional API, 10 Leaky ReLU layers, He-normal",
                """\
inputs = keras.Input(shape=(28, 28))
hidden = keras.layers.Flatten()(inputs)
for _ in range(10):
    hidden = keras.layers.Dense(128, activation="leaky_relu",
                                kernel_initializer="he_normal")(hidden)
deep_mlp = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(hidden))
deep_mlp.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
                 loss="sparse_categorical_crossentropy", metrics=["accuracy"])
deep_history = deep_mlp.fit(x_train_f, y_train, epochs=2, batch_size=128, verbose=0)
"""),
    ),
    "05-dropout-mlp": (
        Variant("deeper-three-layers", "three 256-unit layers, each followed by Dropout(0.5)",
                """\
dropout_model = keras.Sequential([keras.Input(shape=(28, 28)), keras.layers.Flatten(),
                                  keras.layers.Dropout(0.2)])
for _ in range(3):
    dropout_model.add(keras.layers.Dense(256, activation="relu"))
    dropout_model.add(keras.layers.Dropout(0.5))
dropout_model.add(keras.layers.Dense(10, activation="softmax"))
dropout_model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
dropout_history = dropout_model.fit(x_fit, y_fit, validation_data=(x_val, y_val),
                                    epochs=EPOCHS, batch_size=256, verbose=0)
"""),
        Variant("functional-api", "the functional API, the input dropout at 0.1", """\
inputs = keras.Input(shape=(28, 28))
hidden = keras.layers.Dropout(0.1)(keras.layers.Flatten()(inputs))
for _ in range(2):
    hidden = keras.layers.Dense(256, activation="relu")(hidden)
    hidden = keras.layers.Dropout(0.5)(hidden)
dropout_model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(hidden))
dropout_model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
dropout_history = dropout_model.fit(x_fit, y_fit, validation_data=(x_val, y_val),
                                    epochs=EPOCHS, batch_size=256, verbose=0)
"""),
    ),
    "06-augmented": (
        Variant("rotation-translation-zoom", "a zoom as well, a smaller turn", """\
augmented_model = keras.Sequential([
    keras.Input(shape=(28, 28, 1)),
    layers.RandomRotation(0.04, fill_mode="constant"),
    layers.RandomTranslation(0.1, 0.1, fill_mode="constant"),
    layers.RandomZoom(0.1, fill_mode="constant"),
    layers.Flatten(),
    layers.Dense(256, activation="relu"),
    layers.Dense(10, activation="softmax"),
])
augmented_model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                        metrics=["accuracy"])
augmented_history = augmented_model.fit(x_fit, y_fit, validation_data=(x_val_moved, y_val),
                                        epochs=EPOCHS, batch_size=128, verbose=0)
"""),
        Variant("functional-stronger-wider", "the functional API, stronger transforms, 512 "
                "units", """\
inputs = keras.Input(shape=(28, 28, 1))
moved = layers.RandomRotation(0.08, fill_mode="constant")(inputs)
moved = layers.RandomTranslation(0.12, 0.12, fill_mode="constant")(moved)
hidden = layers.Dense(512, activation="relu")(layers.Flatten()(moved))
augmented_model = keras.Model(inputs, layers.Dense(10, activation="softmax")(hidden))
augmented_model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                        metrics=["accuracy"])
augmented_history = augmented_model.fit(x_fit, y_fit, validation_data=(x_val_moved, y_val),
                                        epochs=EPOCHS, batch_size=128, verbose=0)
"""),
    ),
    "07-lenet5": (
        Variant("batch256-cosine", "batch 256, a cosine from 0.008 without warm-up, 6 epochs",
                """\
train_ds = (tf.data.Dataset.from_tensor_slices((x_fit, y_fit))
            .cache().shuffle(len(x_fit)).batch(256).prefetch(tf.data.AUTOTUNE))
steps = 6 * -(-len(x_fit) // 256)
lenet = build_lenet5()
lenet.compile(optimizer=keras.optimizers.Adam(
                  learning_rate=keras.optimizers.schedules.CosineDecay(8e-3, steps, alpha=0.02)),
              loss="sparse_categorical_crossentropy", metrics=["accuracy"],
              steps_per_execution=16)
history = lenet.fit(train_ds, validation_data=val_ds, epochs=6, verbose=0)
"""),
        Variant("arrays-cosine", "NumPy arrays, batch 128, a cosine from 0.003, 5 epochs", """\
lenet = build_lenet5()
schedule = keras.optimizers.schedules.CosineDecay(3e-3, decay_steps=5 * -(-len(x_fit) // 128),
                                                  alpha=0.02)
lenet.compile(optimizer=keras.optimizers.Adam(learning_rate=schedule),
              loss="sparse_categorical_crossentropy", metrics=["accuracy"])
history = lenet.fit(x_fit, y_fit, validation_data=(x_val, y_val), epochs=5, batch_size=128,
                    verbose=0)
"""),
    ),
}


def variants(model: str) -> tuple[Variant, ...]:
    return VARIANTS.get(model, ())
