"""The classical baselines of Reddy et al. 2025: LR, RBF SVM, DT and RF.

Reddy et al. 2025 (doi:10.5281/zenodo.17376640) give no hyperparameters for
the baselines, so these are scikit-learn's defaults, seeded (LR gets
``max_iter=1000`` so that it converges). The fit time of an exact RBF ``SVC``
grows faster than linearly in the training rows, roughly quadratically for
libsvm, so a fit on the million training rows of the full file is
impractical. The SVM therefore comes in two stated forms: the exact ``SVC``
on a stratified subsample, and a Nystroem kernel approximation with a linear
model on every training row.

API summary
-----------
``make_baselines(seed=0, svm="subsample", svm_max_samples=20_000,
n_estimators=100, n_jobs=None) -> dict[str, estimator]``
    ``{"LR", "SVM", "DT", "RF"}``, unfitted.
``SubsampledSVC(max_samples=20_000, seed=0, **svc_params)``
    Exact RBF ``SVC`` fitted on a class-stratified subsample.
``NystroemSVM(n_components=500, gamma="scale", seed=0)``
    Nystroem RBF features + ``SGDClassifier`` (hinge loss) on all rows.
``fit_timed(model, X, y) -> (model, seconds)``
    Fit and measure wall-clock seconds.
``predict_scores(model, X, n_classes=12) -> ndarray``
    Class scores in the fixed class order (probabilities where the model
    has them, else decision values), columns of classes unseen in training
    filled with the lowest score.
"""

from __future__ import annotations

import logging
import time

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import RandomForestClassifier
from sklearn.kernel_approximation import Nystroem
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils.validation import check_is_fitted

from iotlab.preprocessing import N_CLASSES, subsample_rows

logger = logging.getLogger(__name__)

#: Baseline names in the order of Table 3 of Reddy et al. 2025.
BASELINE_NAMES: tuple[str, ...] = ("LR", "SVM", "DT", "RF")


class SubsampledSVC(ClassifierMixin, BaseEstimator):
    """Exact RBF ``SVC`` fitted on a class-stratified subsample.

    Every class keeps at least one row of the subsample, so rare classes such
    as ARP Spoofing are still learned.

    Parameters
    ----------
    max_samples : int or None, default 20_000
        Training rows used; None uses all of them (hours on a million rows).
    seed : int, default 0
        Seed of the subsample.
    C, gamma : float or str
        Passed to ``sklearn.svm.SVC(kernel="rbf")``.

    Attributes
    ----------
    svc_ : sklearn.svm.SVC
    n_fit_rows_ : int
        Rows the SVC was fitted on.
    classes_ : ndarray
    """

    def __init__(
        self,
        max_samples: int | None = 20_000,
        seed: int = 0,
        C: float = 1.0,
        gamma: float | str = "scale",
    ):
        self.max_samples = max_samples
        self.seed = seed
        self.C = C
        self.gamma = gamma

    def fit(self, X, y) -> SubsampledSVC:
        """Fit the SVC on a stratified subsample of (X, y)."""
        values = np.asarray(X, dtype=np.float64)
        y = np.asarray(y)
        if self.max_samples is not None and len(values) > self.max_samples:
            rows = subsample_rows(y, self.max_samples, self.seed)
            values, y = values[rows], y[rows]
        self.n_fit_rows_ = len(values)
        self.svc_ = SVC(
            kernel="rbf",
            C=self.C,
            gamma=self.gamma,
            decision_function_shape="ovr",
            random_state=self.seed,
        )
        self.svc_.fit(values, y)
        self.classes_ = self.svc_.classes_
        logger.info("SubsampledSVC fitted on %d rows.", self.n_fit_rows_)
        return self

    def predict(self, X) -> np.ndarray:
        """Predict classes."""
        check_is_fitted(self, "svc_")
        return self.svc_.predict(np.asarray(X, dtype=np.float64))

    def decision_function(self, X) -> np.ndarray:
        """Return one-vs-rest decision values, one column per ``classes_``."""
        check_is_fitted(self, "svc_")
        scores = self.svc_.decision_function(np.asarray(X, dtype=np.float64))
        if scores.ndim == 1:  # two classes: sklearn returns one column
            scores = np.column_stack([-scores, scores])
        return scores


