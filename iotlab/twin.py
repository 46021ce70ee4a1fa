"""An offline statistical twin of the ACI-IoT-2023 flow file.

:func:`make_twin` draws flows class by class and returns them in exactly the
schema that :func:`iotlab.data.load_flows` returns for the published CSV.
It is built by conditional sampling, from flow structure down to packets:

1. the class mix (:func:`class_counts`);
2. per class, a *mode* (kind of flow, from ``iotlab._twin_profiles``), then
   hosts, ports, capture day and time of day;
3. per flow, packet counts, then the duration given the counts (a Gaussian
   copula couples the two), then payload sizes per packet;
4. the packet timeline: gaps that split the duration, and replies that
   follow their requests;
5. the flow record computed from the packets by ``iotlab._flowstats``, which
   reproduces the CICFlowMeter arithmetic, so that every column relation of
   the real file holds on every row.

On top of that come the quirks of the real file that the lessons teach.
The Idle columns store capture times, every attack falls on one capture day,
and host 192.168.1.45 is the attacker. Zero-duration flows have inf or NaN
rates, and some rows are exact duplicates once the identifiers are dropped.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import json
import logging
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy.special import ndtr

from . import _flowstats, schema
from ._columns import text_categorical
from ._twin_profiles import ACK, FIN, HOST_POOLS, MODES, PSH, RST

logger = logging.getLogger(__name__)

#: Every class keeps at least this many rows in a twin smaller than the full
#: file; the real file has 5 ARP Spoofing rows.
MIN_ROWS_PER_CLASS = 5
#: Smallest twin: ``MIN_ROWS_PER_CLASS`` rows of each of the 12 classes.
MIN_ROWS = MIN_ROWS_PER_CLASS * len(schema.LABELS)
#: Largest twin: five times the published file. Larger requests are rejected
#: before any memory is allocated.
MAX_ROWS = 5 * schema.FULL_ROWS
#: Estimated peak memory of ``make_twin`` per row, in bytes. NOTE: this is
#: an estimate. Peak resident memory (``ru_maxrss``) grew by 2,204 bytes per
#: row for ``make_twin(100_000)`` and 2,179 for ``make_twin(400_000)``
#: (Linux x86-64, Python 3.11, numpy 2.4).
PEAK_BYTES_PER_ROW = 2_200
#: Zero-duration flows in the full file: Flow Bytes/s is inf for 915 of them
#: (bytes > 0) and NaN for 1,009 (no bytes). A twin has the same share.
FULL_INF_RATE_ROWS = 915
FULL_NAN_RATE_ROWS = 1_009
#: Share of rows that repeat another row of their class in every column
#: except the identifiers. NOTE: the real share is not known; this is an
#: estimate that makes duplicates present without dominating.
DUPLICATE_SHARE = 0.002
#: Capture clock: the testbed's local time was EDT, UTC-4, for the whole
#: capture (30 Oct to 3 Nov 2023). Timestamp is local time, and Idle stores
#: UTC epoch microseconds.
UTC_OFFSET_US = 4 * 3600 * 1_000_000

_CAPTURE_DAYS = [schema.CAPTURE_START + dt.timedelta(days=i) for i in range(5)]
_SCAN_DAY = dt.date(2023, 10, 30)
_FLOOD_DAY = dt.date(2023, 11, 1)
_SSH_DAY = dt.date(2023, 11, 2)


def _hms(text: str) -> float:
    hours, minutes, seconds = (int(part) for part in text.split(":"))
    return hours * 3600.0 + minutes * 60 + seconds


#: Prior capture day(s) and time-of-day quantiles (local time, evenly spaced
#: probabilities) of every class. The calibration figures replace them for
#: every class with at least 3 real rows, so only ARP Spoofing uses its prior.
CAPTURE_TIMES: dict[str, tuple[list[dt.date], list[float]]] = {
    "Benign": (
        _CAPTURE_DAYS,
        [_hms(t) for t in ("09:00:00", "10:30:00", "11:30:00", "13:00:00", "16:00:00")],
    ),
    "Ping Sweep": (
        [_SCAN_DAY],
        [_hms(t) for t in ("09:10:00", "09:13:00", "09:15:20", "09:16:10", "09:40:00")],
    ),
    "OS Scan": (
        [_SCAN_DAY],
        [_hms(t) for t in ("11:05:30", "11:06:55", "11:07:10", "11:08:30", "11:11:30")],
    ),
    "Vulnerability Scan": (
        [_SCAN_DAY],
        [_hms(t) for t in ("12:09:30", "12:10:51", "12:10:55", "12:11:10", "12:13:00")],
    ),
    "Port Scan": (
        [_SCAN_DAY],
        [_hms(t) for t in ("12:15:00", "12:20:55", "12:25:00", "13:20:00", "14:00:00")],
    ),
    "ICMP Flood": (
        [_FLOOD_DAY],
        [_hms(t) for t in ("09:32:00", "09:37:30", "09:39:00", "09:41:00", "09:53:00")],
    ),
    "Slowloris": (
        [_FLOOD_DAY],
        [_hms(t) for t in ("09:58:00", "10:02:30", "10:04:20", "10:07:30", "10:13:00")],
    ),
    "SYN Flood": (
        [_FLOOD_DAY],
        [_hms(t) for t in ("10:38:00", "10:42:00", "10:44:00", "10:50:20", "10:54:30")],
    ),
    "UDP Flood": (
        [_FLOOD_DAY],
        [_hms(t) for t in ("10:55:00", "10:58:00", "11:03:00", "11:09:00", "11:18:30")],
    ),
    "DNS Flood": (
        [_FLOOD_DAY],
        [_hms(t) for t in ("11:24:00", "11:30:00", "11:35:00", "11:38:00", "11:46:30")],
    ),
    "Dictionary Attack": (
        [_SSH_DAY],
        [_hms(t) for t in ("09:55:00", "10:22:00", "10:33:00", "11:10:00", "11:26:00")],
    ),
    "ARP Spoofing": (
        [_SSH_DAY],
        [_hms(t) for t in ("12:30:00", "12:50:00", "13:10:00", "13:25:00", "13:45:00")],
    ),
}

#: Correlation of normal scores between packet count and duration within a
#: mode, where the calibration figures have no measured value.
COUNT_DURATION_RHO = 0.6
#: Correlation, in normal scores, between a flow's typical payload size and
#: the size of each of its packets.
PAYLOAD_FLOW_RHO = 0.8


#: Packaged calibration figures, written by ``iotlab.calibration.derive``.
CALIBRATION_PATH = Path(__file__).with_name("calibration") / "aci_iot_2023.json"
#: Weight of the domain priors when blended with real figures, in pseudo-rows:
#: a share measured on n real rows gets weight n / (n + PRIOR_ROWS).
PRIOR_ROWS = 10
#: Measured quantile ranges are widened at both ends by these margins, since
#: a handful of real rows rarely contains the extremes of a class.
DURATION_MARGIN_LOG10 = 0.15
TIME_OF_DAY_MARGIN_S = 300.0


class TwinError(ValueError):
    """Invalid request for a twin (too few or too many rows, bad seed)."""


@functools.cache
def _packaged_calibration() -> str:
    return CALIBRATION_PATH.read_text()


def load_calibration(path: str | os.PathLike | None = None) -> dict:
    """Read calibration figures written by ``iotlab.calibration.derive``.

    Parameters
    ----------
    path : str or os.PathLike, optional
        A JSON file of figures; by default the packaged
        ``iotlab/calibration/aci_iot_2023.json``.

    Returns
    -------
    dict
        The figures, with a ``classes`` entry per label.

    Raises
    ------
    TwinError
        If the file is missing or is not a figures file.
    """
    try:
        text = _packaged_calibration() if path is None else Path(path).read_text()
    except FileNotFoundError as error:
        raise TwinError(
            f"Calibration figures {error.filename} not found; write them with "
            "`python -m iotlab.calibration.derive --csv PATH --out FILE`."
        ) from None
    figures = json.loads(text)
    if not isinstance(figures, dict) or "classes" not in figures:
        raise TwinError(
            f"{path or CALIBRATION_PATH} is not a calibration figures file."
        )
    return figures


def _blend_shares(prior, measured, n_rows, cast):
    """Blend (value, weight) priors with measured shares of ``n_rows`` rows."""
    data_weight = n_rows / (n_rows + PRIOR_ROWS)
    total = sum(weight for _, weight in prior)
    shares: dict = {}
    for value, weight in prior:
        shares[value] = shares.get(value, 0.0) + (1 - data_weight) * weight / total
    for value, share in measured.items():
        key = cast(value)
        shares[key] = shares.get(key, 0.0) + data_weight * share
    return list(shares.items())


def _calibrated_mode(prior: dict, figures: dict, class_rows: int, n_modes: int) -> dict:
    """Update a mode's domain priors with its measured figures."""
    mode = copy.copy(prior)
    rows = figures.get("rows", 0)
    # Mode share: measured share of the class rows, blended with the prior.
    mode["w"] = (rows + PRIOR_ROWS * prior["w"]) / (class_rows + PRIOR_ROWS)
    if "duration_log10_q" in figures and prior["dur"] != "backoff":
        q = list(figures["duration_log10_q"])
        q[0] -= DURATION_MARGIN_LOG10
        q[-1] += DURATION_MARGIN_LOG10
        mode["dur"] = q
    if "n_fwd_q" in figures:
        mode["n_fwd"] = list(figures["n_fwd_q"])
        mode["n_bwd"] = list(figures["n_bwd_q"])
    if "win_fwd" in figures:
        mode["win_fwd"] = _blend_shares(prior["win_fwd"], figures["win_fwd"], rows, int)
    if "win_bwd" in figures:
        mode["win_bwd"] = _blend_shares(prior["win_bwd"], figures["win_bwd"], rows, int)
    if "wireless" in figures:
        weight = rows / (rows + PRIOR_ROWS)
        mode["wireless"] = (
            weight * figures["wireless"] + (1 - weight) * prior["wireless"]
        )
    if "src" in figures and isinstance(prior["src"], list):
        mode["src"] = _blend_shares(prior["src"], figures["src"], rows, str)
    return mode


