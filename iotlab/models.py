"""Keras 3 models of Reddy et al. 2025: CNN, LSTM and the CNN-LSTM hybrid.

Every model reads a row of F scaled features as a sequence of F timesteps
with one channel, shape (F, 1), which is how Table 2 of Reddy et al. 2025
(doi:10.5281/zenodo.17376640) feeds tabular flows to Conv1D and LSTM layers.
Each model starts with a ``Reshape`` layer, so it takes plain (n_rows, F)
arrays.

API summary
-----------
``build_cnn_lstm(n_features, n_classes=12, conv_filters=(64, 128),
kernel_size=3, pool_size=2, lstm_units=(128, 64), dense_units=128,
dropout=0.5) -> keras.Model``
    Table 2's hybrid: 215,820 trainable parameters with 12 classes.
``build_cnn(n_features, n_classes=12, ...)``, ``build_lstm(n_features, ...)``
    The CNN and LSTM baselines, with the hybrid's layer sizes.
``conv_output_length(n_features, n_blocks=2, kernel_size=3, pool_size=2)``
    Timesteps left after the Conv1D + MaxPool blocks (1 for 10 features,
    8 for 40).
``train(model, X_train, y_train, X_val, y_val, epochs=50, batch_size=32,
class_weight=None, patience=5, seed=0, verbose=2) -> keras.callbacks.History``
    Adam 1e-3, sparse categorical cross-entropy, tf.data input, early
    stopping on validation loss restoring the best weights.
``predict_proba(model, X, batch_size=1024) -> ndarray``
``save_model(model, path)``, ``load_model(path)``
    ``.keras`` format, written under a temporary name first.
``set_seed(seed)``, ``configure_threads(n)``
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from iotlab.features import MIN_CONV_FEATURES, check_conv_features
from iotlab.preprocessing import N_CLASSES

logger = logging.getLogger(__name__)

#: Deep model names in the order of Table 3 of Reddy et al. 2025.
DEEP_MODEL_NAMES: tuple[str, ...] = ("CNN", "LSTM", "CNN-LSTM")


def conv_output_length(
    n_features: int, n_blocks: int = 2, kernel_size: int = 3, pool_size: int = 2
) -> int:
    """Return the timesteps left after ``n_blocks`` Conv1D(valid) + MaxPool blocks.

    Each block maps L steps to floor((L - kernel_size + 1) / pool_size). The
    two blocks of Table 2 thus leave floor((floor((F - 2) / 2) - 2) / 2)
    steps: 1 for 10 features, 8 for 40, and none for fewer than 10.

    Parameters
    ----------
    n_features : int
        Input timesteps F.
    n_blocks, kernel_size, pool_size : int

    Returns
    -------
    int
        Remaining timesteps, 0 if a block has no input left.
    """
    length = n_features
    for _ in range(n_blocks):
        length = length - kernel_size + 1
        if length < 1:
            return 0
        length = length // pool_size
    return max(length, 0)


def _inputs(n_features: int):
    inputs = keras.Input(shape=(n_features,), name="features")
    # Features as timesteps with one channel: (F,) -> (F, 1).
    sequence = layers.Reshape((n_features, 1), name="as_sequence")(inputs)
    return inputs, sequence


def _conv_blocks(x, conv_filters, kernel_size, pool_size):
    for index, filters in enumerate(conv_filters, start=1):
        x = layers.Conv1D(
            filters,
            kernel_size,
            strides=1,
            padding="valid",
            activation="relu",
            name=f"conv{index}",
        )(x)
        x = layers.MaxPooling1D(pool_size, name=f"pool{index}")(x)
    return x


def _head(x, n_classes, dense_units, dropout):
    x = layers.Dense(dense_units, activation="relu", name="dense")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    return layers.Dense(n_classes, activation="softmax", name="softmax")(x)


def _seed_weights(seed: int | None) -> None:
    if seed is not None:
        keras.utils.set_random_seed(seed)


def _check_conv_input(n_features, conv_filters, kernel_size, pool_size):
    if (
        len(conv_filters) == 2
        and kernel_size == 3
        and pool_size == 2
        and n_features < MIN_CONV_FEATURES
    ):
        check_conv_features(n_features)
    if conv_output_length(n_features, len(conv_filters), kernel_size, pool_size) < 1:
        raise ValueError(
            f"{n_features} features leave no timestep after {len(conv_filters)} "
            f"Conv1D(kernel {kernel_size}) + MaxPool({pool_size}) blocks; "
            "select more features or use fewer blocks."
        )


def build_cnn_lstm(
    n_features: int,
    n_classes: int = N_CLASSES,
    conv_filters: tuple[int, ...] = (64, 128),
    kernel_size: int = 3,
    pool_size: int = 2,
    lstm_units: tuple[int, ...] = (128, 64),
    dense_units: int = 128,
    dropout: float = 0.5,
    seed: int | None = 0,
) -> keras.Model:
    """Build the CNN-LSTM hybrid of Table 2 of Reddy et al. 2025.

    Layers: Conv1D 64 (kernel 3, stride 1, ReLU) -> MaxPool 2 -> Conv1D 128 ->
    MaxPool 2 -> LSTM 128 (returning sequences) -> LSTM 64 -> Flatten ->
    Dense 128 ReLU -> Dropout 0.5 -> Dense softmax. With the defaults and 12
    classes it has 215,820 trainable parameters whatever F is, because the
    LSTM's weights do not depend on the sequence length.

    Parameters
    ----------
    n_features : int
        Input features F (at least ``MIN_CONV_FEATURES`` = 10 with the defaults).
    n_classes : int, default 12
    conv_filters : tuple of int, default (64, 128)
    kernel_size : int, default 3
    pool_size : int, default 2
    lstm_units : tuple of int, default (128, 64)
    dense_units : int, default 128
    dropout : float, default 0.5
    seed : int or None, default 0
        Seeds Python, NumPy and TensorFlow before the weights are created, so
        that a build gives the same initial weights every time; None leaves
        the random state as it is.

    Returns
    -------
    keras.Model
        Uncompiled; ``train`` compiles it.

    Raises
    ------
    iotlab.features.TooFewFeaturesError
        If ``n_features`` leaves no timestep for the LSTM.
    """
    _check_conv_input(n_features, conv_filters, kernel_size, pool_size)
    _seed_weights(seed)
    inputs, x = _inputs(n_features)
    x = _conv_blocks(x, conv_filters, kernel_size, pool_size)
    for index, units in enumerate(lstm_units, start=1):
        last = index == len(lstm_units)
        x = layers.LSTM(units, return_sequences=not last, name=f"lstm{index}")(x)
    x = layers.Flatten(name="flatten")(x)
    outputs = _head(x, n_classes, dense_units, dropout)
    return keras.Model(inputs, outputs, name="cnn_lstm")


def build_cnn(
    n_features: int,
    n_classes: int = N_CLASSES,
    conv_filters: tuple[int, ...] = (64, 128),
    kernel_size: int = 3,
    pool_size: int = 2,
    dense_units: int = 128,
    dropout: float = 0.5,
    seed: int | None = 0,
) -> keras.Model:
    """Build the CNN baseline: the hybrid's conv blocks, Flatten and head.

    Reddy et al. 2025 describe the CNN baseline as convolution and max
    pooling followed by dense ReLU layers and softmax, but give no sizes. The
    sizes here are the hybrid's, so that the two models differ only by the
    LSTMs.

    Parameters
    ----------
    n_features : int
        Input features F (at least 10 with the defaults).
    n_classes, conv_filters, kernel_size, pool_size, dense_units, dropout, seed
        As in ``build_cnn_lstm``.

    Returns
    -------
    keras.Model
    """
    _check_conv_input(n_features, conv_filters, kernel_size, pool_size)
    _seed_weights(seed)
    inputs, x = _inputs(n_features)
    x = _conv_blocks(x, conv_filters, kernel_size, pool_size)
    x = layers.Flatten(name="flatten")(x)
    outputs = _head(x, n_classes, dense_units, dropout)
    return keras.Model(inputs, outputs, name="cnn")


def build_lstm(
    n_features: int,
    n_classes: int = N_CLASSES,
    lstm_units: tuple[int, ...] = (128, 64),
    dense_units: int = 128,
    dropout: float = 0.5,
    seed: int | None = 0,
) -> keras.Model:
    """Build the LSTM baseline: stacked LSTMs over the F feature timesteps.

    Reddy et al. 2025 give no sizes for it; it uses the hybrid's LSTM and
    dense sizes without the conv blocks, so it reads all F timesteps.

    Parameters
    ----------
    n_features : int
    n_classes, lstm_units, dense_units, dropout, seed
        As in ``build_cnn_lstm``.

    Returns
    -------
    keras.Model
    """
    if n_features < 1:
        raise ValueError(f"n_features must be positive, got {n_features!r}.")
    _seed_weights(seed)
    inputs, x = _inputs(n_features)
    for index, units in enumerate(lstm_units, start=1):
        last = index == len(lstm_units)
        x = layers.LSTM(units, return_sequences=not last, name=f"lstm{index}")(x)
    outputs = _head(x, n_classes, dense_units, dropout)
    return keras.Model(inputs, outputs, name="lstm")


#: Model name -> builder, in the order of Table 3.
BUILDERS = {"CNN": build_cnn, "LSTM": build_lstm, "CNN-LSTM": build_cnn_lstm}


def set_seed(seed: int = 0, deterministic: bool = True) -> None:
    """Seed Python, NumPy and TensorFlow, and ask for deterministic ops.

    Parameters
    ----------
    seed : int, default 0
    deterministic : bool, default True
        Call ``tf.config.experimental.enable_op_determinism()``, which makes
        repeated runs on the same hardware give the same weights (and stays on
        for the rest of the process).
    """
    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()


def configure_threads(n_threads: int | None) -> bool:
    """Limit TensorFlow's CPU threads (intra- and inter-op) to ``n_threads``.

    Must run before TensorFlow executes its first operation; later calls
    cannot change the thread pools and only log a warning.

    Parameters
    ----------
    n_threads : int or None
        Threads per pool; None leaves TensorFlow's default (all cores).

    Returns
    -------
    bool
        True if the setting took effect.
    """
    if n_threads is None:
        return False
    if n_threads < 1:
        raise ValueError(f"n_threads must be at least 1, got {n_threads!r}.")
    try:
        tf.config.threading.set_intra_op_parallelism_threads(n_threads)
        tf.config.threading.set_inter_op_parallelism_threads(n_threads)
    except RuntimeError as error:
        logger.warning(
            "TensorFlow threads stay as they are (%s); call configure_threads "
            "before the first TensorFlow operation.",
            error,
        )
        return False
    return True


def _full_class_weights(class_weight: dict | None, n_classes: int) -> np.ndarray:
    weights = np.ones(n_classes, dtype=np.float32)
    if class_weight:
        for code, weight in class_weight.items():
            if not 0 <= int(code) < n_classes:
                raise ValueError(
                    f"class_weight has class index {code!r}, outside 0 .. "
                    f"{n_classes - 1}."
                )
            weights[int(code)] = weight
    return weights


def make_dataset(
    X,
    y,
    batch_size: int = 32,
    class_weight: dict | None = None,
    n_classes: int = N_CLASSES,
    shuffle: bool = True,
    seed: int = 0,
) -> tf.data.Dataset:
    """Build a batched ``tf.data`` pipeline of (features, class, sample weight).

    Class weights become per-row sample weights here. A class that
    ``class_weight`` leaves out gets weight 1.0 explicitly, where Keras'
    own ``class_weight`` on a ``tf.data`` input fails with an out-of-range
    index.

    The pipeline shuffles and batches row indices, not rows: each pass
    draws one permutation of all rows, cuts it into batches of indices and
    gathers each batch's rows in one operation. Shuffling the rows
    themselves through a buffer of every row took about 800 MiB more memory
    and 3 s more at the start of each epoch for 886,616 rows of 20 features
    (TensorFlow 2.21, 2 CPU cores), and costs one dataset operation per row
    where this pipeline needs one per batch.

    Parameters
    ----------
    X : array-like of shape (n_rows, n_features)
    y : array-like of int
        Class indices.
    batch_size : int, default 32
    class_weight : dict of int to float, optional
    n_classes : int, default 12
    shuffle : bool, default True
        Draw a new order of the rows on every pass (every epoch), seeded by
        ``seed``, so that two pipelines with the same seed give the same
        sequence of batches.
    seed : int, default 0

    Returns
    -------
    tf.data.Dataset
        Batches of (float32 features, int64 classes, float32 weights); the
        last batch holds the remaining rows when ``batch_size`` does not
        divide the number of rows.
    """
    features = np.asarray(X, dtype=np.float32)
    labels = np.asarray(y, dtype=np.int64)
    if len(features) != len(labels):
        raise ValueError(
            f"X has {len(features)} rows but y has {len(labels)}; pass matching rows."
        )
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(
            f"y contains class indices outside 0 .. {n_classes - 1}; encode labels "
            "with iotlab.preprocessing.encode_labels."
        )
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size!r}.")
    sample_weight = _full_class_weights(class_weight, n_classes)[labels]
    columns = (
        tf.constant(features),
        tf.constant(labels),
        tf.constant(sample_weight),
    )
    batches = _index_batches(len(labels), batch_size, shuffle, seed)
    # One gather per batch costs microseconds, so one thread with two batches
    # prefetched keeps the model fed. With autotuned thread pools, 4 of 8 runs
    # of the CNN-LSTM at batch 1024 on 2 CPU cores trained at about half speed.
    # They reached 12,600 to 13,200 samples/s against 22,600 to 26,600, while
    # none of 12 runs with one thread was slow (TensorFlow 2.21).
    dataset = batches.map(
        lambda rows: tuple(tf.gather(column, rows) for column in columns)
    ).prefetch(2)
    options = tf.data.Options()
    options.threading.private_threadpool_size = 1
    options.autotune.enabled = False
    # Keras' pipeline for NumPy input turns tf.data's default graph
    # optimizations off as well.
    options.experimental_optimization.apply_default_optimizations = False
    return dataset.with_options(options)


def _index_batches(
    n_rows: int, batch_size: int, shuffle: bool, seed: int
) -> tf.data.Dataset:
    """Return a dataset of int64 index batches covering ``range(n_rows)`` once."""
    if shuffle:
        # Dataset.random draws a new number on every pass, which seeds that
        # pass's permutation, so each epoch gets its own reproducible order.
        pass_seeds = tf.data.Dataset.random(
            seed=seed, rerandomize_each_iteration=True
        ).take(1)
        orders = pass_seeds.map(
            lambda pass_seed: tf.random.experimental.stateless_shuffle(
                tf.range(n_rows, dtype=tf.int64), seed=tf.stack([pass_seed, seed])
            )
        )
    else:
        orders = tf.data.Dataset.from_tensors(tf.range(n_rows, dtype=tf.int64))
    n_full = n_rows // batch_size
    remainder = n_rows - n_full * batch_size

    def split(order):
        full = tf.reshape(order[: n_full * batch_size], (n_full, batch_size))
        pieces = tf.data.Dataset.from_tensor_slices(full)
        if remainder:
            last = tf.data.Dataset.from_tensors(order[n_full * batch_size :])
            pieces = pieces.concatenate(last)
        return pieces

    # flat_map hides the number of batches, which Keras uses for its
    # progress bar, so state it.
    n_batches = n_full + (1 if remainder else 0)
    return orders.flat_map(split).apply(
        tf.data.experimental.assert_cardinality(n_batches)
    )


def compile_model(model: keras.Model, learning_rate: float = 1e-3) -> keras.Model:
    """Compile with Adam and sparse categorical cross-entropy.

    Sparse cross-entropy on class indices equals the categorical
    cross-entropy on one-hot labels of Reddy et al. 2025.
    """
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def train(
    model: keras.Model,
    X_train,
    y_train,
    X_val=None,
    y_val=None,
    epochs: int = 50,
    batch_size: int = 32,
    class_weight: dict | None = None,
    patience: int = 5,
    learning_rate: float = 1e-3,
    seed: int = 0,
    deterministic: bool = True,
    verbose: int | str = 2,
) -> keras.callbacks.History:
    """Train a model as Table 2 of Reddy et al. 2025 describes.

    Adam (learning rate 1e-3), batch 32, up to 50 epochs, early stopping on
    the validation loss with the best weights restored, and class weights in
    the loss. Seeds Python, NumPy and TensorFlow and enables deterministic
    ops first. The validation loss is unweighted.

    Parameters
    ----------
    model : keras.Model
        Compiled here with ``compile_model``.
    X_train, y_train : array-like
        Training features and class indices.
    X_val, y_val : array-like, optional
        Validation rows for early stopping; without them early stopping
        watches the training loss.
    epochs : int, default 50
    batch_size : int, default 32
    class_weight : dict of int to float, optional
        From ``iotlab.preprocessing.class_weights``.
    patience : int, default 5
        Epochs without improvement before stopping (Reddy et al. 2025 give
        no value).
    learning_rate : float, default 1e-3
    seed : int, default 0
    deterministic : bool, default True
        Enable TensorFlow's deterministic ops (see ``set_seed``).
        NOTE: only run on CPUs so far. On a GPU, an op without a
        deterministic kernel raises under this setting; pass False there.
    verbose : int or "auto", default 2
        Keras' ``fit`` verbosity: 0 silent, 1 progress bar, 2 a line per epoch.

    Returns
    -------
    keras.callbacks.History
        Per-epoch ``loss``, ``accuracy`` (and ``val_loss``, ``val_accuracy``).
    """
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs!r}.")
    set_seed(seed, deterministic=deterministic)
    n_classes = int(model.output_shape[-1])
    compile_model(model, learning_rate)
    train_data = make_dataset(
        X_train, y_train, batch_size, class_weight, n_classes, shuffle=True, seed=seed
    )
    val_data = None
    monitor = "loss"
    if X_val is not None and y_val is not None and len(y_val):
        val_data = make_dataset(
            X_val, y_val, batch_size * 4, None, n_classes, shuffle=False
        )
        monitor = "val_loss"
    stopper = keras.callbacks.EarlyStopping(
        monitor=monitor, patience=patience, restore_best_weights=True
    )
    return model.fit(
        train_data,
        validation_data=val_data,
        epochs=epochs,
        callbacks=[stopper],
        shuffle=False,  # the dataset reshuffles itself, seeded
        verbose=verbose,
    )


def predict_proba(model: keras.Model, X, batch_size: int = 1024) -> np.ndarray:
    """Return class probabilities of shape (n_rows, n_classes)."""
    return model.predict(
        np.asarray(X, dtype=np.float32), batch_size=batch_size, verbose=0
    )


def save_model(model: keras.Model, path) -> Path:
    """Save a model in the ``.keras`` format, replacing ``path`` only when complete.

    Parameters
    ----------
    model : keras.Model
    path : str or Path
        Must end in ``.keras``.

    Returns
    -------
    Path
    """
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"Model path {str(path)!r} must end in .keras.")
    temporary = path.with_name(f".{path.stem}.partial.keras")
    try:
        model.save(temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def load_model(path) -> keras.Model:
    """Load a model saved by ``save_model``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No model file at {str(path)!r}; save one first.")
    return keras.saving.load_model(path)
