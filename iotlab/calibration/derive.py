"""Derive the twin's calibration figures from real ACI-IoT-2023 rows.

Run as::

    python -m iotlab.calibration.derive --csv PATH [--out FILE] [--half A|B]

The script reads real rows (any file in the published CSV layout), computes
figures per class and writes them as JSON: quantiles, frequencies and rank
correlations, never rows. The offline twin (:mod:`iotlab.twin`) reads the
committed file ``aci_iot_2023.json`` next to this module.

Two kinds of figures are written per class:

* ``modes``: for every kind of flow that the twin draws for the class (see
  ``iotlab._twin_profiles``), the number of real rows of that kind and, from
  ``MIN_ROWS_FOR_FIGURES`` rows up, quantiles of duration and packet counts
  and frequencies of initial windows, connection type and source host. The
  twin blends these with its domain priors.
* ``summary``: quantiles of the main features, frequencies of protocol,
  ports, flags, window bytes, connection type and source hosts, and the rank
  correlations of the main features. The twin uses the capture times and
  the count-duration correlation; the rest documents the real rows for the
  fidelity report.

Capture times are read from ``Idle Max``, which holds the flow's start in
epoch microseconds (UTC), because it is exact, while ``Timestamp`` is written
in three layouts with the day and month swapped on two days.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from iotlab import schema
from iotlab._twin_profiles import MODES

logger = logging.getLogger(__name__)

#: Default output: the file the twin reads.
DEFAULT_OUT = Path(__file__).with_name("aci_iot_2023.json")
#: Probabilities of the stored quantiles.
QUANTILE_PROBS = (0.0, 0.25, 0.5, 0.75, 1.0)
#: A mode or class needs this many real rows before its figures are stored;
#: below it the twin keeps its domain priors.
MIN_ROWS_FOR_FIGURES = 3
#: Local clock of the capture (EDT, UTC-4) in microseconds.
UTC_OFFSET_US = 4 * 3600 * 1_000_000

#: Features whose per-class quantiles (log10 of 1 + value) are stored.
MAIN_FEATURES = (
    "Flow Duration",
    "Total Fwd Packet",
    "Total Bwd packets",
    "Total Length of Fwd Packet",
    "Total Length of Bwd Packet",
    "Fwd Packet Length Max",
    "Bwd Packet Length Max",
    "Flow IAT Mean",
    "Flow IAT Max",
    "Flow IAT Min",
    "Fwd Header Length",
    "Bwd Header Length",
    "Packet Length Mean",
    "FWD Init Win Bytes",
    "Bwd Init Win Bytes",
)
#: Columns whose value frequencies are stored (the most common values).
FREQUENCY_COLUMNS = (
    "Protocol",
    "Src Port",
    "Dst Port",
    "FIN Flag Count",
    "SYN Flag Count",
    "RST Flag Count",
    "PSH Flag Count",
    "ACK Flag Count",
    "FWD Init Win Bytes",
    "Bwd Init Win Bytes",
    "Connection Type",
    "Src IP",
)
MAX_FREQUENCY_VALUES = 8


class CalibrationError(ValueError):
    """Real rows that cannot be used for calibration."""


def read_real_rows(path: str | os.PathLike) -> pd.DataFrame:
    """Read real flow rows for calibration.

    Uses :func:`iotlab.data.load_flows` when that module is available and
    otherwise reads the CSV with pandas; only the numeric columns, ``Src IP``,
    ``Dst IP``, ``Label`` and ``Connection Type`` are used.

    Parameters
    ----------
    path : str or os.PathLike
        A CSV in the published ACI-IoT-2023 layout.

    Returns
    -------
    pandas.DataFrame
        The rows, with numeric columns as numbers and labels as strings.

    Raises
    ------
    CalibrationError
        If the file is missing or lacks columns of the published header.
    """
    path = Path(path)
    if not path.is_file():
        raise CalibrationError(
            f"Calibration file {path} not found. Pass --csv with a CSV in the "
            "published ACI-IoT-2023 layout."
        )
    try:
        from iotlab.data import load_flows
    except ImportError:
        frame = pd.read_csv(path, encoding="utf-8-sig")
    else:
        frame = load_flows(path)
    missing = [name for name in schema.COLUMN_NAMES if name not in frame.columns]
    if missing:
        raise CalibrationError(
            f"{path} lacks {len(missing)} column(s) of the published header, "
            f"for example {missing[:3]}; pass the published CSV."
        )
    frame = frame.copy()
    for name in ("Src IP", "Dst IP", "Label", "Connection Type"):
        frame[name] = frame[name].astype(str)
    unknown = sorted(set(frame["Label"]) - set(schema.LABELS))
    if unknown:
        raise CalibrationError(f"{path} has unknown labels {unknown}.")
    return frame


def stratified_halves(
    frame: pd.DataFrame, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split rows into two halves with the same class mix.

    Each class is shuffled with ``seed`` and its first ``ceil(n / 2)`` rows
    go to half A, the others to half B, so a class with a single row has no
    row in B.

    Parameters
    ----------
    frame : pandas.DataFrame
        Real rows with a ``Label`` column.
    seed : int, default 0
        Seed of the shuffle.

    Returns
    -------
    tuple of pandas.DataFrame
        Half A and half B.
    """
    rng = np.random.default_rng(seed)
    first, second = [], []
    for label in schema.LABELS:
        index = np.flatnonzero(frame["Label"].to_numpy() == label)
        index = rng.permutation(index)
        cut = (index.size + 1) // 2
        first.extend(index[:cut])
        second.extend(index[cut:])
    return frame.iloc[sorted(first)], frame.iloc[sorted(second)]


