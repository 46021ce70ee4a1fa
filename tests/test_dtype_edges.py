"""Edge cases of the compact dtypes: int32 columns with their fallbacks, and
categorical ``Src IP``/``Dst IP``.

The files are built from the offline twin written in the published layout,
then edited cell by cell.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from iotlab import schema
from iotlab.data import SchemaError, load_flows, validate_frame, write_published_csv
from iotlab.fetch import fetch
from iotlab.preprocessing import make_preprocessor, stratified_split
from iotlab.twin import make_twin

INT32_MAX = 2**31 - 1


@pytest.fixture(scope="module")
def twin() -> pd.DataFrame:
    frame = make_twin(120, seed=2)
    frame.attrs = {}
    return frame


@pytest.fixture(scope="module")
def twin_lines(twin, tmp_path_factory) -> list[str]:
    path = write_published_csv(twin, tmp_path_factory.mktemp("twin") / "twin.csv")
    return path.read_text().splitlines()


def _with_cells(lines: list[str], edits: dict[tuple[int, str], str]) -> str:
    """Return the CSV text with cells replaced, keyed by (line number, column)."""
    edited = list(lines)
    for (line_number, column), text in edits.items():
        fields = edited[line_number - 1].split(",")
        fields[schema.COLUMN_NAMES.index(column)] = text
        edited[line_number - 1] = ",".join(fields)
    return "\n".join(edited) + "\n"


def _load_edited(tmp_path, lines, edits) -> pd.DataFrame:
    path = tmp_path / "edited.csv"
    path.write_text(_with_cells(lines, edits))
    return load_flows(path)


def _load_error(tmp_path, lines, edits) -> str:
    with pytest.raises(SchemaError) as caught:
        _load_edited(tmp_path, lines, edits)
    return str(caught.value)


# --------------------------------------------------------------------------
# Integer columns and their fallbacks


def test_overflow_beyond_first_block(tmp_path, caplog):
    frame = make_twin(20_000, seed=0)
    path = write_published_csv(frame, tmp_path / "large.csv")
    # The reader parses 8 MiB blocks, so the edited cell lies in a later block.
    assert path.stat().st_size > 8 << 20
    lines = path.read_text().splitlines()
    last_line = len(lines)
    path.write_text(_with_cells(lines, {(last_line, "Flow Duration"): "3000000000"}))

    with caplog.at_level(logging.WARNING, logger="iotlab.data"):
        loaded = load_flows(path)

    assert loaded["Flow Duration"].dtype == np.int64
    assert loaded["Flow Duration"].iloc[-1] == 3_000_000_000
    before = frame["Flow Duration"].iloc[:-1].astype(np.int64)
    assert (loaded["Flow Duration"].iloc[:-1] == before).all()
    expected = f"'Flow Duration' contains 3000000000 on line {last_line}"
    assert expected in caplog.text


@pytest.mark.parametrize(
    ("text", "dtype", "value"),
    [
        ("2147483647", np.int32, INT32_MAX),
        ("2147483648", np.int64, INT32_MAX + 1),
        ("-2147483648", np.int32, -INT32_MAX - 1),
        ("-2147483649", np.int64, -INT32_MAX - 2),
        ("2147483648.0", np.int64, INT32_MAX + 1),
    ],
)
def test_int32_boundaries(tmp_path, twin_lines, text, dtype, value):
    loaded = _load_edited(tmp_path, twin_lines, {(5, "Fwd Header Length"): text})
    assert loaded["Fwd Header Length"].dtype == dtype
    assert loaded["Fwd Header Length"].iloc[3] == value


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "must not have empty or NaN cells"),
        ("inf", "but contains inf on line 7"),
        ("-inf", "but contains -inf on line 7"),
        ("1.5", "must hold whole numbers but contains 1.5 on line 7"),
        ("1e20", "contains 100000000000000000000 on line 7"),
    ],
)
def test_bad_int32_cells_rejected(tmp_path, twin_lines, text, problem):
    message = _load_error(tmp_path, twin_lines, {(7, "Flow Duration"): text})
    assert "column 'Flow Duration'" in message
    assert problem in message
    assert "line 7" in message


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (2**53 + 1, "from 2**53"),
        (2**63 - 1, "must hold integers from"),
    ],
)
def test_huge_csv_integers_rejected(tmp_path, twin_lines, value, problem):
    # CSV integers are parsed as float64, which may round values from 2**53 on, so
    # such a value is an error that names its line rather than a silent change.
    edits = {(4, "Flow Duration"): str(value)}
    message = _load_error(tmp_path, twin_lines, edits)
    assert "column 'Flow Duration' (int64)" in message
    assert problem in message
    assert "on line 4" in message


def test_ratio_fraction_keeps_empty_rejected(tmp_path, twin_lines):
    # An empty Down/Up Ratio is an error on its own. A fraction on another
    # line must not turn it into a silent NaN.
    edits = {(3, "Down/Up Ratio"): "0.5", (6, "Down/Up Ratio"): ""}
    message = _load_error(tmp_path, twin_lines, edits)
    assert "column 'Down/Up Ratio'" in message
    assert "line 6" in message


def test_fallback_frame_round_trips(tmp_path, twin_lines, caplog):
    edits = {
        (3, "Down/Up Ratio"): "0.5",
        (4, "Total Fwd Packet"): "-2147483649",
    }
    with caplog.at_level(logging.WARNING, logger="iotlab.data"):
        loaded = _load_edited(tmp_path, twin_lines, edits)
    assert loaded["Down/Up Ratio"].dtype == np.float64
    assert loaded["Total Fwd Packet"].dtype == np.int64
    assert "'Down/Up Ratio' contains 0.5 on line 3" in caplog.text

    path = write_published_csv(loaded, tmp_path / "again.csv")
    assert path.read_text() == _with_cells(twin_lines, edits)
    pd.testing.assert_frame_equal(load_flows(path), loaded)


def test_parquet_cache_keeps_fallbacks(tmp_path, twin_lines):
    edits = {(3, "Down/Up Ratio"): "0.5", (9, "Flow IAT Max"): "5000000000"}
    source = tmp_path / "sample.csv"
    source.write_text(_with_cells(twin_lines, edits))
    result = fetch("file", path=source, subset=True, data_dir=tmp_path / "data")
    pd.testing.assert_frame_equal(load_flows(result.path), load_flows(source))


def test_preprocessing_ignores_fallback_dtypes(twin):
    X = twin.drop(columns=[schema.LABEL])
    X_train, X_test, _, _ = stratified_split(X, twin[schema.LABEL], seed=0)
    wide_train, wide_test = X_train.copy(), X_test.copy()
    for frame in (wide_train, wide_test):
        frame["Flow Duration"] = frame["Flow Duration"].astype(np.int64)
        frame["Down/Up Ratio"] = frame["Down/Up Ratio"].astype(np.float64)
        frame["Src IP"] = frame["Src IP"].astype(str)
    for feature_set in ("paper", "flow"):
        canonical = make_preprocessor(feature_set).fit(X_train)
        wide = make_preprocessor(feature_set).fit(wide_train)
        pd.testing.assert_frame_equal(
            canonical.transform(X_test), wide.transform(wide_test)
        )


# --------------------------------------------------------------------------
# Categorical IP columns


def test_ip_edge_cases_round_trip(tmp_path, twin, twin_lines):
    address = str(twin["Src IP"].iloc[0])
    edits = {
        (2, "Src IP"): f"  {address}\t",
        (3, "Src IP"): "",
        (4, "Dst IP"): "hôte-ü",
        (5, "Dst IP"): '"10.0.0.1, spare"',
    }
    loaded = _load_edited(tmp_path, twin_lines, edits)
    assert loaded["Src IP"].iloc[0] == address
    assert loaded["Src IP"].iloc[1] == ""
    assert loaded["Dst IP"].iloc[2] == "hôte-ü"
    assert loaded["Dst IP"].iloc[3] == "10.0.0.1, spare"
    categories = loaded["Src IP"].cat.categories
    assert categories.is_unique
    assert categories.tolist() == sorted(categories)

    path = write_published_csv(loaded, tmp_path / "again.csv")
    pd.testing.assert_frame_equal(load_flows(path), loaded)


def test_one_row_file(tmp_path, twin_lines):
    path = tmp_path / "one.csv"
    path.write_text("\r\n".join(twin_lines[:2]))
    loaded = load_flows(path)
    assert len(loaded) == 1
    assert loaded["Src IP"].cat.categories.tolist() == [loaded["Src IP"].iloc[0]]
    again = write_published_csv(loaded, tmp_path / "again.csv")
    pd.testing.assert_frame_equal(load_flows(again), loaded)


def test_parquet_string_ips_match_dictionary(tmp_path, twin):
    table = pa.Table.from_pandas(twin, preserve_index=False)
    for name, arrow_type in (("Src IP", pa.string()), ("Dst IP", pa.large_string())):
        position = table.schema.get_field_index(name)
        table = table.set_column(position, name, table[name].cast(arrow_type))
    pq.write_table(table, tmp_path / "strings.parquet", row_group_size=50)
    pd.testing.assert_frame_equal(load_flows(tmp_path / "strings.parquet"), twin)


def test_parquet_null_ip_round_trips(tmp_path, twin):
    addresses = twin["Src IP"].astype(str).tolist()
    addresses[3] = None
    table = pa.Table.from_pandas(twin, preserve_index=False)
    position = table.schema.get_field_index("Src IP")
    table = table.set_column(position, "Src IP", pa.array(addresses, pa.string()))
    pq.write_table(table, tmp_path / "nulls.parquet")
    loaded = load_flows(tmp_path / "nulls.parquet")

    path = write_published_csv(loaded, tmp_path / "nulls.csv")
    pd.testing.assert_frame_equal(load_flows(path), loaded)


def test_string_ips_rejected_with_hint(twin):
    frame = twin.copy()
    frame["Src IP"] = frame["Src IP"].astype(str)
    with pytest.raises(SchemaError) as caught:
        validate_frame(frame)
    message = str(caught.value)
    assert "'Src IP' is str (expected a categorical of strings" in message
    assert ".astype(str).astype('category')" in message
    assert "load_flows" in message


def test_integer_category_ips_message(twin):
    frame = twin.copy()
    frame["Src IP"] = pd.Categorical(np.arange(len(frame)) % 3)
    with pytest.raises(SchemaError) as caught:
        validate_frame(frame)
    # "is category (expected category)" does not say what is wrong.
    message = str(caught.value)
    assert "'Src IP' is category (expected category)" not in message
    assert "'Src IP' is a categorical of int64" in message
    assert "expected a categorical of strings" in message


@pytest.mark.parametrize(
    ("column", "text", "value"),
    [
        ("FWD Init Win Bytes", "-1", -1),
        ("Bwd Init Win Bytes", "70000", 70_000),
        ("Fwd Seg Size Min", "300", 300),
        ("Fwd Packet Length Max", "70000.0", 70_000),
    ],
)
def test_header_bounded_falls_back(tmp_path, twin_lines, caplog, column, text, value):
    with caplog.at_level(logging.WARNING, logger="iotlab.data"):
        loaded = _load_edited(tmp_path, twin_lines, {(4, column): text})
    assert loaded[column].dtype == np.int32
    assert loaded[column].iloc[2] == value
    assert f"'{column}' contains {value} on line 4" in caplog.text
    assert "loaded as int32" in caplog.text
    validate_frame(loaded, source="edited")


def test_header_bounded_dtypes(twin):
    for column in schema.HEADER_BOUNDED_COLUMNS:
        assert twin[column].dtype in (np.uint16, np.uint8), column
        assert schema.FALLBACK_DTYPES[column] == "int32", column
    assert "Src Port" not in schema.FALLBACK_DTYPES
