"""Tests of iotlab.data: loading, checking and writing the flow file."""

from __future__ import annotations

import csv
import gzip
import logging
import zipfile

import numpy as np
import pandas as pd
import pytest
from flow_csv import (
    CALIBRATION,
    EXCEL_EXPORT,
    HEADER,
    csv_text,
    synthetic_frame,
    text_row,
    write_text,
)

from iotlab import data, schema
from iotlab.data import SchemaError, load_flows, validate_frame, write_published_csv


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return synthetic_frame(60, seed=1)


def _load_error(path) -> str:
    with pytest.raises(SchemaError) as caught:
        load_flows(path)
    message = str(caught.value)
    assert str(path) in message
    assert schema.GET_DATA_HINT in message
    return message


# --------------------------------------------------------------------------
# Schema re-exports


def test_schema_names_reexported():
    assert data.COLUMNS is schema.COLUMNS
    assert data.COLUMN_NAMES == schema.COLUMN_NAMES
    assert data.LABELS == schema.LABELS
    assert data.RATE_COLUMNS == ("Flow Bytes/s", "Flow Packets/s")
    assert "Src Port" in data.IDENTIFIER_COLUMNS
    assert "Idle Max" in data.TIME_COLUMNS
    assert issubclass(SchemaError, ValueError)


# --------------------------------------------------------------------------
# Reading good files


def test_round_trip_plain_csv(tmp_path, frame):
    path = write_published_csv(frame, tmp_path / "flows.csv")
    loaded = load_flows(path)
    assert list(loaded.columns) == list(schema.COLUMN_NAMES)
    for name in schema.COLUMN_NAMES:
        assert schema.dtype_matches(name, loaded[name].dtype), name
        assert loaded[name].dtype == frame[name].dtype, name
    assert isinstance(loaded.index, pd.RangeIndex)
    pd.testing.assert_frame_equal(loaded, frame)


def test_round_trip_gzip(tmp_path, frame):
    path = write_published_csv(frame, tmp_path / "flows.csv.gz")
    with gzip.open(path, "rt") as stream:
        assert stream.readline().rstrip("\n") == HEADER
    pd.testing.assert_frame_equal(load_flows(path), frame)


def test_reads_zip_with_one_csv(tmp_path, frame):
    csv_path = write_published_csv(frame, tmp_path / "flows.csv")
    archive = tmp_path / "archive.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(csv_path, "folder/some-name.csv")
    pd.testing.assert_frame_equal(load_flows(archive), frame)


def test_zip_prefers_published_name(tmp_path, frame):
    csv_path = write_published_csv(frame, tmp_path / "flows.csv")
    archive = tmp_path / "archive.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(csv_path, schema.CSV_NAME)
        zf.writestr("ACI-IoT-2023-Payload.csv", "payload\n")
    pd.testing.assert_frame_equal(load_flows(archive), frame)


def test_reads_parquet(tmp_path, frame):
    path = tmp_path / "flows.parquet"
    frame.to_parquet(path, index=False)
    pd.testing.assert_frame_equal(load_flows(path), frame)


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_loaded_cells_can_be_assigned(tmp_path, frame, file_format):
    # Arrow hands out read-only views of its memory, but a loaded frame must
    # still accept df.loc[row, column] = value in every column.
    path = tmp_path / f"flows.{file_format}"
    if file_format == "csv":
        write_published_csv(frame, path)
    else:
        frame.to_parquet(path, index=False)
    loaded = load_flows(path)
    for name in schema.COLUMN_NAMES:
        loaded.loc[0, name] = loaded[name].iloc[2]
        assert loaded[name].iloc[0] == loaded[name].iloc[2], name


def test_parquet_with_plain_dtypes_is_cast(tmp_path, frame):
    plain = frame.astype(
        {name: "float64" for name in schema.NUMERIC_COLUMNS}
        | {"Label": "str", "Connection Type": "str"}
    )
    plain["Timestamp"] = plain["Timestamp"].dt.strftime("%Y-%m-%d %H:%M:%S")
    path = tmp_path / "plain.parquet"
    plain.to_parquet(path)
    pd.testing.assert_frame_equal(load_flows(path), frame)