def _quantiles(values) -> list[float]:
    return [float(v) for v in np.quantile(np.asarray(values, float), QUANTILE_PROBS)]


def _frequencies(values, top=None) -> dict[str, float]:
    counts = pd.Series(values).astype(str).value_counts(normalize=True)
    if top is not None:
        counts = counts.head(top)
    return {key: round(float(share), 4) for key, share in counts.items()}


def _local_time(frame):
    """Local capture day and seconds since midnight from ``Idle Max``."""
    local_us = frame["Idle Max"].to_numpy(np.int64) - UTC_OFFSET_US
    stamp = pd.to_datetime(local_us, unit="us")
    seconds = (
        stamp.hour * 3600 + stamp.minute * 60 + stamp.second + stamp.microsecond / 1e6
    )
    return stamp.strftime("%Y-%m-%d"), np.asarray(seconds, dtype=float)


def _assign_modes(rows: pd.DataFrame, label: str) -> np.ndarray:
    """Index of the twin mode that each real row of ``label`` belongs to."""
    assigned = np.full(len(rows), -1)
    for index, mode in enumerate(MODES[label]):
        free = assigned < 0
        match = mode.get("match")
        hit = free if match is None else free & np.asarray(match(rows), dtype=bool)
        assigned[hit] = index
    return assigned


def _mode_figures(rows: pd.DataFrame) -> dict:
    figures: dict = {"rows": len(rows)}
    if len(rows) < MIN_ROWS_FOR_FIGURES:
        return figures
    duration = rows["Flow Duration"].to_numpy(float)
    figures["duration_log10_q"] = _quantiles(np.log10(np.maximum(duration, 1.0)))
    figures["n_fwd_q"] = _quantiles(rows["Total Fwd Packet"])
    figures["n_bwd_q"] = _quantiles(rows["Total Bwd packets"])
    figures["win_fwd"] = _frequencies(rows["FWD Init Win Bytes"])
    with_reply = rows[rows["Total Bwd packets"] > 0]
    if len(with_reply):
        figures["win_bwd"] = _frequencies(with_reply["Bwd Init Win Bytes"])
    figures["wireless"] = round(
        float((rows["Connection Type"] == "wireless").mean()), 4
    )
    figures["src"] = _frequencies(rows["Src IP"])
    return figures


def _rank_correlations(rows: pd.DataFrame) -> dict:
    """Spearman correlations of the main features that vary in ``rows``."""
    varying = [name for name in MAIN_FEATURES if rows[name].nunique() > 1]
    if len(varying) < 2:
        return {"features": varying, "matrix": []}
    matrix = rows[varying].astype(float).corr(method="spearman").to_numpy()
    return {
        "features": varying,
        "matrix": [[round(float(v), 3) for v in line] for line in matrix],
    }