def _calibrated_profiles(figures: dict):
    """Modes, capture times and count-duration correlation of every class."""
    modes, capture, rho = {}, {}, {}
    for label in schema.LABELS:
        entry = figures["classes"].get(label, {})
        class_rows = entry.get("rows", 0)
        mode_figures = entry.get("modes", [])
        priors = MODES[label]
        if len(mode_figures) != len(priors):
            mode_figures = [{} for _ in priors]
        modes[label] = [
            _calibrated_mode(prior, found, class_rows, len(priors))
            for prior, found in zip(priors, mode_figures)
        ]
        total = sum(mode["w"] for mode in modes[label])
        for mode in modes[label]:
            mode["w"] /= total

        days, quantiles = CAPTURE_TIMES[label]
        if "capture" in entry:
            measured_days = entry["capture"]["days"]
            if len(days) > 1:
                # Benign: blend the measured day shares with equal shares.
                prior_days = [(day.isoformat(), 1.0) for day in days]
                shares = _blend_shares(prior_days, measured_days, class_rows, str)
            else:
                shares = list(measured_days.items())
            days = [(dt.date.fromisoformat(day), share) for day, share in shares]
            q = list(entry["capture"]["time_of_day_s_q"])
            quantiles = [
                q[0] - TIME_OF_DAY_MARGIN_S,
                *q[1:-1],
                q[-1] + TIME_OF_DAY_MARGIN_S,
            ]
        else:
            days = [(day, 1.0) for day in days]
        capture[label] = (days, quantiles)

        spearman = entry.get("count_duration_rank_corr")
        if spearman is None:
            rho[label] = COUNT_DURATION_RHO
        else:
            # Pearson correlation of normal scores with that Spearman value.
            rho[label] = min(max(2 * math.sin(math.pi * spearman / 6), 0.0), 0.9)
    return modes, capture, rho


