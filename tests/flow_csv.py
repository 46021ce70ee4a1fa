"""Made-up flow rows and CSV text for the loader and fetch tests.

The values are synthetic (built here, not taken from the dataset); they only
have to fit the published schema and exercise its corner cases.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from iotlab import schema
from iotlab.data import WHOLE_FLOAT_COLUMNS

#: Folder of real rows shared between projects; tests that read it skip when
#: it is missing.
SHARED_DATA = Path(
    os.environ.get(
        "IOTLAB_SHARED_DATA",
        Path(__file__).resolve().parents[1].parent / "shared" / "data",
    )
)
EXCEL_EXPORT = SHARED_DATA / "aci-iot-2023-excel-export.csv"
CALIBRATION = SHARED_DATA / "aci-iot-2023-calibration.csv"

HEADER = ",".join(schema.COLUMN_NAMES)


def synthetic_frame(n_rows: int = 60, seed: int = 0) -> pd.DataFrame:
    """Build ``n_rows`` made-up flows in the canonical schema.

    Labels cycle through all 12 classes, timestamps spread over the five
    capture days (with a 12:xx PM and a 00:xx AM time), and the first rows
    hold a zero-duration flow with inf and NaN rates.
    """
    rng = np.random.default_rng(seed)
    columns: dict[str, object] = {}
    for name, dtype in schema.COLUMNS.items():
        if name in schema.TEXT_COLUMNS:
            continue
        kind = np.dtype(dtype).kind
        if kind in "iu":
            high = min(np.iinfo(dtype).max, 5_000_000)
            columns[name] = rng.integers(0, high, n_rows).astype(dtype)
        else:
            values = rng.uniform(0, 1e6, n_rows) / rng.integers(1, 9, n_rows)
            values[::5] = np.round(values[::5])
            columns[name] = values
    columns["Idle Max"] = rng.integers(1_698_600_000, 1_699_100_000, n_rows) * 10**6
    columns["Idle Mean"] = columns["Idle Max"] - rng.uniform(0, 1e6, n_rows)
    columns["Flow Bytes/s"][0] = np.inf
    columns["Flow Bytes/s"][1] = np.nan
    columns["Flow Packets/s"][0:2] = np.inf
    columns["Flow IAT Std"][2] = 1.5e-05
    columns["Packet Length Variance"][3] = 2.5e16
    src = [f"192.168.1.{rng.integers(2, 250)}" for _ in range(n_rows)]
    dst = [f"10.0.{rng.integers(0, 9)}.{rng.integers(1, 250)}" for _ in range(n_rows)]
    columns["Src IP"] = src
    columns["Dst IP"] = dst
    columns["Flow ID"] = [
        f"{s}-{d}-{sp}-{dp}-{p}"
        for s, d, sp, dp, p in zip(
            src, dst, columns["Src Port"], columns["Dst Port"], columns["Protocol"]
        )
    ]
    days = np.datetime64("2023-10-30T00:00:00") + np.arange(
        n_rows
    ) % 5 * np.timedelta64(1, "D")
    seconds = rng.integers(0, 86_400, n_rows).astype("timedelta64[s]")
    seconds[0] = np.timedelta64(12 * 3600 + 5, "s")
    seconds[1] = np.timedelta64(5, "s")
    columns["Timestamp"] = (days + seconds).astype("datetime64[s]")
    columns["Label"] = [schema.LABELS[i % len(schema.LABELS)] for i in range(n_rows)]
    columns["Connection Type"] = [
        "wired" if i % 3 else "wireless" for i in range(n_rows)
    ]
    frame = pd.DataFrame(columns)[list(schema.COLUMN_NAMES)]
    return frame.astype(schema.COLUMNS)


def text_row(**overrides: str) -> dict[str, str]:
    """One made-up row as the published file writes it, keyed by column.

    Keyword names are column names with spaces and slashes replaced by
    underscores (``Flow_Bytes_s="inf"``).
    """
    row = {}
    for name, dtype in schema.COLUMNS.items():
        if name in schema.TEXT_COLUMNS:
            continue
        if np.dtype(dtype).kind == "f":
            row[name] = "0.5"
        elif name in WHOLE_FLOAT_COLUMNS:
            row[name] = "2.0"
        else:
            row[name] = "2"
    row.update(
        {
            "Flow ID": "192.168.1.5-192.168.1.1-40000-53-17",
            "Src IP": "192.168.1.5",
            "Src Port": "40000",
            "Dst IP": "192.168.1.1",
            "Dst Port": "53",
            "Protocol": "17",
            "Timestamp": "2023-10-30 10:00:00",
            "Label": "DNS Flood",
            "Connection Type": "wired",
        }
    )
    keys = {_keyword(name): name for name in schema.COLUMN_NAMES}
    for keyword, value in overrides.items():
        row[keys[keyword]] = value
    return row


def _keyword(name: str) -> str:
    return name.replace(" ", "_").replace("/", "_")


def csv_text(
    rows: list[dict[str, str]],
    header: list[str] | None = None,
    newline: str = "\n",
) -> str:
    """Join rows into CSV text under ``header`` (the published one by default)."""
    names = list(schema.COLUMN_NAMES) if header is None else header
    lines = [",".join(names)]
    for row in rows:
        lines.append(",".join(row[name] for name in schema.COLUMN_NAMES))
    return newline.join(lines) + newline


def write_text(path: Path, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` without newline translation and return it."""
    path.write_bytes(text.encode(encoding))
    return path
