"""Small made-up flow frames in the canonical schema, for tests.

Values are random but depend on the class, so that models can learn them.
They are not meant to resemble real traffic (``iotlab.twin`` does that).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from iotlab import schema


def make_flows(counts: dict[str, int] | None = None, seed: int = 0) -> pd.DataFrame:
    """Build a frame with ``counts[label]`` rows per class and all 85 columns.

    Every numeric column is a class mean plus noise, scaled per column. The
    six columns of ``schema.CONSTANT_COLUMNS`` are constant and the rate
    columns contain a few inf and NaN values. ``Flow ID`` joins the IPs,
    ports and protocol as in the published file.
    """
    if counts is None:
        counts = {label: 40 for label in schema.LABELS[:11]} | {"ARP Spoofing": 5}
    rng = np.random.default_rng(seed)
    labels = np.repeat(list(counts), list(counts.values()))
    codes = np.array([schema.LABELS.index(label) for label in labels])
    n_rows = len(labels)
    frame = {}
    for position, (column, dtype) in enumerate(schema.COLUMNS.items()):
        if column in schema.TEXT_COLUMNS:
            continue
        if column in schema.CONSTANT_COLUMNS:
            values = np.zeros(n_rows)
        else:
            scale = 1 + position % 7
            centre = ((codes * (position + 3)) % 12) * scale
            values = np.abs(centre + rng.normal(0, 0.6 * scale, n_rows))
        if np.dtype(dtype).kind in "iu":
            values = np.round(values).astype(dtype)
        frame[column] = values
    frame["Flow Bytes/s"][:3] = np.inf
    frame["Flow Bytes/s"][3:5] = np.nan
    frame["Flow Packets/s"][:3] = np.inf
    hosts = np.array([f"192.168.1.{10 + code}" for code in codes])
    frame["Src IP"] = hosts
    frame["Dst IP"] = np.where(codes % 2 == 0, "192.168.1.1", "10.0.0.2")
    frame["Timestamp"] = pd.Timestamp("2023-10-30 09:00:00") + pd.to_timedelta(
        rng.integers(0, 5 * 86_400, n_rows), unit="s"
    )
    frame["Label"] = labels
    frame["Connection Type"] = np.where(codes % 3 == 0, "wired", "wireless")
    df = pd.DataFrame(frame)
    df["Flow ID"] = (
        df["Src IP"]
        + "-"
        + df["Dst IP"]
        + "-"
        + df["Src Port"].astype(str)
        + "-"
        + df["Dst Port"].astype(str)
        + "-"
        + df["Protocol"].astype(str)
    )
    df = df[list(schema.COLUMN_NAMES)]
    df = df.astype(schema.COLUMNS)
    df = df.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    df.attrs["source"] = "synthetic"
    df.attrs["source_detail"] = (
        f"{n_rows} made-up rows built by tests/synthetic_flows.py"
    )
    return df