def check_n_rows(n_rows: int, name: str = "n_rows") -> int:
    """Check a requested twin size before any memory is allocated.

    Parameters
    ----------
    n_rows : int
        Requested rows.
    name : str, default "n_rows"
        What to call the value in messages, for example ``"--rows"`` on a
        command line.

    Returns
    -------
    int
        ``n_rows``, unchanged.

    Raises
    ------
    TwinError
        If ``n_rows`` is not an integer from ``MIN_ROWS`` (60) to
        ``MAX_ROWS`` (6,157,055). The message for a too large value gives
        the estimated peak memory (``PEAK_BYTES_PER_ROW`` bytes per row).
    """
    _check_min_rows(n_rows, name)
    if n_rows > MAX_ROWS:
        needed = estimated_peak_bytes(n_rows) / 1e9
        limit = estimated_peak_bytes(MAX_ROWS) / 1e9
        raise TwinError(
            f"{name}={n_rows:,} is too large: a twin of that size needs an "
            f"estimated {needed:,.0f} GB of memory. The limit is {MAX_ROWS:,} "
            f"rows (5 times the published file, about {limit:.1f} GB), so ask "
            "for fewer rows."
        )
    return n_rows


def estimated_peak_bytes(n_rows: int) -> int:
    """Estimate the peak memory of ``make_twin(n_rows)`` in bytes.

    The estimate is ``PEAK_BYTES_PER_ROW`` bytes per row, on top of the
    memory the process already uses.
    """
    return int(n_rows) * PEAK_BYTES_PER_ROW


def _check_min_rows(n_rows: int, name: str) -> None:
    if isinstance(n_rows, bool) or not isinstance(n_rows, (int, np.integer)):
        raise TwinError(f"{name} must be an integer, got {n_rows!r}.")
    if n_rows < MIN_ROWS:
        raise TwinError(
            f"{name}={n_rows} is too small: a twin keeps at least "
            f"{MIN_ROWS_PER_CLASS} rows of each of the {len(schema.LABELS)} "
            f"classes, so ask for {MIN_ROWS} rows or more."
        )


