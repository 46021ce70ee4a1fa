"""Tests of Timestamp parsing and rendering in every layout of the flow file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from flow_csv import csv_text, text_row, write_text

from iotlab._timestamps import format_published_timestamps
from iotlab.data import SchemaError, load_flows, parse_timestamps


def _parse_one(text: str) -> pd.Timestamp:
    return parse_timestamps(pd.Series([text]))[0]


def test_iso_layout_of_30_october():
    assert _parse_one("2023-10-30 09:12:11") == pd.Timestamp("2023-10-30 09:12:11")


def test_day_first_layout_of_31_october():
    assert _parse_one("31/10/2023 01:05:09 PM") == pd.Timestamp("2023-10-31 13:05:09")


def test_day_first_layout_of_3_november():
    assert _parse_one("03/11/2023 09:55:16 AM") == pd.Timestamp("2023-11-03 09:55:16")


def test_day_first_midnight_and_noon():
    assert _parse_one("31/10/2023 12:30:00 AM") == pd.Timestamp("2023-10-31 00:30:00")
    assert _parse_one("03/11/2023 12:58:39 PM") == pd.Timestamp("2023-11-03 12:58:39")


def test_swapped_iso_layout_of_1_november():
    assert _parse_one("2023-01-11 10:50:11") == pd.Timestamp("2023-11-01 10:50:11")


def test_swapped_iso_layout_of_2_november():
    assert _parse_one("2023-02-11 13:39:23") == pd.Timestamp("2023-11-02 13:39:23")


def test_spreadsheet_layout_swapped_day():
    assert _parse_one("1/11/23 9:43") == pd.Timestamp("2023-11-01 09:43:00")


def test_spreadsheet_layout_of_30_october():
    assert _parse_one("10/30/23 9:12") == pd.Timestamp("2023-10-30 09:12:00")


def test_spreadsheet_layout_of_3_november():
    # A spreadsheet reads 03/11/2023 as 11 March and writes it month first.
    assert _parse_one("3/11/23 13:17") == pd.Timestamp("2023-11-03 13:17:00")


def test_spreadsheet_layout_day_above_12():
    assert _parse_one("31/10/23 9:00") == pd.Timestamp("2023-10-31 09:00:00")


def test_spreadsheet_layout_four_digit_year_with_seconds():
    assert _parse_one("11/2/2023 10:25:20") == pd.Timestamp("2023-11-02 10:25:20")


def test_iso_layout_without_seconds():
    assert _parse_one("2023-10-30 09:12") == pd.Timestamp("2023-10-30 09:12:00")


def test_surrounding_whitespace_ignored():
    assert _parse_one("  2023-10-30 09:12:11 ") == pd.Timestamp("2023-10-30 09:12:11")


def test_date_outside_window_kept():
    assert _parse_one("2024-05-20 08:00:00") == pd.Timestamp("2024-05-20 08:00:00")


def test_mixed_series_keeps_index_and_name():
    series = pd.Series(
        ["2023-10-30 09:12:11", None, "2023-01-11 10:50:11", "2023-10-30 09:12:11"],
        index=[10, 11, 12, 13],
        name="Timestamp",
    )
    parsed = parse_timestamps(series)
    assert parsed.dtype == "datetime64[s]"
    assert parsed.index.tolist() == [10, 11, 12, 13]
    assert parsed.name == "Timestamp"
    assert pd.isna(parsed[11])
    assert parsed[12] == pd.Timestamp("2023-11-01 10:50:11")
    assert parsed[13] == parsed[10]


def test_all_missing_gives_nat():
    parsed = parse_timestamps(pd.Series([None, None], dtype="string"))
    assert parsed.isna().all()


def test_unparseable_strings_listed():
    series = pd.Series(["2023-10-30 09:12:11", "yesterday", "2023-13-45 10:00:00"])
    with pytest.raises(SchemaError) as caught:
        parse_timestamps(series, source="my column")
    message = str(caught.value)
    assert message.startswith("my column:")
    assert "'yesterday' (first on row 1)" in message
    assert "'2023-13-45 10:00:00' (first on row 2)" in message
    assert "2 date-times in no known layout" in message


def test_every_layout_in_one_csv(tmp_path):
    texts = [
        "2023-10-30 09:12:11",
        "31/10/2023 01:05:09 PM",
        "2023-01-11 10:50:11",
        "2023-02-11 13:39:23",
        "03/11/2023 09:55:16 AM",
        "1/11/23 9:43",
    ]
    rows = [text_row(Timestamp=text) for text in texts]
    loaded = load_flows(write_text(tmp_path / "layouts.csv", csv_text(rows)))
    expected = pd.to_datetime(
        [
            "2023-10-30 09:12:11",
            "2023-10-31 13:05:09",
            "2023-11-01 10:50:11",
            "2023-11-02 13:39:23",
            "2023-11-03 09:55:16",
            "2023-11-01 09:43:00",
        ]
    )
    assert loaded["Timestamp"].dtype == "datetime64[s]"
    assert loaded["Timestamp"].tolist() == expected.tolist()


def test_rendering_by_capture_day():
    values = pd.to_datetime(
        [
            "2023-10-30 09:12:11",
            "2023-10-31 13:05:09",
            "2023-11-01 09:43:05",
            "2023-11-02 00:10:00",
            "2023-11-03 12:00:00",
            "2024-01-01 08:00:00",
        ]
    ).to_numpy()
    assert format_published_timestamps(values).to_pylist() == [
        "2023-10-30 09:12:11",
        "31/10/2023 01:05:09 PM",
        "2023-01-11 09:43:05",
        "2023-02-11 00:10:00",
        "03/11/2023 12:00:00 PM",
        "2024-01-01 08:00:00",
    ]


def test_rendering_then_parsing_round_trips():
    rng = np.random.default_rng(0)
    start = np.datetime64("2023-10-30T00:00:00", "s")
    values = start + rng.integers(0, 5 * 86_400, 5_000).astype("timedelta64[s]")
    text = pd.Series(format_published_timestamps(values).to_pylist())
    np.testing.assert_array_equal(parse_timestamps(text).to_numpy(), values)