def _count_duration_correlation(rows: pd.DataFrame) -> float | None:
    packets = rows["Total Fwd Packet"] + rows["Total Bwd packets"]
    if packets.nunique() < 2 or rows["Flow Duration"].nunique() < 2:
        return None
    rho = packets.astype(float).corr(rows["Flow Duration"].astype(float), "spearman")
    return round(float(rho), 3)


def derive_figures(frame: pd.DataFrame, source: str = "") -> dict:
    """Compute the calibration figures of every class from real rows.

    Parameters
    ----------
    frame : pandas.DataFrame
        Real rows in the published layout (see :func:`read_real_rows`).
    source : str, optional
        A description of where the rows came from, stored in the output.

    Returns
    -------
    dict
        JSON-ready figures: ``source``, ``quantile_probs``, ``facts`` and per
        class ``rows``, ``capture``, ``count_duration_rank_corr``, ``modes``
        and ``summary``.
    """
    days, seconds = _local_time(frame)
    labels = frame["Label"].to_numpy()
    classes = {}
    for label in schema.LABELS:
        in_class = labels == label
        rows = frame[in_class]
        entry: dict = {"rows": int(in_class.sum())}
        if entry["rows"] >= MIN_ROWS_FOR_FIGURES:
            entry["capture"] = {
                "days": _frequencies(days[in_class]),
                "time_of_day_s_q": _quantiles(seconds[in_class]),
            }
            entry["count_duration_rank_corr"] = _count_duration_correlation(rows)
            entry["summary"] = {
                "log10_1p_quantiles": {
                    name: _quantiles(np.log10(1.0 + rows[name].to_numpy(float)))
                    for name in MAIN_FEATURES
                },
                "frequencies": {
                    name: _frequencies(rows[name], MAX_FREQUENCY_VALUES)
                    for name in FREQUENCY_COLUMNS
                },
                "rank_correlations": _rank_correlations(rows),
            }
        assigned = _assign_modes(rows, label) if len(rows) else np.array([], int)
        entry["modes"] = [
            _mode_figures(rows[assigned == index]) for index in range(len(MODES[label]))
        ]
        entry["unassigned_rows"] = int((assigned < 0).sum())
        classes[label] = entry
    return {
        "about": (
            "Figures of real ACI-IoT-2023 rows for the offline twin: quantiles "
            "at quantile_probs, value shares and Spearman correlations. No rows."
        ),
        "source": source,
        "quantile_probs": list(QUANTILE_PROBS),
        "min_rows_for_figures": MIN_ROWS_FOR_FIGURES,
        "facts": {
            "full_class_counts": dict(schema.FULL_CLASS_COUNTS),
            "full_rows": schema.FULL_ROWS,
            "zero_duration_flow_bytes_inf": 915,
            "zero_duration_flow_bytes_nan": 1009,
            "utc_offset_hours": -4,
        },
        "classes": classes,
    }


def write_figures(figures: dict, out: str | os.PathLike) -> Path:
    """Write figures as JSON through a temporary file, then rename it."""
    out = Path(out)
    temporary = out.with_name(out.name + ".tmp")
    temporary.write_text(json.dumps(figures, indent=1, sort_keys=False) + "\n")
    temporary.replace(out)
    return out


def main(argv: list[str] | None = None) -> int:
    """Command line: derive figures from a CSV and write them as JSON."""
    parser = argparse.ArgumentParser(
        prog="python -m iotlab.calibration.derive",
        description="Derive the offline twin's calibration figures from real rows.",
    )
    parser.add_argument("--csv", required=True, help="real rows, published layout")
    parser.add_argument(
        "--out", default=str(DEFAULT_OUT), help=f"JSON to write (default {DEFAULT_OUT})"
    )
    parser.add_argument(
        "--half",
        choices=("A", "B"),
        help="use only one stratified half of the rows (seed --seed)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of --half")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        frame = read_real_rows(args.csv)
    except CalibrationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    digest = hashlib.sha256(Path(args.csv).read_bytes()).hexdigest()
    source = f"{Path(args.csv).name} (sha256 {digest[:16]}), {len(frame)} rows"
    if args.half:
        first, second = stratified_halves(frame, args.seed)
        frame = first if args.half == "A" else second
        source += f", stratified half {args.half} (seed {args.seed}): {len(frame)} rows"
    figures = derive_figures(frame, source=source)
    path = write_figures(figures, args.out)
    print(f"wrote {path} from {source}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