def test_format_is_sniffed_not_named(tmp_path, frame):
    path = tmp_path / "flows.csv"
    frame.to_parquet(path, index=False)
    pd.testing.assert_frame_equal(load_flows(path), frame)


def test_bom_crlf_and_whitespace(tmp_path):
    header = [f" {name} " for name in schema.COLUMN_NAMES]
    rows = [
        text_row(Label=" Benign ", Src_IP=" 192.168.1.5", Connection_Type="wireless "),
        text_row(Label="Port Scan"),
    ]
    text = "\ufeff" + csv_text(rows, header=header, newline="\r\n")
    loaded = load_flows(write_text(tmp_path / "windows.csv", text))
    assert list(loaded.columns) == list(schema.COLUMN_NAMES)
    assert loaded["Label"].tolist() == ["Benign", "Port Scan"]
    assert loaded["Src IP"][0] == "192.168.1.5"
    assert loaded["Connection Type"][0] == "wireless"
    assert loaded["Label"].dtype == schema.LABEL_DTYPE


def test_inf_and_nan_spellings(tmp_path):
    spellings = ["inf", "-inf", "Infinity", "-Infinity", "NaN", "nan", ""]
    rows = [text_row(Flow_Bytes_s=value) for value in spellings]
    loaded = load_flows(write_text(tmp_path / "rates.csv", csv_text(rows)))
    values = loaded["Flow Bytes/s"].to_numpy()
    np.testing.assert_array_equal(
        values, [np.inf, -np.inf, np.inf, -np.inf, np.nan, np.nan, np.nan]
    )


def test_whole_floats_in_integer_columns(tmp_path):
    row = text_row(Total_Length_of_Fwd_Packet="1933.0", Idle_Max="1.70E+15")
    loaded = load_flows(write_text(tmp_path / "floats.csv", csv_text([row])))
    assert loaded["Total Length of Fwd Packet"][0] == 1933
    assert loaded["Total Length of Fwd Packet"].dtype == np.int32
    assert loaded["Idle Max"][0] == 1_700_000_000_000_000
    assert loaded["Idle Max"].dtype == np.int64


def test_int32_overflow_falls_back(tmp_path, caplog):
    rows = [text_row(), text_row(Flow_Duration="3000000000", Bwd_Bulk_Rate_Avg="9.1e9")]
    with caplog.at_level(logging.WARNING, logger="iotlab.data"):
        loaded = load_flows(write_text(tmp_path / "long.csv", csv_text(rows)))
    assert loaded["Flow Duration"].dtype == np.int64
    assert loaded["Flow Duration"].tolist() == [2, 3_000_000_000]
    assert loaded["Bwd Bulk Rate Avg"].tolist() == [2, 9_100_000_000]
    assert loaded["Total Fwd Packet"].dtype == np.int32
    assert "'Flow Duration' contains 3000000000 on line 3" in caplog.text
    assert "loaded as int64" in caplog.text
    validate_frame(loaded, source="long flows")


def test_fractional_ratio_falls_back(tmp_path, caplog):
    rows = [text_row(Down_Up_Ratio="0.5")]
    with caplog.at_level(logging.WARNING, logger="iotlab.data"):
        loaded = load_flows(write_text(tmp_path / "ratio.csv", csv_text(rows)))
    assert loaded["Down/Up Ratio"].dtype == np.float64
    assert loaded["Down/Up Ratio"][0] == 0.5
    assert "'Down/Up Ratio' contains 0.5" in caplog.text
    validate_frame(loaded, source="ratio")


def test_fraction_in_int32_column_rejected(tmp_path):
    rows = [text_row(Flow_Duration="2.5")]
    message = _load_error(write_text(tmp_path / "half.csv", csv_text(rows)))
    assert "column 'Flow Duration' (int32) must hold whole numbers" in message


