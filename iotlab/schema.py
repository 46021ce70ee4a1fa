"""The ACI-IoT-2023 flow file's schema, stored as data.

Every other module takes column names, dtypes, labels and column groups from
here, so that the loader, the offline twin and the preprocessing steps agree
on one definition.

The canonical dtypes follow the notation of the published CSV and keep every
value exactly as the file writes it, in as little memory as that allows.
Columns that the file writes without a decimal point are integers. Columns
that CICFlowMeter computes as a maximum, minimum, sum or integer ratio of
packet counts, packet lengths or microsecond times are integers too, because
their values are whole numbers written as ``1933.0``. Integers are ``int32``,
except where a field of the packet headers bounds the values: ``uint16`` for
ports, single-packet lengths and TCP windows, ``uint8`` for ``Protocol`` and
``Fwd Seg Size Min``. The ``int32`` range covers the
microsecond times of any flow within CICFlowMeter's default two-minute
timeout, and byte counts up to 2 GiB per flow. Only ``Idle Max`` and
``Idle Min``, which contain capture times in epoch microseconds, need
``int64``. A file whose values do not fit an ``int32`` column, or a
header-bounded one other than the ports and ``Protocol``, is still read,
because the loader falls back to the column's dtype in ``FALLBACK_DTYPES``
and logs a warning. Every other numeric column is ``float64``, because
``float32`` would round the published values.

Text columns are pandas ``string`` (``Flow ID``, nearly unique per row),
``category`` (``Src IP`` and ``Dst IP``, whose few distinct hosts repeat over
many rows; the categories are the sorted addresses), ``datetime64[s]``
(``Timestamp``), or a categorical with a fixed set of categories (``Label``
and ``Connection Type``).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

#: Class labels in the order of their row counts in the full file.
LABELS: tuple[str, ...] = (
    "Port Scan",
    "Benign",
    "ICMP Flood",
    "Ping Sweep",
    "DNS Flood",
    "Vulnerability Scan",
    "OS Scan",
    "Slowloris",
    "SYN Flood",
    "Dictionary Attack",
    "UDP Flood",
    "ARP Spoofing",
)

#: Rows per class in the full published file (1,231,411 rows).
FULL_CLASS_COUNTS: dict[str, int] = {
    "Port Scan": 441_282,
    "Benign": 329_295,
    "ICMP Flood": 225_234,
    "Ping Sweep": 71_928,
    "DNS Flood": 46_935,
    "Vulnerability Scan": 39_537,
    "OS Scan": 37_524,
    "Slowloris": 18_643,
    "SYN Flood": 13_857,
    "Dictionary Attack": 6_380,
    "UDP Flood": 791,
    "ARP Spoofing": 5,
}
FULL_ROWS: int = 1_231_411

CONNECTION_TYPES: tuple[str, ...] = ("wired", "wireless")

LABEL_DTYPE = pd.CategoricalDtype(categories=list(LABELS), ordered=False)
CONNECTION_TYPE_DTYPE = pd.CategoricalDtype(
    categories=list(CONNECTION_TYPES), ordered=False
)

_U16 = "uint16"
_U8 = "uint8"
_I32 = "int32"
_I64 = "int64"
_F64 = "float64"
_STR = "string"
_CAT = "category"
_TIME = "datetime64[s]"

#: The 85 columns in file order with their canonical dtypes. The header's
#: irregular spelling (``Total Fwd Packet``, ``Total Bwd packets``,
#: ``FWD Init Win Bytes``) is the published one and is kept as is.
COLUMNS: dict[str, object] = {
    "Flow ID": _STR,
    "Src IP": _CAT,
    "Src Port": _U16,
    "Dst IP": _CAT,
    "Dst Port": _U16,
    "Protocol": _U8,
    "Timestamp": _TIME,
    "Flow Duration": _I32,
    "Total Fwd Packet": _I32,
    "Total Bwd packets": _I32,
    "Total Length of Fwd Packet": _I32,
    "Total Length of Bwd Packet": _I32,
    "Fwd Packet Length Max": _U16,
    "Fwd Packet Length Min": _U16,
    "Fwd Packet Length Mean": _F64,
    "Fwd Packet Length Std": _F64,
    "Bwd Packet Length Max": _U16,
    "Bwd Packet Length Min": _U16,
    "Bwd Packet Length Mean": _F64,
    "Bwd Packet Length Std": _F64,
    "Flow Bytes/s": _F64,
    "Flow Packets/s": _F64,
    "Flow IAT Mean": _F64,
    "Flow IAT Std": _F64,
    "Flow IAT Max": _I32,
    "Flow IAT Min": _I32,
    "Fwd IAT Total": _I32,
    "Fwd IAT Mean": _F64,
    "Fwd IAT Std": _F64,
    "Fwd IAT Max": _I32,
    "Fwd IAT Min": _I32,
    "Bwd IAT Total": _I32,
    "Bwd IAT Mean": _F64,
    "Bwd IAT Std": _F64,
    "Bwd IAT Max": _I32,
    "Bwd IAT Min": _I32,
    "Fwd PSH Flags": _I32,
    "Bwd PSH Flags": _I32,
    "Fwd URG Flags": _I32,
    "Bwd URG Flags": _I32,
    "Fwd Header Length": _I32,
    "Bwd Header Length": _I32,
    "Fwd Packets/s": _F64,
    "Bwd Packets/s": _F64,
    "Packet Length Min": _U16,
    "Packet Length Max": _U16,
    "Packet Length Mean": _F64,
    "Packet Length Std": _F64,
    "Packet Length Variance": _F64,
    "FIN Flag Count": _I32,
    "SYN Flag Count": _I32,
    "RST Flag Count": _I32,
    "PSH Flag Count": _I32,
    "ACK Flag Count": _I32,
    "URG Flag Count": _I32,
    "CWR Flag Count": _I32,
    "ECE Flag Count": _I32,
    "Down/Up Ratio": _I32,
    "Average Packet Size": _F64,
    "Fwd Segment Size Avg": _F64,
    "Bwd Segment Size Avg": _F64,
    "Fwd Bytes/Bulk Avg": _I32,
    "Fwd Packet/Bulk Avg": _I32,
    "Fwd Bulk Rate Avg": _I32,
    "Bwd Bytes/Bulk Avg": _I32,
    "Bwd Packet/Bulk Avg": _I32,
    "Bwd Bulk Rate Avg": _I32,
    "Subflow Fwd Packets": _I32,
    "Subflow Fwd Bytes": _I32,
    "Subflow Bwd Packets": _I32,
    "Subflow Bwd Bytes": _I32,
    "FWD Init Win Bytes": _U16,
    "Bwd Init Win Bytes": _U16,
    "Fwd Act Data Pkts": _I32,
    "Fwd Seg Size Min": _U8,
    "Active Mean": _F64,
    "Active Std": _F64,
    "Active Max": _I32,
    "Active Min": _I32,
    "Idle Mean": _F64,
    "Idle Std": _F64,
    "Idle Max": _I64,
    "Idle Min": _I64,
    "Label": LABEL_DTYPE,
    "Connection Type": CONNECTION_TYPE_DTYPE,
}

COLUMN_NAMES: tuple[str, ...] = tuple(COLUMNS)

#: Columns whose range a field of the packet headers bounds, apart from the
#: ports and ``Protocol``. The length of one packet fits the 16-bit IPv4
#: total length, the TCP window is a 16-bit field, and a TCP header has at
#: most 60 bytes. Like the ports, these columns take ``uint16`` or
#: ``uint8``, but a file with other values falls back to ``int32``.
HEADER_BOUNDED_COLUMNS: tuple[str, ...] = tuple(
    name
    for name, dtype in COLUMNS.items()
    if dtype in (_U16, _U8) and name not in ("Src Port", "Dst Port", "Protocol")
)

#: Dtype a column falls back to when a file contains values that its canonical
#: dtype cannot: an ``int32`` column with a value beyond 2**31 - 1 becomes
#: ``int64``, a column of ``HEADER_BOUNDED_COLUMNS`` with a negative value or
#: one beyond its range becomes ``int32``, and ``Down/Up Ratio`` with a
#: fraction becomes ``float64``. ``load_flows`` logs a warning when it falls
#: back, and ``validate_frame`` accepts either dtype.
FALLBACK_DTYPES: dict[str, str] = {
    name: _I64 for name, dtype in COLUMNS.items() if dtype == _I32
}
FALLBACK_DTYPES.update(dict.fromkeys(HEADER_BOUNDED_COLUMNS, _I32))
FALLBACK_DTYPES["Down/Up Ratio"] = _F64


def dtype_matches(name: str, dtype: object) -> bool:
    """Return whether ``dtype`` is an accepted dtype for column ``name``.

    Parameters
    ----------
    name : str
        A column of ``COLUMNS``.
    dtype : object
        A dtype, for example ``frame[name].dtype``.

    Returns
    -------
    bool
        True for the canonical dtype, for the column's entry in
        ``FALLBACK_DTYPES``, and, for ``category`` columns, for any
        categorical whose categories are strings.
    """
    expected = COLUMNS[name]
    if expected == _CAT:
        return isinstance(dtype, pd.CategoricalDtype) and pd.api.types.is_string_dtype(
            dtype.categories.dtype
        )
    accepted = [expected, FALLBACK_DTYPES.get(name, expected)]
    try:
        return any(dtype == pd.api.types.pandas_dtype(each) for each in accepted)
    except TypeError:
        return False


LABEL: str = "Label"
CONNECTION_TYPE: str = "Connection Type"
TIMESTAMP: str = "Timestamp"

#: Text columns of the file; the other 79 are numeric.
TEXT_COLUMNS: tuple[str, ...] = (
    "Flow ID",
    "Src IP",
    "Dst IP",
    "Timestamp",
    "Label",
    "Connection Type",
)
NUMERIC_COLUMNS: tuple[str, ...] = tuple(
    name for name in COLUMN_NAMES if name not in TEXT_COLUMNS
)

#: Columns that name a host, a port or a flow rather than describe behaviour.
IDENTIFIER_COLUMNS: tuple[str, ...] = (
    "Flow ID",
    "Src IP",
    "Dst IP",
    "Src Port",
    "Dst Port",
)
#: Columns that carry the capture time. The Idle Mean, Max and Min columns
#: hold capture times in epoch microseconds, not idle durations, so they leak
#: the capture day (and with it the class) into "behavioural" features.
TIME_COLUMNS: tuple[str, ...] = (
    "Timestamp",
    "Idle Mean",
    "Idle Std",
    "Idle Max",
    "Idle Min",
)
#: Rate columns that contain inf or NaN for zero-duration flows.
RATE_COLUMNS: tuple[str, ...] = ("Flow Bytes/s", "Flow Packets/s")
#: Columns that are constant over the whole published file. A sample can
#: make other columns look constant, so decide constancy on training rows.
CONSTANT_COLUMNS: tuple[str, ...] = (
    "Bwd PSH Flags",
    "Bwd URG Flags",
    "Fwd Bytes/Bulk Avg",
    "Fwd Packet/Bulk Avg",
    "Fwd Bulk Rate Avg",
    "Subflow Bwd Packets",
)
#: Text columns that the paper's preprocessing label-encodes.
CATEGORICAL_COLUMNS: tuple[str, ...] = ("Src IP", "Dst IP", "Connection Type")

#: First and last capture day. Attack classes each fall on one day; Benign
#: spans all five.
CAPTURE_START = dt.date(2023, 10, 30)
CAPTURE_END = dt.date(2023, 11, 3)

#: Size and SHA-256 of the published ``ACI-IoT-2023.csv``.
PUBLISHED_SIZE: int = 625_901_428
PUBLISHED_SHA256: str = (
    "280e1470d12ef1f94a0ef3dc73c356c2b2cdc0d7476b05e0f8d30752e662e044"
)
KAGGLE_HANDLE = "emilynack/aci-iot-network-traffic-dataset-2023"
CSV_NAME = "ACI-IoT-2023.csv"

GET_DATA_HINT = (
    "Get the published ACI-IoT-2023.csv from Kaggle "
    f"({KAGGLE_HANDLE}) or IEEE DataPort (doi:10.21227/qacj-3x32), "
    "for example with `python data_fetch.py --source kaggle`, or build the "
    "offline twin with `python data_fetch.py --source twin`."
)

assert len(COLUMNS) == 85
assert len(NUMERIC_COLUMNS) == 79