def class_counts(n_rows: int) -> dict[str, int]:
    """Return the rows per class of a twin of ``n_rows`` rows.

    At the full size (1,231,411 rows) the counts are the published ones. For
    any other size they are the published shares, rounded by largest
    remainder, with at least ``MIN_ROWS_PER_CLASS`` rows per class; the rows
    that the floor adds are taken from the largest classes.

    Parameters
    ----------
    n_rows : int
        Total rows, at least ``MIN_ROWS_PER_CLASS`` times the number of
        classes (60).

    Returns
    -------
    dict of str to int
        Rows per label, in the order of ``iotlab.schema.LABELS``.

    Raises
    ------
    TwinError
        If ``n_rows`` is not an integer of at least 60.
    """
    _check_min_rows(n_rows, "n_rows")
    full = np.array([schema.FULL_CLASS_COUNTS[label] for label in schema.LABELS])
    exact = full * (n_rows / schema.FULL_ROWS)
    counts = np.floor(exact).astype(np.int64)
    remainder = n_rows - counts.sum()
    counts[np.argsort(-(exact - counts), kind="stable")[:remainder]] += 1
    short = np.maximum(MIN_ROWS_PER_CLASS - counts, 0)
    counts += short
    excess = int(short.sum())
    while excess:
        largest = int(np.argmax(counts))
        take = min(excess, counts[largest] - MIN_ROWS_PER_CLASS)
        counts[largest] -= take
        excess -= take
    return dict(zip(schema.LABELS, counts.tolist()))