def test_ip_categories_trimmed_sorted(tmp_path):
    rows = [
        text_row(Src_IP="192.168.1.9 "),
        text_row(Src_IP=" 192.168.1.10"),
        text_row(Src_IP="192.168.1.9"),
    ]
    loaded = load_flows(write_text(tmp_path / "ips.csv", csv_text(rows)))
    ips = loaded["Src IP"]
    assert isinstance(ips.dtype, pd.CategoricalDtype)
    assert ips.cat.categories.tolist() == ["192.168.1.10", "192.168.1.9"]
    assert ips.tolist() == ["192.168.1.9", "192.168.1.10", "192.168.1.9"]
    assert (ips == "192.168.1.9").sum() == 2


def test_large_integer_exact(tmp_path):
    row = text_row(Idle_Min="1699031856857367.0", Flow_Duration="119999998")
    loaded = load_flows(write_text(tmp_path / "big.csv", csv_text([row])))
    assert loaded["Idle Min"][0] == 1_699_031_856_857_367
    assert loaded["Flow Duration"][0] == 119_999_998


def test_columns_in_other_order_are_reordered(tmp_path, frame):
    shuffled = frame[list(reversed(schema.COLUMN_NAMES))]
    path = tmp_path / "reversed.csv"
    shuffled.assign(
        Timestamp=frame["Timestamp"].dt.strftime("%Y-%m-%d %H:%M:%S")
    ).to_csv(path, index=False)
    loaded = load_flows(path)
    assert list(loaded.columns) == list(schema.COLUMN_NAMES)
    pd.testing.assert_frame_equal(loaded, frame)


def test_fully_quoted_csv(tmp_path, frame):
    path = tmp_path / "quoted.csv"
    text = frame.assign(
        Timestamp=frame["Timestamp"].dt.strftime("%Y-%m-%d %H:%M:%S")
    ).to_csv(index=False, quoting=csv.QUOTE_ALL)
    path.write_text(text)
    pd.testing.assert_frame_equal(load_flows(path), frame)


# --------------------------------------------------------------------------
# Bad input


def test_missing_file_raises_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_flows(tmp_path / "absent.csv")


def test_png_is_rejected(tmp_path):
    path = tmp_path / "flows.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    assert "PNG image" in _load_error(path)


def test_random_bytes_are_rejected(tmp_path):
    path = tmp_path / "noise.csv"
    path.write_bytes(
        np.random.default_rng(0).integers(0, 256, 4096, np.uint8).tobytes()
    )
    message = _load_error(path)
    assert "not a CSV" in message or "not UTF-8" in message


def test_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    assert "empty" in _load_error(path)


def test_header_only(tmp_path):
    path = write_text(tmp_path / "header.csv", HEADER + "\n")
    assert "no data rows" in _load_error(path)


def test_missing_column_named(tmp_path):
    header = [name for name in schema.COLUMN_NAMES if name != "Flow Bytes/s"]
    row = text_row()
    del row["Flow Bytes/s"]
    text = ",".join(header) + "\n" + ",".join(row.values()) + "\n"
    message = _load_error(write_text(tmp_path / "missing.csv", text))
    assert "missing columns 'Flow Bytes/s'" in message


def test_renamed_column_suggests_name(tmp_path):
    header = [
        "Flow Byts/s" if name == "Flow Bytes/s" else name
        for name in schema.COLUMN_NAMES
    ]
    path = write_text(tmp_path / "renamed.csv", csv_text([text_row()], header=header))
    message = _load_error(path)
    assert "'Flow Byts/s' (did you mean 'Flow Bytes/s'?)" in message


def test_case_changed_column_suggests_name(tmp_path):
    header = [
        "Total Bwd Packets" if name == "Total Bwd packets" else name
        for name in schema.COLUMN_NAMES
    ]
    path = write_text(tmp_path / "case.csv", csv_text([text_row()], header=header))
    assert "did you mean 'Total Bwd packets'?" in _load_error(path)


