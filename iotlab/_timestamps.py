"""Parse and render the ``Timestamp`` strings of the ACI-IoT-2023 flow file.

The published file writes its capture days in three layouts:

* ``2023-10-30 09:12:11`` for 30 October (ISO 8601 order),
* ``31/10/2023 09:12:11 AM`` for 31 October and 3 November (day first, 12-hour
  clock),
* ``2023-01-11 09:43:05`` and ``2023-02-11 …`` for 1 and 2 November, where
  the day and the month are swapped.

A spreadsheet that opens the file and saves it again rewrites most of them
as ``1/11/23 9:43`` (month first, two-digit year, no seconds), so the swapped
dates survive the round trip as 11 January and 11 February.

Each layout is parsed with an explicit format string on the strings that
match its regular expression, and then one rule repairs the swapped dates: a
date outside the capture window whose day-month swap falls inside the window
is swapped. Both steps are vectorised and run on the distinct strings only,
so a million rows with a few hundred thousand distinct seconds parse in well
under a second.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from iotlab.schema import CAPTURE_END, CAPTURE_START


class TimestampLayout(NamedTuple):
    """One way of writing a ``Timestamp``, with the formats that parse it."""

    description: str
    pattern: str
    formats: tuple[str, ...]


#: Layouts tried in order. A string is parsed by the first layout whose
#: pattern matches it in full. When a layout has two formats, the second one
#: parses what the first leaves unparsed (a day above 12 in the month field).
TIMESTAMP_LAYOUTS: tuple[TimestampLayout, ...] = (
    TimestampLayout(
        "ISO 8601 date and time (30 October, and the swapped 1 and 2 November)",
        r"\d{4}-\d{1,2}-\d{1,2} \d{1,2}:\d{2}:\d{2}",
        ("%Y-%m-%d %H:%M:%S",),
    ),
    TimestampLayout(
        "day/month/year with a 12-hour clock (31 October and 3 November)",
        r"\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2}:\d{2} [AP]M",
        ("%d/%m/%Y %I:%M:%S %p",),
    ),
    TimestampLayout(
        "spreadsheet month/day/two-digit year and minutes",
        r"\d{1,2}/\d{1,2}/\d{2} \d{1,2}:\d{2}",
        ("%m/%d/%y %H:%M", "%d/%m/%y %H:%M"),
    ),
    TimestampLayout(
        "spreadsheet month/day/year and minutes",
        r"\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2}",
        ("%m/%d/%Y %H:%M", "%d/%m/%Y %H:%M"),
    ),
    TimestampLayout(
        "spreadsheet month/day/year and seconds",
        r"\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2}:\d{2}",
        ("%m/%d/%Y %H:%M:%S", "%d/%m/%Y %H:%M:%S"),
    ),
    TimestampLayout(
        "ISO 8601 date and time without seconds",
        r"\d{4}-\d{1,2}-\d{1,2} \d{1,2}:\d{2}",
        ("%Y-%m-%d %H:%M",),
    ),
)

_ISO_FORMAT = "%Y-%m-%d %H:%M:%S"
_DAY_FIRST_FORMAT = "%d/%m/%Y %I:%M:%S %p"
_SWAPPED_FORMAT = "%Y-%d-%m %H:%M:%S"

#: Format string of each capture day in the published file. Days outside the
#: window are written in ISO order.
PUBLISHED_DAY_FORMATS: dict[np.datetime64, str] = {
    np.datetime64("2023-10-30"): _ISO_FORMAT,
    np.datetime64("2023-10-31"): _DAY_FIRST_FORMAT,
    np.datetime64("2023-11-01"): _SWAPPED_FORMAT,
    np.datetime64("2023-11-02"): _SWAPPED_FORMAT,
    np.datetime64("2023-11-03"): _DAY_FIRST_FORMAT,
}

_WINDOW_START = np.datetime64(CAPTURE_START, "D")
_WINDOW_END = np.datetime64(CAPTURE_END, "D")


def parse_timestamp_strings(strings: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Parse distinct ``Timestamp`` strings of any known layout.

    Parameters
    ----------
    strings : pandas.Series
        Strings without missing values. Surrounding whitespace is ignored.

    Returns
    -------
    values : numpy.ndarray
        ``datetime64[s]`` values, with NaT where a string could not be parsed
        and with swapped day and month repaired.
    unparsed : numpy.ndarray
        Boolean mask of the strings that no layout could parse.
    """
    text = pd.Series(strings, dtype="string").str.strip().reset_index(drop=True)
    values = np.full(len(text), np.datetime64("NaT"), dtype="datetime64[s]")
    pending = np.ones(len(text), dtype=bool)
    for layout in TIMESTAMP_LAYOUTS:
        matches = pending & text.str.fullmatch(layout.pattern).fillna(False).to_numpy()
        for fmt in layout.formats:
            if not matches.any():
                break
            parsed = pd.to_datetime(text[matches], format=fmt, errors="coerce")
            parsed = parsed.to_numpy().astype("datetime64[s]")
            positions = np.flatnonzero(matches)
            good = ~np.isnat(parsed)
            values[positions[good]] = parsed[good]
            pending[positions[good]] = False
            matches[positions[good]] = False
    unparsed = np.isnat(values)
    return swap_day_month_outside_window(values), unparsed