def make_twin(
    n_rows: int, seed: int = 0, calibration: dict | None = None
) -> pd.DataFrame:
    """Draw a synthetic ACI-IoT-2023 flow table.

    Parameters
    ----------
    n_rows : int
        Number of rows, from ``MIN_ROWS`` (60, 5 per class) to ``MAX_ROWS``
        (6,157,055, 5 times the published file). At 1,231,411 rows the class
        counts are exactly the published ones; see :func:`class_counts`.
        Peak memory is about ``PEAK_BYTES_PER_ROW`` (2,200) bytes per row,
        an estimate: 2.7 GB at the full size.
    seed : int, default 0
        Seed of the random generator; the same seed gives the same frame.
    calibration : dict, optional
        Figures from :func:`load_calibration`; by default the packaged ones.
        The fidelity report passes figures derived from part of the real
        rows to score the twin on the other part.

    Returns
    -------
    pandas.DataFrame
        The 85 columns of the published file in file order, with the
        canonical dtypes of ``iotlab.schema.COLUMNS``, rows shuffled, and
        ``attrs["source"] = "twin"``.

    Raises
    ------
    TwinError
        If ``n_rows`` is outside ``MIN_ROWS`` to ``MAX_ROWS`` (see
        :func:`check_n_rows`) or ``seed`` is not a non-negative integer.

    Notes
    -----
    The twin is calibrated on figures (quantiles, frequencies) of a few real
    rows per class and on what each attack tool does. It reproduces the
    structure that the lessons teach (the Idle time leak, the attacker host,
    scans that look alike, the rare classes) but it is not the real data:
    scores measured on it are not scores on ACI-IoT-2023.

    Examples
    --------
    >>> from iotlab.twin import make_twin
    >>> df = make_twin(1_000, seed=1)
    >>> df.shape
    (1000, 85)
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise TwinError(f"seed must be a non-negative integer, got {seed!r}.")
    check_n_rows(n_rows)
    counts = class_counts(n_rows)
    rng = np.random.default_rng(seed)
    figures = load_calibration() if calibration is None else calibration
    profiles = _calibrated_profiles(figures)
    flows = _draw_flows(counts, rng, profiles)
    _plan_zero_durations(flows, n_rows, rng)
    packets = _draw_packets(flows, rng)
    columns = _flowstats.flow_columns(
        packets["flow"],
        packets["backward"],
        packets["time"],
        packets["length"],
        packets["header"],
        packets["flags"],
        flows["start_utc"],
        flows["win_fwd"],
        flows["win_bwd"],
    )
    del packets
    frame = _assemble(flows, columns, rng)
    frame.attrs["source"] = "twin"
    frame.attrs["source_detail"] = (
        f"offline twin of ACI-IoT-2023, {n_rows:,} rows, seed {seed}"
    )
    logger.info("built a twin of %d rows with seed %d", n_rows, seed)
    return frame


# --------------------------------------------------------------------------
# Sampling helpers


def _quantile_draw(u, quantiles):
    """Map uniforms to values by the evenly spaced quantiles ``quantiles``."""
    quantiles = np.asarray(quantiles, dtype=np.float64)
    if quantiles.size == 1:
        return np.full(np.shape(u), quantiles[0])
    grid = np.linspace(0.0, 1.0, quantiles.size)
    return np.interp(u, grid, quantiles)


def _normal_cdf(z):
    return ndtr(z)


def _choose(rng, spec, n):
    """Draw ``n`` items from a list of (value, weight) pairs."""
    values = [value for value, _ in spec]
    weights = np.array([weight for _, weight in spec], dtype=np.float64)
    index = rng.choice(len(values), size=n, p=weights / weights.sum())
    return np.asarray(values)[index]


def _ip_to_int(text: str) -> int:
    a, b, c, d = (int(part) for part in text.split("."))
    return (a << 24) | (b << 16) | (c << 8) | d


def _draw_hosts(rng, spec, n):
    """Draw IPv4 addresses as uint32 from a host specification."""
    if isinstance(spec, str) and spec in HOST_POOLS:
        spec = HOST_POOLS[spec]
    if isinstance(spec, list):
        return np.array(
            [_ip_to_int(ip) for ip in _choose(rng, spec, n)], dtype=np.uint32
        )
    if spec == "lan":
        return (_ip_to_int("192.168.1.0") + rng.integers(2, 255, n)).astype(np.uint32)
    if spec in ("public", "public_any"):
        # "public": unicast outside private ranges; "public_any": spoofed
        # sources of a flood, any first octet except 0, 10, 127 and 192.
        high = 224 if spec == "public" else 255
        first = rng.integers(1, high, n)
        bad = np.isin(first, (10, 127, 172, 192))
        first[bad] = rng.integers(11, 100, int(bad.sum()))
        rest = rng.integers(0, 1 << 24, n)
        return ((first << 24) | rest).astype(np.uint32)
    raise ValueError(f"unknown host specification {spec!r}")


def _draw_ports(rng, spec, n):
    """Draw ports from a port specification."""
    if isinstance(spec, (int, np.integer)):
        return np.full(n, spec, dtype=np.int64)
    if isinstance(spec, list):
        return _choose(rng, spec, n).astype(np.int64)
    if spec == "ephemeral":
        return rng.integers(32768, 61000, n)
    if spec == "any":
        # Scanners probe low ports more often than high ones.
        low = rng.random(n) < 0.3
        return np.where(low, rng.integers(1, 1025, n), rng.integers(1, 65536, n))
    raise ValueError(f"unknown port specification {spec!r}")


# --------------------------------------------------------------------------
# Flow-level draw


_FLOW_FIELDS = (
    "label",
    "mode",
    "proto",
    "src",
    "dst",
    "sport",
    "dport",
    "n_fwd",
    "n_bwd",
    "duration",
    "backoff",
    "alpha",
    "reply",
    "wireless",
    "start_utc",
    "win_fwd",
    "win_bwd",
    "size_z",
)


def _draw_flows(counts, rng, profiles):
    """Draw flow-level fields for every row, class by class, mode by mode."""
    modes_by_label, capture, rho = profiles
    parts = {name: [] for name in _FLOW_FIELDS}
    modes_flat = []
    for label_index, label in enumerate(schema.LABELS):
        n_class = counts[label]
        modes = modes_by_label[label]
        weights = np.array([mode["w"] for mode in modes])
        mode_of_row = rng.choice(len(modes), size=n_class, p=weights / weights.sum())
        start = _draw_start_times(rng, capture[label], n_class)
        for mode_index, mode in enumerate(modes):
            rows = np.flatnonzero(mode_of_row == mode_index)
            n = rows.size
            if n == 0:
                continue
            global_mode = len(modes_flat)
            modes_flat.append(mode)
            part = _draw_mode(rng, mode, n, rho[label])
            part["label"] = np.full(n, label_index, dtype=np.int64)
            part["mode"] = np.full(n, global_mode, dtype=np.int64)
            part["start_utc"] = start[rows]
            for name in _FLOW_FIELDS:
                parts[name].append(part[name])
    flows = {name: np.concatenate(values) for name, values in parts.items()}
    flows["modes"] = modes_flat
    return flows


def _draw_start_times(rng, capture, n):
    """Flow start times in UTC epoch microseconds for one class."""
    days, quantiles = capture
    shares = np.array([share for _, share in days], dtype=np.float64)
    day_index = rng.choice(len(days), size=n, p=shares / shares.sum())
    midnight = np.array(
        [
            int(dt.datetime(d.year, d.month, d.day, tzinfo=dt.UTC).timestamp())
            for d, _ in days
        ],
        dtype=np.int64,
    )
    seconds = _quantile_draw(rng.random(n), quantiles)
    local_us = midnight[day_index] * 1_000_000 + (seconds * 1e6).astype(np.int64)
    local_us += rng.integers(0, 1_000_000, n)
    return local_us + UTC_OFFSET_US


def _draw_mode(rng, mode, n, rho):
    """Draw the flow-level fields of ``n`` flows of one mode.

    Packet counts and duration come from one Gaussian copula with
    correlation ``rho``; forward and backward counts share one uniform, so
    they rise together as in request-response traffic.
    """
    z_count = rng.standard_normal(n)
    z_duration = rho * z_count + np.sqrt(1 - rho**2) * rng.standard_normal(n)
    u_count = _normal_cdf(z_count)
    n_fwd = np.maximum(np.rint(_quantile_draw(u_count, mode["n_fwd"])), 1)
    n_bwd = np.maximum(np.rint(_quantile_draw(u_count, mode["n_bwd"])), 0)
    # A single packet means a zero-duration flow, and those are planned
    # apart, so a lone packet gets a reply, or a second packet where the
    # mode has no replies.
    lone = n_fwd + n_bwd < 2
    if max(mode["n_bwd"]) > 0:
        n_bwd = np.where(lone, 1, n_bwd)
    else:
        n_fwd = np.where(lone, 2, n_fwd)
    backoff = mode["dur"] == "backoff"
    if backoff:
        duration = np.zeros(n)
    else:
        log_duration = _quantile_draw(_normal_cdf(z_duration), mode["dur"])
        duration = np.rint(10.0**log_duration)
    return {
        "proto": np.full(n, mode["proto"], dtype=np.int64),
        "src": _draw_hosts(rng, mode["src"], n),
        "dst": _draw_hosts(rng, mode["dst"], n),
        "sport": _draw_ports(rng, mode.get("sport", 0), n),
        "dport": _draw_ports(rng, mode.get("dport", 0), n),
        "n_fwd": n_fwd.astype(np.int64),
        "n_bwd": n_bwd.astype(np.int64),
        "duration": duration.astype(np.int64),
        "backoff": np.full(n, backoff),
        "alpha": np.full(n, float(mode.get("alpha", 1.0))),
        "reply": np.full(n, float(mode.get("reply", 1.0))),
        "wireless": rng.random(n) < mode["wireless"],
        "win_fwd": _choose(rng, mode["win_fwd"], n).astype(np.int64),
        "win_bwd": _choose(rng, mode["win_bwd"], n).astype(np.int64),
        "size_z": rng.standard_normal(n),
    }


def _plan_zero_durations(flows, n_rows, rng):
    """Mark the flows that get a zero duration (inf or NaN rates).

    Zero-duration flows are drawn from classes with at least 1,000 rows in
    the full file, so that the rarest classes keep their behaviour.
    NOTE: the real file does not say which classes its zero-duration flows
    belong to; spreading them over the large classes is an assumption.
    """
    share = n_rows / schema.FULL_ROWS
    n_inf = round(FULL_INF_RATE_ROWS * share)
    n_nan = round(FULL_NAN_RATE_ROWS * share)
    large = np.array(
        [schema.FULL_CLASS_COUNTS[label] >= 1_000 for label in schema.LABELS]
    )
    eligible = large[flows["label"]] & ~flows["backoff"]
    # Whether a flow carries payload is decided by its mode's first packet
    # and data share, so count on modes that always carry payload.
    carries = np.array([_mode_always_carries(mode) for mode in flows["modes"]])
    never = np.array([_mode_never_carries(mode) for mode in flows["modes"]])
    with_bytes = np.flatnonzero(eligible & carries[flows["mode"]])
    without = np.flatnonzero(eligible & never[flows["mode"]])
    zero = np.zeros(flows["label"].size, dtype=bool)
    zero[rng.choice(with_bytes, size=min(n_inf, with_bytes.size), replace=False)] = True
    zero[rng.choice(without, size=min(n_nan, without.size), replace=False)] = True
    flows["zero"] = zero
    flows["duration"] = np.where(zero, 0, flows["duration"])


def _mode_always_carries(mode):
    first = mode.get("fwd", {}).get("first", 0)
    return first == -1 or first > 0


def _mode_never_carries(mode):
    fwd, bwd = mode.get("fwd", {}), mode.get("bwd", {})
    return (
        fwd.get("first", 0) == 0
        and fwd.get("p", 0.0) == 0.0
        and bwd.get("first", 0) == 0
        and bwd.get("p", 0.0) == 0.0
    )


# --------------------------------------------------------------------------
# Packet-level draw


def _draw_packets(flows, rng):
    """Draw the packets of every flow, sorted by flow and time."""
    n_fwd, n_bwd = flows["n_fwd"], flows["n_bwd"]
    n_packets = n_fwd + n_bwd
    n_flows = n_packets.size
    total = int(n_packets.sum())
    flow = np.repeat(np.arange(n_flows), n_packets)
    first = np.r_[0, np.cumsum(n_packets)[:-1]]
    position = np.arange(total) - first[flow]
    backward = position >= n_fwd[flow]
    index_in_direction = np.where(backward, position - n_fwd[flow], position)

    # Order: the first forward packet opens the flow; then forward and
    # backward packets alternate in proportion, with a little jitter, so that
    # each reply follows its request.
    share = np.where(
        backward,
        (index_in_direction + 0.5) / np.maximum(n_bwd[flow], 1),
        index_in_direction / n_fwd[flow],
    )
    share = share + rng.uniform(-0.15, 0.15, total) / np.maximum(n_packets[flow], 1)
    share[first] = -1.0
    order = np.lexsort((share, flow))
    backward = backward[order]
    index_in_direction = index_in_direction[order]

    time = _draw_times(flows, flow, backward, first, rng)
    length = _draw_lengths(flows, flow, backward, index_in_direction, rng)
    header, flags = _draw_headers_flags(
        flows, flow, backward, index_in_direction, length, first, rng
    )
    return {
        "flow": flow,
        "backward": backward,
        "time": time,
        "length": length,
        "header": header,
        "flags": flags,
    }


def _draw_times(flows, flow, backward, first, rng):
    """Packet times in microseconds since each flow's first packet."""
    total = flow.size
    alpha = flows["alpha"][flow]
    weight = rng.gamma(alpha, 1.0, total)
    # A reply (backward packet right after a forward one) comes quickly.
    is_reply = np.zeros(total, dtype=bool)
    is_reply[1:] = backward[1:] & ~backward[:-1]
    weight = np.where(is_reply, weight * flows["reply"][flow], weight)
    weight[first] = 0.0
    cumulative = np.cumsum(weight)
    base = cumulative[first][flow]
    within = cumulative - base
    flow_total = np.add.reduceat(weight, first)
    fraction = np.divide(
        within,
        flow_total[flow],
        out=np.zeros(total),
        where=flow_total[flow] > 0,
    )
    time = np.rint(fraction * flows["duration"][flow]).astype(np.int64)

    # SYN-ACK retransmissions: 1 s, 2 s, 4 s ... after the previous one.
    backoff_flow = flows["backoff"] & ~flows["zero"]
    if backoff_flow.any():
        rows = backoff_flow[flow]
        step = (np.arange(total) - first[flow])[rows]
        first_gap = rng.uniform(1.030e6, 1.050e6, flows["n_fwd"].size)
        base_gap = first_gap[flow[rows]]
        jitter = rng.normal(1.0, 0.002, int(rows.sum()))
        offset = np.where(step > 0, base_gap * (2.0**step - 1.0) * jitter, 0.0)
        time[rows] = np.rint(offset).astype(np.int64)
        flows["duration"] = flows["duration"].copy()
        last = np.r_[first[1:] - 1, total - 1]
        flows["duration"][backoff_flow] = time[last][backoff_flow]
    # Keep times non-decreasing within each flow whatever the jitter: the
    # offset of 2**40 us per flow (about 12 days) keeps flows apart.
    time = np.maximum.accumulate(
        time + flow.astype(np.int64) * (1 << 40)
    ) - flow.astype(np.int64) * (1 << 40)
    return time