def test_extra_column_rejected(tmp_path):
    text = HEADER + ",Comment\n" + ",".join(text_row().values()) + ",x\n"
    message = _load_error(write_text(tmp_path / "extra.csv", text))
    assert "unknown columns 'Comment'" in message


def test_saved_pandas_index_explained(tmp_path, frame):
    path = tmp_path / "indexed.csv"
    frame.to_csv(path)
    assert "saved pandas index" in _load_error(path)


def test_trailing_comma_column(tmp_path):
    text = HEADER + ",\n" + ",".join(text_row().values()) + ",\n"
    message = _load_error(write_text(tmp_path / "trailing.csv", text))
    assert "a column without a name" in message


def test_semicolon_separated_explained(tmp_path):
    text = HEADER.replace(",", ";") + "\n" + ";".join(text_row().values()) + "\n"
    message = _load_error(write_text(tmp_path / "semicolons.csv", text))
    assert "separated by semicolons" in message


def test_duplicated_column(tmp_path):
    text = HEADER + ",Label\n" + ",".join(text_row().values()) + ",Benign\n"
    assert "duplicated columns 'Label'" in _load_error(
        write_text(tmp_path / "dup.csv", text)
    )


def test_other_dataset_recognised(tmp_path):
    text = "src,dst,proto,label\n1,2,3,4\n"
    message = _load_error(write_text(tmp_path / "other.csv", text))
    assert "Only 0 of the 85 published column names" in message


def test_unknown_label_named(tmp_path):
    rows = [text_row(), text_row(Label="DDoS"), text_row(Label="Beningn")]
    message = _load_error(write_text(tmp_path / "labels.csv", csv_text(rows)))
    assert "column 'Label'" in message
    assert "'DDoS' (1 row, first on line 3" in message
    assert "closest known value 'Benign'" in message


def test_empty_label_is_unknown(tmp_path):
    rows = [text_row(Label="")]
    message = _load_error(write_text(tmp_path / "blank.csv", csv_text(rows)))
    assert "column 'Label' contains unknown values: ''" in message


def test_text_in_numeric_column(tmp_path):
    rows = [text_row(), text_row(Flow_Duration="fast"), text_row(Flow_Duration="n.a.")]
    message = _load_error(write_text(tmp_path / "text.csv", csv_text(rows)))
    assert "column 'Flow Duration' must be numeric" in message
    assert "'fast' on line 3" in message
    assert "'n.a.' on line 4" in message


def test_fraction_in_integer_column(tmp_path):
    rows = [text_row(Total_Fwd_Packet="1.5")]
    message = _load_error(write_text(tmp_path / "fraction.csv", csv_text(rows)))
    assert "column 'Total Fwd Packet' (int32) must hold whole numbers" in message
    assert "1.5 on line 2" in message


def test_out_of_range_integer(tmp_path):
    rows = [text_row(), text_row(Src_Port="70000")]
    message = _load_error(write_text(tmp_path / "port.csv", csv_text(rows)))
    assert "column 'Src Port' (uint16) must hold integers from 0 to 65535" in message
    assert "70000 on line 3" in message


def test_negative_port(tmp_path):
    message = _load_error(
        write_text(tmp_path / "neg.csv", csv_text([text_row(Dst_Port="-1")]))
    )
    assert "-1 on line 2" in message


def test_empty_integer_cell(tmp_path):
    rows = [text_row(Flow_Duration="")]
    message = _load_error(write_text(tmp_path / "hole.csv", csv_text(rows)))
    assert "column 'Flow Duration' (int32) must not have empty or NaN cells" in message


def test_inf_in_integer_column(tmp_path):
    rows = [text_row(Flow_IAT_Max="inf")]
    message = _load_error(write_text(tmp_path / "inf.csv", csv_text(rows)))
    assert "column 'Flow IAT Max'" in message
    assert "inf on line 2" in message


def test_short_row(tmp_path):
    text = csv_text([text_row()]) + "1,2,3\n"
    assert "a row has 3 fields where the header has 85" in _load_error(
        write_text(tmp_path / "short.csv", text)
    )