def swap_day_month_outside_window(values: np.ndarray) -> np.ndarray:
    """Swap day and month of dates that only then fall in the capture window.

    The published file writes 1 and 2 November 2023 as ``2023-01-11`` and
    ``2023-02-11``, and spreadsheets read ``03/11/2023`` as 11 March. The
    swap is applied only when the swapped date lies between
    ``iotlab.schema.CAPTURE_START`` and ``CAPTURE_END``; other dates outside
    the window are returned unchanged.

    Parameters
    ----------
    values : numpy.ndarray
        ``datetime64[s]`` values, NaT allowed.

    Returns
    -------
    numpy.ndarray
        A repaired copy of ``values``.
    """
    values = np.array(values, dtype="datetime64[s]", copy=True)
    days = values.astype("datetime64[D]")
    outside = ~np.isnat(values) & ((days < _WINDOW_START) | (days > _WINDOW_END))
    if not outside.any():
        return values
    positions = np.flatnonzero(outside)
    dates = pd.DatetimeIndex(days[positions])
    swapped = pd.to_datetime(
        pd.DataFrame({"year": dates.year, "month": dates.day, "day": dates.month}),
        errors="coerce",
    ).to_numpy()
    swapped_days = swapped.astype("datetime64[D]")
    inside = (
        ~np.isnat(swapped_days)
        & (swapped_days >= _WINDOW_START)
        & (swapped_days <= _WINDOW_END)
    )
    time_of_day = values[positions] - days[positions]
    repaired = swapped_days[inside].astype("datetime64[s]") + time_of_day[inside]
    values[positions[inside]] = repaired
    return values


def format_published_timestamps(values: np.ndarray) -> pa.Array:
    """Render ``datetime64[s]`` values as the published file writes them.

    Parameters
    ----------
    values : numpy.ndarray
        ``datetime64`` values; NaT becomes a null string.

    Returns
    -------
    pyarrow.StringArray
        One string per value, in the layout of its capture day (see
        ``PUBLISHED_DAY_FORMATS``).
    """
    values = np.asarray(values, dtype="datetime64[s]")
    distinct, inverse = np.unique(values, return_inverse=True)
    distinct_days = distinct.astype("datetime64[D]")
    arrow_values = pa.array(distinct, type=pa.timestamp("s"))
    text = pc.strftime(arrow_values, format=_ISO_FORMAT)
    for fmt in (_DAY_FIRST_FORMAT, _SWAPPED_FORMAT):
        days = [
            day
            for day, day_format in PUBLISHED_DAY_FORMATS.items()
            if day_format == fmt
        ]
        mask = np.isin(distinct_days, days)
        if mask.any():
            text = pc.if_else(mask, pc.strftime(arrow_values, format=fmt), text)
    return text.take(pa.array(inverse.ravel()))