def _draw_lengths(flows, flow, backward, index_in_direction, rng):
    """Payload length of every packet in bytes."""
    total = flow.size
    length = np.zeros(total, dtype=np.int64)
    mode_of_packet = flows["mode"][flow]
    z_flow = flows["size_z"][flow]
    for mode_index, mode in enumerate(flows["modes"]):
        in_mode = mode_of_packet == mode_index
        if not in_mode.any():
            continue
        for side, name in ((False, "fwd"), (True, "bwd")):
            spec = mode.get(name, {"first": 0})
            rows = np.flatnonzero(in_mode & (backward == side))
            if rows.size == 0:
                continue
            is_first = index_in_direction[rows] == 0
            z = PAYLOAD_FLOW_RHO * z_flow[rows] + np.sqrt(
                1 - PAYLOAD_FLOW_RHO**2
            ) * rng.standard_normal(rows.size)
            sizes = np.maximum(
                np.rint(
                    10.0 ** _quantile_draw(_normal_cdf(z), spec.get("size", [0.0]))
                ),
                1,
            )
            data = rng.random(rows.size) < spec.get("p", 0.0)
            first_rule = spec.get("first", 0)
            if first_rule == -1:
                data = np.where(is_first, True, data)
                values = np.where(data, sizes, 0)
            else:
                values = np.where(is_first, first_rule, np.where(data, sizes, 0))
                if first_rule > 0:
                    # Padding-sized payloads (2 bytes) repeat on every packet.
                    values = np.where(~is_first & data, first_rule, values)
            length[rows] = values
    return length