def test_unparseable_timestamp(tmp_path):
    rows = [text_row(), text_row(Timestamp="yesterday")]
    message = _load_error(write_text(tmp_path / "when.csv", csv_text(rows)))
    assert "column 'Timestamp'" in message
    assert "'yesterday' (first on line 3)" in message


def test_latin1_text_rejected(tmp_path):
    rows = [text_row(Label="Bénign")]
    path = write_text(tmp_path / "latin.csv", csv_text(rows), encoding="latin-1")
    assert "UTF-8" in _load_error(path)


def test_excel_workbook_explained(tmp_path):
    path = tmp_path / "flows.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("xl/workbook.xml", "<workbook/>")
    assert "Excel workbook" in _load_error(path)


def test_empty_zip_says_empty(tmp_path):
    path = tmp_path / "flows.zip"
    zipfile.ZipFile(path, "w").close()
    message = _load_error(path)
    assert "the zip archive is empty." in message
    assert "members" not in message


def test_gz_name_without_gzip_content(tmp_path):
    path = tmp_path / "flows.csv.gz"
    path.write_bytes(bytes(range(256)) * 4)
    message = _load_error(path)
    assert "not a gzip file" in message
    assert "1f 8b" in message


def test_gzip_of_binary_content(tmp_path):
    path = tmp_path / "flows.csv.gz"
    path.write_bytes(gzip.compress(bytes(range(256)) * 4))
    message = _load_error(path)
    assert "the decompressed content is binary" in message


def test_gzip_header_then_garbage(tmp_path):
    path = tmp_path / "flows.csv.gz"
    path.write_bytes(b"\x1f\x8b" + bytes(range(2, 256)) * 4)
    assert "this is not a valid gzip file" in _load_error(path)


@pytest.mark.parametrize(
    "start",
    [
        b"<!DOCTYPE html>\n<html><body>Sign in</body></html>\n",
        b"\xef\xbb\xbf\n  <HTML lang='en'>\n",
    ],
)
def test_html_page_explained(tmp_path, start):
    path = tmp_path / "ACI-IoT-2023.csv"
    path.write_bytes(start)
    message = _load_error(path)
    assert "this is an HTML page, not a CSV file" in message
    assert "login page or a wrong link" in message


def test_xml_error_page_explained(tmp_path):
    path = tmp_path / "ACI-IoT-2023.csv"
    path.write_bytes(b'<?xml version="1.0"?><Error><Code>NoSuchKey</Code></Error>')
    assert "this is an XML document" in _load_error(path)


def test_check_csv_head_names_source(tmp_path):
    path = write_text(tmp_path / "page.csv", "<html>\n")
    with pytest.raises(SchemaError) as caught:
        data.check_csv_head(path, source="https://mirror.example/x.csv")
    message = str(caught.value)
    assert message.startswith("https://mirror.example/x.csv: this is an HTML page")
    assert str(path) not in message


def test_check_csv_head_returns_names(tmp_path):
    path = write_text(tmp_path / "flows.csv", HEADER + "\n")
    assert data.check_csv_head(path) == list(schema.COLUMN_NAMES)


def test_counts_of_one_are_singular(tmp_path):
    rows = [text_row(), text_row(Flow_Duration="fast")]
    message = _load_error(write_text(tmp_path / "one.csv", csv_text(rows)))
    assert "(1 such cell in all)" in message