class NystroemSVM(ClassifierMixin, BaseEstimator):
    """RBF kernel SVM approximated by Nystroem features and a linear model.

    Fits on every training row in about linear time: the RBF kernel is
    approximated on ``n_components`` training rows, and a hinge-loss
    ``SGDClassifier`` learns one linear boundary per class on those features.

    Parameters
    ----------
    n_components : int, default 500
        Rows that span the kernel approximation.
    gamma : float or "scale", default "scale"
        RBF width; "scale" means 1 / (n_features * X.var()) as in ``SVC``.
    alpha : float, default 1e-5
        L2 penalty of the ``SGDClassifier``.
    seed : int, default 0

    Attributes
    ----------
    nystroem_ : sklearn.kernel_approximation.Nystroem
    linear_ : sklearn.linear_model.SGDClassifier
    gamma_ : float
    classes_ : ndarray
    """

    def __init__(
        self,
        n_components: int = 500,
        gamma: float | str = "scale",
        alpha: float = 1e-5,
        seed: int = 0,
    ):
        self.n_components = n_components
        self.gamma = gamma
        self.alpha = alpha
        self.seed = seed

    def fit(self, X, y) -> NystroemSVM:
        """Fit the kernel approximation and the linear model on all rows."""
        values = np.asarray(X, dtype=np.float64)
        if self.gamma == "scale":
            variance = values.var()
            self.gamma_ = 1.0 / (values.shape[1] * variance) if variance > 0 else 1.0
        else:
            self.gamma_ = float(self.gamma)
        self.nystroem_ = Nystroem(
            kernel="rbf",
            gamma=self.gamma_,
            n_components=min(self.n_components, len(values)),
            random_state=self.seed,
        )
        features = self.nystroem_.fit_transform(values)
        self.linear_ = SGDClassifier(
            loss="hinge", alpha=self.alpha, random_state=self.seed, tol=1e-4
        )
        self.linear_.fit(features, y)
        self.classes_ = self.linear_.classes_
        return self

    def predict(self, X) -> np.ndarray:
        """Predict classes."""
        check_is_fitted(self, "linear_")
        return self.linear_.predict(self.nystroem_.transform(np.asarray(X, float)))

    def decision_function(self, X) -> np.ndarray:
        """Return one-vs-rest decision values, one column per ``classes_``."""
        check_is_fitted(self, "linear_")
        scores = self.linear_.decision_function(
            self.nystroem_.transform(np.asarray(X, dtype=np.float64))
        )
        if scores.ndim == 1:
            scores = np.column_stack([-scores, scores])
        return scores


def make_baselines(
    seed: int = 0,
    svm: str = "subsample",
    svm_max_samples: int | None = 20_000,
    n_estimators: int = 100,
    n_jobs: int | None = None,
) -> dict:
    """Build the four unfitted baselines, seeded.

    Parameters
    ----------
    seed : int, default 0
    svm : {"subsample", "nystroem"}, default "subsample"
        The exact RBF ``SVC`` on ``svm_max_samples`` stratified training rows,
        or ``NystroemSVM`` on all training rows.
    svm_max_samples : int or None, default 20_000
    n_estimators : int, default 100
        Trees of the random forest.
    n_jobs : int, optional
        Parallel jobs of the random forest (None means 1).

    Returns
    -------
    dict of str to estimator
        Keys ``"LR"``, ``"SVM"``, ``"DT"``, ``"RF"`` in that order.
    """
    if svm == "subsample":
        svm_model = SubsampledSVC(max_samples=svm_max_samples, seed=seed)
    elif svm == "nystroem":
        svm_model = NystroemSVM(seed=seed)
    else:
        raise ValueError(f"svm must be 'subsample' or 'nystroem', got {svm!r}.")
    return {
        "LR": LogisticRegression(max_iter=1000, random_state=seed),
        "SVM": svm_model,
        "DT": DecisionTreeClassifier(random_state=seed),
        "RF": RandomForestClassifier(
            n_estimators=n_estimators, random_state=seed, n_jobs=n_jobs
        ),
    }


def fit_timed(model, X, y):
    """Fit ``model`` on (X, y) and measure the wall-clock time.

    Parameters
    ----------
    model : estimator
        Fitted in place.
    X, y : array-like

    Returns
    -------
    (estimator, float)
        The fitted model and the fit time in seconds.
    """
    start = time.perf_counter()
    model.fit(X, y)
    seconds = time.perf_counter() - start
    logger.info("Fitted %s in %.2f s.", type(model).__name__, seconds)
    return model, seconds


def predict_scores(model, X, n_classes: int = N_CLASSES) -> np.ndarray:
    """Return class scores with one column per class index 0 .. n_classes - 1.

    Uses ``predict_proba`` where the model has it, else ``decision_function``.
    A class the model never saw in training gets the lowest score of the row
    block (0 for probabilities), so it never wins and ranks last in ROC curves.

    Parameters
    ----------
    model : fitted classifier with integer ``classes_``
    X : array-like
    n_classes : int, default 12

    Returns
    -------
    ndarray of shape (n_rows, n_classes)
    """
    if hasattr(model, "predict_proba"):
        scores = model.predict_proba(X)
        filler = 0.0
    else:
        scores = model.decision_function(X)
        filler = float(scores.min()) - 1.0 if scores.size else 0.0
    full = np.full((scores.shape[0], n_classes), filler, dtype=np.float64)
    full[:, np.asarray(model.classes_, dtype=int)] = scores
    return full