def _draw_headers_flags(flows, flow, backward, index_in_direction, length, first, rng):
    """Transport-header length and TCP flags of every packet."""
    total = flow.size
    header = np.zeros(total, dtype=np.int64)
    flags = np.zeros(total, dtype=np.uint8)
    mode_of_packet = flows["mode"][flow]
    last = np.r_[first[1:] - 1, total - 1]
    is_last = np.zeros(total, dtype=bool)
    is_last[last] = True
    for mode_index, mode in enumerate(flows["modes"]):
        rows = np.flatnonzero(mode_of_packet == mode_index)
        if rows.size == 0:
            continue
        h_first_fwd, h_fwd, h_first_bwd, h_bwd = mode["hdr"]
        f_first_fwd, f_fwd, f_first_bwd, f_bwd = mode["flags"]
        back = backward[rows]
        opening = index_in_direction[rows] == 0
        header[rows] = np.where(
            back,
            np.where(opening, h_first_bwd, h_bwd),
            np.where(opening, h_first_fwd, h_fwd),
        )
        if mode["proto"] != 6:
            continue
        bits = np.where(
            back,
            np.where(opening, f_first_bwd, f_bwd),
            np.where(opening, f_first_fwd, f_fwd),
        ).astype(np.uint8)
        if mode.get("psh_on_data", False):
            bits = np.where(length[rows] > 0, bits | PSH | ACK, bits).astype(np.uint8)
        ending = is_last[rows]
        end_draw = rng.random(rows.size)
        fin = ending & (end_draw < mode.get("fin", 0.0))
        rst = ending & ~fin & (end_draw < mode.get("fin", 0.0) + mode.get("rst", 0.0))
        bits = np.where(fin, bits | FIN | ACK, bits)
        bits = np.where(rst, bits | RST, bits)
        flags[rows] = bits.astype(np.uint8)
    return header, flags