def test_damaged_gzip(tmp_path, frame):
    path = write_published_csv(frame, tmp_path / "flows.csv.gz")
    content = path.read_bytes()
    path.write_bytes(content[: len(content) // 2])
    _load_error(path)


def test_arrow_errors_are_chained(tmp_path):
    rows = [text_row(Flow_Duration="fast")]
    with pytest.raises(SchemaError) as caught:
        load_flows(write_text(tmp_path / "chained.csv", csv_text(rows)))
    assert caught.value.__cause__ is not None


def test_parquet_without_rows(tmp_path, frame):
    path = tmp_path / "empty.parquet"
    frame.iloc[:0].to_parquet(path)
    assert "has columns but no data rows" in _load_error(path)


def test_parquet_missing_column(tmp_path, frame):
    path = tmp_path / "short.parquet"
    frame.drop(columns=["Protocol"]).to_parquet(path)
    assert "missing columns 'Protocol'" in _load_error(path)


# --------------------------------------------------------------------------
# validate_frame


def test_validate_frame_returns_frame(frame):
    assert validate_frame(frame) is frame


def test_validate_frame_wrong_dtype(frame):
    wrong = frame.astype({"Src Port": "int64"})
    with pytest.raises(SchemaError, match=r"'Src Port' is int64 \(expected uint16\)"):
        validate_frame(wrong, source="my frame")


def test_validate_frame_missing_column_named(frame):
    with pytest.raises(SchemaError, match="my frame: .*missing columns 'Label'"):
        validate_frame(frame.drop(columns="Label"), source="my frame")


def test_validate_frame_order(frame):
    with pytest.raises(SchemaError, match="published order"):
        validate_frame(frame[list(reversed(frame.columns))])


def test_validate_frame_missing_label(frame):
    holed = frame.copy()
    holed.loc[3, "Label"] = np.nan
    with pytest.raises(SchemaError, match="'Label' has 1 missing value "):
        validate_frame(holed)


def test_validate_frame_rejects_non_frame():
    with pytest.raises(TypeError):
        validate_frame([1, 2, 3])


# --------------------------------------------------------------------------
# write_published_csv


def test_written_text_layout(tmp_path):
    frame = synthetic_frame(10, seed=3)
    frame["Timestamp"] = pd.to_datetime(
        [
            "2023-10-30 09:12:11",
            "2023-10-31 13:05:09",
            "2023-11-01 09:43:05",
            "2023-11-02 00:10:00",
            "2023-11-03 12:00:00",
            "2023-11-05 08:00:00",
            "2023-10-30 00:00:00",
            "2023-10-31 00:30:00",
            "2023-11-01 23:59:59",
            "2023-11-03 11:59:59",
        ]
    ).astype("datetime64[s]")

    frame.loc[0, "Total Length of Fwd Packet"] = 1933
    frame.loc[0, "Flow Duration"] = 15488001
    frame.loc[0, "Fwd Packet Length Mean"] = 193.3
    frame.loc[1, "Fwd Packet Length Mean"] = 719.0
    frame.loc[2, "Fwd Packet Length Mean"] = 1e-05
    frame.loc[3, "Idle Mean"] = 849515936087709.5

    path = write_published_csv(frame, tmp_path / "out.csv")
    text = path.read_bytes().decode()
    assert "\r" not in text
    lines = text.split("\n")
    assert lines[0] == HEADER
    assert lines[-1] == ""

    cells = [line.split(",") for line in lines[1:-1]]
    column = schema.COLUMN_NAMES.index
    assert [row[column("Timestamp")] for row in cells] == [
        "2023-10-30 09:12:11",
        "31/10/2023 01:05:09 PM",
        "2023-01-11 09:43:05",
        "2023-02-11 00:10:00",
        "03/11/2023 12:00:00 PM",
        "2023-11-05 08:00:00",
        "2023-10-30 00:00:00",
        "31/10/2023 12:30:00 AM",
        "2023-01-11 23:59:59",
        "03/11/2023 11:59:59 AM",
    ]

    assert cells[0][column("Total Length of Fwd Packet")] == "1933.0"
    assert cells[0][column("Flow Duration")] == "15488001"
    assert cells[0][column("Fwd Packet Length Mean")] == "193.3"
    assert cells[1][column("Fwd Packet Length Mean")] == "719.0"
    assert cells[2][column("Fwd Packet Length Mean")] == "1e-05"
    assert cells[3][column("Idle Mean")] == "849515936087709.5"


def test_written_inf_and_nan(tmp_path, frame):
    lines = write_published_csv(frame, tmp_path / "out.csv").read_text().split("\n")
    first = lines[1].split(",")
    second = lines[2].split(",")
    assert first[schema.COLUMN_NAMES.index("Flow Bytes/s")] == "inf"
    assert second[schema.COLUMN_NAMES.index("Flow Bytes/s")] == ""
    assert second[schema.COLUMN_NAMES.index("Flow Packets/s")] == "inf"


def test_floats_written_as_repr(tmp_path):
    rng = np.random.default_rng(7)
    frame = synthetic_frame(400, seed=7)
    magnitudes = 10.0 ** rng.integers(-9, 20, 400)
    frame["Flow IAT Mean"] = rng.uniform(-1, 1, 400) * magnitudes
    frame.loc[::7, "Flow IAT Mean"] = np.round(frame["Flow IAT Mean"][::7])
    frame.loc[5, "Flow IAT Mean"] = -0.0
    path = write_published_csv(frame, tmp_path / "floats.csv")
    written = [
        line.split(",")[schema.COLUMN_NAMES.index("Flow IAT Mean")]
        for line in path.read_text().splitlines()[1:]
    ]
    assert written == [repr(value) for value in frame["Flow IAT Mean"].tolist()]
    pd.testing.assert_frame_equal(load_flows(path), frame)


def test_text_needing_quotes_round_trips(tmp_path, frame):
    odd = frame.copy()
    odd.loc[0, "Flow ID"] = 'a,"b"'
    path = write_published_csv(odd, tmp_path / "quoted.csv")
    pd.testing.assert_frame_equal(load_flows(path), odd)


def test_write_rejects_invalid_frame(tmp_path, frame):
    with pytest.raises(SchemaError, match="write_published_csv"):
        write_published_csv(frame.drop(columns="Label"), tmp_path / "bad.csv")
    assert list(tmp_path.iterdir()) == []


def test_interrupted_write_leaves_nothing(tmp_path, frame, monkeypatch):
    calls = []

    def fail_on_second_batch(block):
        calls.append(len(block))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original(block)

    original = data._render_rows
    monkeypatch.setattr(data, "_WRITE_BATCH_ROWS", 20)
    monkeypatch.setattr(data, "_render_rows", fail_on_second_batch)
    target = tmp_path / "out.csv"
    target.write_text("old content")
    with pytest.raises(KeyboardInterrupt):
        write_published_csv(frame, target)
    assert target.read_text() == "old content"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out.csv"]


# --------------------------------------------------------------------------
# Real rows (skipped without the shared data folder)


def _require(path):
    if not path.exists():
        pytest.skip(f"real rows not available: {path} is missing")


def test_excel_export_loads():
    _require(EXCEL_EXPORT)
    loaded = load_flows(EXCEL_EXPORT)
    assert loaded.shape == (4, 85)
    zero_duration = loaded[loaded["Flow Duration"] == 0]
    assert len(zero_duration) == 1
    assert np.isnan(zero_duration["Flow Bytes/s"].iloc[0])
    assert np.isinf(zero_duration["Flow Packets/s"].iloc[0])
    assert (loaded["Timestamp"] == pd.Timestamp("2023-11-01 09:43:00")).all()
    assert (loaded["Idle Max"] == 1_700_000_000_000_000).all()
    assert (loaded["Label"] == "Benign").all()


def test_calibration_rows_load():
    _require(CALIBRATION)
    loaded = load_flows(CALIBRATION)
    assert len(loaded) == 127
    assert set(loaded["Label"]) == set(schema.LABELS)
    days = loaded["Timestamp"].dt.normalize()
    assert days.min() == pd.Timestamp(schema.CAPTURE_START)
    assert days.max() == pd.Timestamp(schema.CAPTURE_END)
    assert loaded[list(schema.RATE_COLUMNS)].notna().all().all()


def test_calibration_rows_rewritten_byte_for_byte(tmp_path):
    _require(CALIBRATION)
    path = write_published_csv(load_flows(CALIBRATION), tmp_path / "again.csv")
    assert path.read_bytes() == CALIBRATION.read_bytes().replace(b"\r\n", b"\n")
