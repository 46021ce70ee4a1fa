"""Costs of a deployed detector: latency, throughput, size, export, streaming.

Reddy et al. 2025 (doi:10.5281/zenodo.17376640) call their CNN-LSTM fit for
real-time intrusion detection without measuring its speed or size. The
functions here measure both for any model, export a Keras model to the
formats that edge runtimes load, and score flows in batches as they arrive.

API summary
-----------
``time_calls(predict, X, n_calls=100, rows_per_call=1, warmup=3) -> ndarray``
    Wall-clock seconds of each of ``n_calls`` calls on consecutive rows.
``latency_summary(seconds) -> dict``
    Median, 95th percentile and max in milliseconds.
``throughput(predict, X) -> float``
    Rows per second of one call on all rows.
``size_on_disk(path) -> int``
    Bytes of a file, or of every file under a folder.
``save_forest(model, path) -> Path``
    A scikit-learn model in joblib format, written atomically.
``export_tflite(model, path, batch_size=1) -> Path``, ``TFLiteModel(path)``
    A Keras model as a TensorFlow Lite flat buffer, and a runner for it.
``export_onnx(model, path, opset=17) -> Path``, ``OnnxModel(path)``
    A Keras model as ONNX (with tf2onnx), and a runner (with onnxruntime).
``max_difference(a, b) -> float``
    Largest absolute difference between two arrays of probabilities.
``update_confusion(matrix, y_true, y_pred)``, ``scores_from_confusion(matrix)``
    A confusion matrix updated batch by batch, and the scores it implies.
``StreamingScorer(predict, n_classes=12)``
    Scores batches of flows as they arrive and keeps the running confusion
    matrix, scores and per-batch time.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from iotlab.preprocessing import CLASS_NAMES, N_CLASSES, encode_labels

logger = logging.getLogger(__name__)

#: ONNX operator set used by ``export_onnx``; onnxruntime 1.20 and later run it.
ONNX_OPSET = 17


class DeploymentError(ValueError):
    """An argument that a deployment measurement or export cannot use."""


def _rows(X) -> int:
    return X.shape[0] if hasattr(X, "shape") else len(X)


def _slice(X, start: int, stop: int):
    return (
        X.iloc[start:stop]
        if isinstance(X, (pd.DataFrame, pd.Series))
        else X[start:stop]
    )


def time_calls(
    predict: Callable,
    X,
    n_calls: int = 100,
    rows_per_call: int = 1,
    warmup: int = 3,
) -> np.ndarray:
    """Time single calls of a prediction function, as a detector meets flows.

    Each call receives the next ``rows_per_call`` rows of ``X`` as a 2-D
    slice, starting over at the top when ``X`` runs out, so every call gets
    an input of the same shape. The first ``warmup`` calls are not timed: they
    include one-time costs such as building a TensorFlow graph.

    Parameters
    ----------
    predict : callable
        ``predict(X_batch)``; its result is ignored.
    X : array-like or pandas.DataFrame
        Rows to feed, at least ``rows_per_call`` of them.
    n_calls : int, default 100
    rows_per_call : int, default 1
    warmup : int, default 3

    Returns
    -------
    numpy.ndarray
        Seconds per timed call, ``n_calls`` values.
    """
    n_rows = _rows(X)
    if n_calls < 1 or rows_per_call < 1 or warmup < 0:
        raise DeploymentError(
            f"n_calls and rows_per_call must be at least 1 and warmup at least 0, "
            f"got {n_calls}, {rows_per_call} and {warmup}."
        )
    if n_rows < rows_per_call:
        raise DeploymentError(
            f"X has {n_rows} rows, fewer than rows_per_call={rows_per_call}."
        )
    starts = (np.arange(warmup + n_calls) * rows_per_call) % (
        n_rows - rows_per_call + 1
    )
    seconds = np.empty(n_calls)
    for call, start in enumerate(starts):
        batch = _slice(X, int(start), int(start) + rows_per_call)
        began = time.perf_counter()
        predict(batch)
        elapsed = time.perf_counter() - began
        if call >= warmup:
            seconds[call - warmup] = elapsed
    return seconds


def latency_summary(seconds) -> dict[str, float]:
    """Summarise call times in milliseconds.

    Parameters
    ----------
    seconds : array-like
        Seconds per call, from :func:`time_calls`.

    Returns
    -------
    dict
        ``median_ms``, ``p95_ms`` (95th percentile) and ``max_ms``.
    """
    values = np.asarray(seconds, dtype=float) * 1000.0
    if values.size == 0:
        raise DeploymentError("seconds is empty; time at least one call.")
    return {
        "median_ms": float(np.median(values)),
        "p95_ms": float(np.percentile(values, 95)),
        "max_ms": float(values.max()),
    }


def throughput(predict: Callable, X) -> float:
    """Measure rows per second of one prediction call on all rows of ``X``.

    One untimed call on the first row comes first, so that one-time costs
    do not count.

    Parameters
    ----------
    predict : callable
    X : array-like or pandas.DataFrame

    Returns
    -------
    float
        Rows per second.
    """
    n_rows = _rows(X)
    if n_rows == 0:
        raise DeploymentError("X has no rows; pass the rows to score.")
    predict(_slice(X, 0, 1))
    began = time.perf_counter()
    predict(X)
    return n_rows / (time.perf_counter() - began)


def size_on_disk(path) -> int:
    """Return the bytes of a file, or the total of every file under a folder."""
    path = Path(path)
    if path.is_file():
        return path.stat().st_size
    if path.is_dir():
        return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())
    raise FileNotFoundError(f"No file or folder at {str(path)!r}.")


def _temporary_sibling(path: Path) -> Path:
    return path.with_name(f".{path.stem}.partial{path.suffix}")


def _write_bytes_atomically(path: Path, data: bytes) -> Path:
    temporary = _temporary_sibling(path)
    try:
        temporary.write_bytes(data)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def _check_suffix(path, suffix: str) -> Path:
    path = Path(path)
    if path.suffix != suffix:
        raise DeploymentError(f"Model path {str(path)!r} must end in {suffix}.")
    if not path.parent.is_dir():
        raise DeploymentError(
            f"The folder {str(path.parent)!r} does not exist; create it first."
        )
    return path


def save_forest(model, path) -> Path:
    """Save a fitted scikit-learn model with joblib, replacing ``path`` when complete.

    Parameters
    ----------
    model : estimator
    path : str or Path
        Must end in ``.joblib``.

    Returns
    -------
    Path
    """
    import joblib

    path = _check_suffix(path, ".joblib")
    temporary = _temporary_sibling(path)
    try:
        joblib.dump(model, temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def _n_features(model) -> int:
    shape = model.input_shape
    if not isinstance(shape, tuple) or len(shape) != 2 or shape[1] is None:
        raise DeploymentError(
            f"The model's input shape is {shape}; export needs a model that takes "
            "(rows, features), as the iotlab.models builders make."
        )
    return int(shape[1])


def export_tflite(model, path, batch_size: int = 1) -> Path:
    """Convert a Keras model to a TensorFlow Lite flat buffer.

    The model is first exported as a TensorFlow SavedModel with a fixed
    input shape (``batch_size``, features), then converted with
    ``tf.lite.TFLiteConverter`` using built-in TFLite operations only.

    Parameters
    ----------
    model : keras.Model
        Takes (rows, features) and outputs class probabilities.
    path : str or Path
        Must end in ``.tflite``.
    batch_size : int, default 1
        Rows per call of the converted model. :class:`TFLiteModel` pads the
        last batch.

    Returns
    -------
    Path

    Notes
    -----
    With TensorFlow 2.21 and Keras 3, converting the LSTM layers with a
    variable batch size fails ("'tf.TensorListReserve' op requires
    element_shape to be static"), which is why the batch size is fixed. The
    alternative, TensorFlow ops in the flat buffer (``SELECT_TF_OPS``),
    needs the larger Flex runtime on the device.
    """
    import tensorflow as tf

    path = _check_suffix(path, ".tflite")
    if batch_size < 1:
        raise DeploymentError(f"batch_size must be at least 1, got {batch_size!r}.")
    signature = [
        tf.TensorSpec([batch_size, _n_features(model)], tf.float32, name="features")
    ]
    with tempfile.TemporaryDirectory(prefix="iotlab-export-") as folder:
        saved_model = Path(folder) / "saved_model"
        model.export(
            str(saved_model),
            format="tf_saved_model",
            input_signature=signature,
            verbose=False,
        )
        flat_buffer = tf.lite.TFLiteConverter.from_saved_model(
            str(saved_model)
        ).convert()
    logger.info("wrote a TFLite model of %d bytes to %s", len(flat_buffer), path)
    return _write_bytes_atomically(path, flat_buffer)


def _tflite_interpreter(path: Path, num_threads: int):
    try:
        # LiteRT is TensorFlow Lite's runtime as a separate package, with the
        # same Interpreter API.
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        import tensorflow as tf

        Interpreter = tf.lite.Interpreter
    with warnings.catch_warnings():
        # NOTE: TensorFlow 2.21 warns that tf.lite.Interpreter is deprecated
        # in favour of ai_edge_litert, but it still ships and works.
        warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated")
        return Interpreter(model_path=str(path), num_threads=num_threads)


class TFLiteModel:
    """Run a ``.tflite`` classifier written by :func:`export_tflite`.

    Parameters
    ----------
    path : str or Path
    num_threads : int, default 1

    Attributes
    ----------
    batch_size : int
        Rows per interpreter call, fixed at export.
    n_features : int
    """

    def __init__(self, path, num_threads: int = 1):
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(
                f"No TFLite model at {str(path)!r}; export one first."
            )
        self.path = path
        self.interpreter = _tflite_interpreter(path, num_threads)
        self.interpreter.allocate_tensors()
        self._input = self.interpreter.get_input_details()[0]
        self._output = self.interpreter.get_output_details()[0]
        self.batch_size, self.n_features = (int(n) for n in self._input["shape"])

    def predict_proba(self, X) -> np.ndarray:
        """Return class probabilities, calling the interpreter batch by batch."""
        values = np.asarray(X, dtype=np.float32)
        if values.ndim != 2 or values.shape[1] != self.n_features:
            raise DeploymentError(
                f"X has shape {values.shape}; the model expects (rows, "
                f"{self.n_features})."
            )
        outputs = []
        for start in range(0, len(values), self.batch_size):
            batch = values[start : start + self.batch_size]
            n_rows = len(batch)
            if n_rows < self.batch_size:
                padding = np.zeros(
                    (self.batch_size - n_rows, self.n_features), np.float32
                )
                batch = np.concatenate([batch, padding])
            self.interpreter.set_tensor(self._input["index"], batch)
            self.interpreter.invoke()
            outputs.append(self.interpreter.get_tensor(self._output["index"])[:n_rows])
        if not outputs:
            return np.empty((0, int(self._output["shape"][-1])), dtype=np.float32)
        return np.concatenate(outputs)

    def predict(self, X) -> np.ndarray:
        """Return the class index with the highest probability per row."""
        return self.predict_proba(X).argmax(axis=1)


def export_onnx(model, path, opset: int = ONNX_OPSET) -> Path:
    """Convert a Keras model to ONNX with tf2onnx, with a variable batch size.

    Parameters
    ----------
    model : keras.Model
    path : str or Path
        Must end in ``.onnx``.
    opset : int, default ``ONNX_OPSET``

    Returns
    -------
    Path
    """
    import tensorflow as tf
    import tf2onnx

    path = _check_suffix(path, ".onnx")
    signature = (
        tf.TensorSpec((None, _n_features(model)), tf.float32, name="features"),
    )
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=signature, opset=opset)
    data = proto.SerializeToString()
    logger.info("wrote an ONNX model of %d bytes to %s", len(data), path)
    return _write_bytes_atomically(path, data)


class OnnxModel:
    """Run an ``.onnx`` classifier with onnxruntime on the CPU.

    Parameters
    ----------
    path : str or Path
    num_threads : int, default 1
    """

    def __init__(self, path, num_threads: int = 1):
        import onnxruntime

        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(
                f"No ONNX model at {str(path)!r}; export one first."
            )
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = num_threads
        options.inter_op_num_threads = num_threads
        self.path = path
        self.session = onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
        self._input_name = self.session.get_inputs()[0].name

    def predict_proba(self, X) -> np.ndarray:
        """Return class probabilities."""
        values = np.asarray(X, dtype=np.float32)
        return self.session.run(None, {self._input_name: values})[0]

    def predict(self, X) -> np.ndarray:
        """Return the class index with the highest probability per row."""
        return self.predict_proba(X).argmax(axis=1)


def max_difference(a, b) -> float:
    """Return the largest absolute difference between two arrays of equal shape."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise DeploymentError(f"Shapes differ: {a.shape} and {b.shape}.")
    return float(np.abs(a - b).max()) if a.size else 0.0


def update_confusion(matrix: np.ndarray, y_true, y_pred) -> np.ndarray:
    """Add one batch of predictions to a confusion matrix, in place.

    Parameters
    ----------
    matrix : numpy.ndarray of shape (n_classes, n_classes)
        Counts so far: rows are true classes, columns predicted classes.
    y_true, y_pred : array-like
        Classes of the batch (names or indices).

    Returns
    -------
    numpy.ndarray
        ``matrix``, updated.
    """
    true = encode_labels(y_true)
    pred = encode_labels(y_pred)
    if true.size != pred.size:
        raise DeploymentError(
            f"y_true has {true.size} rows but y_pred has {pred.size}; pass one "
            "prediction per row."
        )
    np.add.at(matrix, (true, pred), 1)
    return matrix


def scores_from_confusion(matrix: np.ndarray) -> dict:
    """Compute accuracy, macro-F1 and per-class recall from a confusion matrix.

    Macro-F1 averages the F1 of the classes that occur as a true or a
    predicted class, as ``sklearn.metrics.f1_score(average="macro")`` does
    on the underlying rows. A class with no predictions has precision 0.

    Parameters
    ----------
    matrix : numpy.ndarray of shape (n_classes, n_classes)
        Rows are true classes, columns predicted classes, in the order of
        ``CLASS_NAMES``.

    Returns
    -------
    dict
        ``rows``, ``accuracy``, ``macro_f1``, and ``recall`` and ``support``
        (Series indexed by class name, classes with rows only).
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise DeploymentError(f"matrix must be square, got shape {matrix.shape}.")
    total = matrix.sum()
    if total == 0:
        raise DeploymentError("The confusion matrix is empty; score a batch first.")
    hits = np.diag(matrix)
    support = matrix.sum(axis=1)
    predicted = matrix.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(support > 0, hits / support, 0.0)
        precision = np.where(predicted > 0, hits / predicted, 0.0)
        f1 = np.where(
            precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0
        )
    present = (support > 0) | (predicted > 0)
    names = np.asarray(CLASS_NAMES[: len(matrix)], dtype=object)
    with_rows = support > 0
    return {
        "rows": int(total),
        "accuracy": float(hits.sum() / total),
        "macro_f1": float(f1[present].mean()),
        "recall": pd.Series(recall[with_rows], index=names[with_rows], name="recall"),
        "support": pd.Series(
            support[with_rows].astype(int), index=names[with_rows], name="support"
        ),
    }


class StreamingScorer:
    """Score flows in batches as they arrive, keeping a running confusion matrix.

    Parameters
    ----------
    predict : callable
        ``predict(flows) -> class indices`` for a batch of raw flows. It
        includes the preprocessing, so that the scorer gets the input a
        detector on the network gets.
    n_classes : int, default 12

    Attributes
    ----------
    confusion_ : numpy.ndarray of shape (n_classes, n_classes)
        Counts so far, rows true and columns predicted classes.
    history_ : list of dict
        After each batch: ``batch``, ``rows`` (so far), ``seconds`` (time to
        predict the batch), ``accuracy`` and ``macro_f1`` (so far).
    """

    def __init__(self, predict: Callable, n_classes: int = N_CLASSES):
        self.predict = predict
        self.n_classes = n_classes
        self.confusion_ = np.zeros((n_classes, n_classes), dtype=np.int64)
        self.history_: list[dict] = []

    def update(self, flows, y_true) -> np.ndarray:
        """Predict one batch, add it to the confusion matrix and return the predictions.

        Parameters
        ----------
        flows : pandas.DataFrame
            The batch's raw flows.
        y_true : array-like
            Their true classes, when known (for example from a labelled
            replay). Scores need them.

        Returns
        -------
        numpy.ndarray of int
            Predicted class indices.
        """
        began = time.perf_counter()
        predicted = encode_labels(np.asarray(self.predict(flows)))
        seconds = time.perf_counter() - began
        update_confusion(self.confusion_, y_true, predicted)
        scores = scores_from_confusion(self.confusion_)
        self.history_.append(
            {
                "batch": len(self.history_) + 1,
                "rows": scores["rows"],
                "seconds": seconds,
                "accuracy": scores["accuracy"],
                "macro_f1": scores["macro_f1"],
            }
        )
        return predicted

    def confusion_frame(self) -> pd.DataFrame:
        """Return the confusion matrix with class names, over classes seen so far."""
        present = (self.confusion_.sum(axis=0) + self.confusion_.sum(axis=1)) > 0
        names = [name for name, keep in zip(CLASS_NAMES, present) if keep]
        return pd.DataFrame(
            self.confusion_[np.ix_(present, present)],
            index=pd.Index(names, name="true"),
            columns=pd.Index(names, name="predicted"),
        )

    def scores(self) -> dict:
        """Return :func:`scores_from_confusion` of the matrix so far."""
        return scores_from_confusion(self.confusion_)