# --------------------------------------------------------------------------
# Assembly


_OCTETS = pa.array([str(i) for i in range(256)])
_PORTS = pa.array([str(i) for i in range(65536)])


def _format_ips(values):
    octets = [
        pc.take(_OCTETS, pa.array(((values >> shift) & 0xFF).astype(np.int64)))
        for shift in (24, 16, 8, 0)
    ]
    return pc.binary_join_element_wise(*octets, ".")


def _assemble(flows, columns, rng):
    """Put flow fields and computed columns into the published schema."""
    n = flows["label"].size
    data = dict(columns)
    data["Protocol"] = flows["proto"]
    start_local_us = flows["start_utc"] - UTC_OFFSET_US
    data["Timestamp"] = (start_local_us // 1_000_000).astype("datetime64[s]")

    # Exact duplicates once identifiers are dropped: copy every other
    # column from another row of the same mode.
    n_duplicates = round(DUPLICATE_SHARE * n)
    if n_duplicates:
        candidates = np.flatnonzero(~flows["zero"])
        targets = rng.choice(candidates, size=n_duplicates, replace=False)
        # The source comes from the same mode, so that protocol and ports
        # (kept from the target) still fit the copied behaviour.
        mode_of = flows["mode"]
        sources = np.empty(n_duplicates, dtype=np.int64)
        for mode_index in np.unique(mode_of[targets]):
            pick = mode_of[targets] == mode_index
            pool = candidates[mode_of[candidates] == mode_index]
            sources[pick] = rng.choice(pool, size=int(pick.sum()))
        for name in list(data):
            data[name] = np.asarray(data[name]).copy()
            data[name][targets] = data[name][sources]
        flows["wireless"] = flows["wireless"].copy()
        flows["wireless"][targets] = flows["wireless"][sources]

    src = _format_ips(flows["src"])
    dst = _format_ips(flows["dst"])
    sport = pc.take(_PORTS, pa.array(flows["sport"]))
    dport = pc.take(_PORTS, pa.array(flows["dport"]))
    proto = pc.take(_PORTS, pa.array(flows["proto"]))
    flow_id = pc.binary_join_element_wise(src, dst, sport, dport, proto, "-")
    data["Flow ID"] = pd.array(flow_id, dtype="string")
    data["Src IP"] = text_categorical(src)
    data["Dst IP"] = text_categorical(dst)
    data["Src Port"] = flows["sport"]
    data["Dst Port"] = flows["dport"]
    data["Label"] = pd.Categorical.from_codes(flows["label"], dtype=schema.LABEL_DTYPE)
    data["Connection Type"] = pd.Categorical.from_codes(
        flows["wireless"].astype(np.int8), dtype=schema.CONNECTION_TYPE_DTYPE
    )
    order = rng.permutation(n)
    out = {}
    for name, dtype in schema.COLUMNS.items():
        values = data[name]
        if isinstance(values, np.ndarray):
            values = values[order]
            if dtype != "datetime64[s]":
                values = _narrow(values, dtype, name)
            out[name] = values
        else:
            out[name] = values.take(order)
    frame = pd.DataFrame(out, copy=False)
    return frame.astype(schema.COLUMNS)


def _narrow(values: np.ndarray, dtype: str, name: str) -> np.ndarray:
    """Cast to the canonical dtype, rejecting integers that it would wrap."""
    target = np.dtype(dtype)
    if target.kind in "iu" and values.size:
        info = np.iinfo(target)
        low, high = values.min(), values.max()
        if low < info.min or high > info.max:
            raise RuntimeError(
                f"the twin drew {name!r} values from {low} to {high}, outside "
                f"{target}; the calibration or a class profile is wrong."
            )
    return values.astype(target)
