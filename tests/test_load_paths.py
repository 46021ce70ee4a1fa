"""The fast paths of ``load_flows`` give the same frames as the careful ones.

A CSV whose integer columns contain plain integers is parsed to integers
directly. Any other cell sends the whole file through the float64 parse and
its checks. A Parquet file's numbers are used in place, and a dictionary that
is already sorted becomes the categories as it is. Columns are converted on
threads, and errors and warnings must still come in the published order.
"""

from __future__ import annotations

import gzip
import logging

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from flow_csv import csv_text, synthetic_frame, text_row, write_text

from iotlab import schema
from iotlab._memory import arrow_pool_for_load, load_pool
from iotlab.data import SchemaError, load_flows, write_published_csv


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return synthetic_frame(40, seed=3)


def test_integer_with_point_reread_as_float(tmp_path, frame, caplog):
    path = write_published_csv(frame, tmp_path / "plain.csv")
    lines = path.read_text().splitlines()
    column = schema.COLUMN_NAMES.index("Flow Duration")
    fields = lines[3].split(",")
    fields[column] = fields[column] + ".0"
    lines[3] = ",".join(fields)
    edited = write_text(tmp_path / "point.csv", "\n".join(lines) + "\n")
    with caplog.at_level(logging.INFO, logger="iotlab.data"):
        loaded = load_flows(edited)
    assert f"'Flow Duration' contains {fields[column]!r}" in caplog.text
    assert "read again and every number checked" in caplog.text
    pd.testing.assert_frame_equal(loaded, load_flows(path))
    pd.testing.assert_frame_equal(loaded, frame)


def test_first_wrong_column_is_named(tmp_path):
    # Both cells are wrong, and Flow Duration comes first in the published order.
    rows = [text_row(), text_row(Flow_Duration="2.5", Total_Fwd_Packet="1.5")]
    path = write_text(tmp_path / "two.csv", csv_text(rows))
    for _ in range(5):
        with pytest.raises(SchemaError, match="column 'Flow Duration'"):
            load_flows(path)


@pytest.mark.parametrize("compressed", [False, True])
def test_hex_integer_cell_is_rejected(tmp_path, compressed):
    # Arrow's integer parser reads 0xffffffff as -1, but the float64 parse rejects it.
    text = csv_text([text_row(), text_row(Flow_Duration="0xffffffff")])
    path = write_text(tmp_path / "hex.csv", text)
    if compressed:
        path = tmp_path / "hex.csv.gz"
        path.write_bytes(gzip.compress(text.encode()))
    with pytest.raises(SchemaError) as error:
        load_flows(path)
    message = str(error.value)
    assert "column 'Flow Duration' must be numeric" in message
    assert "'0xffffffff' on line 3" in message


def test_warnings_follow_the_column_order(tmp_path, caplog):
    rows = [text_row(Flow_Duration="3000000000", Bwd_Bulk_Rate_Avg="9.1e9")]
    path = write_text(tmp_path / "long.csv", csv_text(rows))
    with caplog.at_level(logging.WARNING, logger="iotlab.data"):
        load_flows(path)
    warnings = [record.getMessage() for record in caplog.records]
    assert len(warnings) == 2
    assert "'Flow Duration'" in warnings[0]
    assert "'Bwd Bulk Rate Avg'" in warnings[1]


def test_parquet_frames_do_not_share_memory(tmp_path, frame):
    path = tmp_path / "flows.parquet"
    frame.to_parquet(path, index=False)
    first = load_flows(path)
    second = load_flows(path)
    arrays = {name: first[name].to_numpy() for name in schema.NUMERIC_COLUMNS}
    for name, values in arrays.items():
        assert not np.shares_memory(values, second[name].to_numpy()), name
        others = [other for other in arrays if other != name]
        assert not any(np.shares_memory(values, arrays[other]) for other in others), (
            name
        )
    first.loc[0, "Flow Duration"] = 123
    assert second["Flow Duration"].iloc[0] == frame["Flow Duration"].iloc[0]


def test_arrow_pool_is_restored(tmp_path, frame):
    before = pa.default_memory_pool().backend_name
    path = write_published_csv(frame, tmp_path / "flows.csv")
    load_flows(path)
    assert pa.default_memory_pool().backend_name == before
    frame.to_parquet(tmp_path / "flows.parquet", index=False)
    load_flows(tmp_path / "flows.parquet")
    assert pa.default_memory_pool().backend_name == before
    broken = write_text(tmp_path / "broken.csv", csv_text([text_row(Label="Nope")]))
    with pytest.raises(SchemaError):
        load_flows(broken)
    assert pa.default_memory_pool().backend_name == before


def test_arrow_pool_restored_after_overlap():
    # Two loads on different threads, where the first to start ends first.
    before = pa.default_memory_pool().backend_name
    first = arrow_pool_for_load("csv")
    second = arrow_pool_for_load("parquet")
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert pa.default_memory_pool().backend_name == "system"
    second.__exit__(None, None, None)
    assert pa.default_memory_pool().backend_name == before


def test_load_pool_by_kind():
    assert load_pool("csv").backend_name == "system"
    assert load_pool("gzip").backend_name == "system"
    try:
        expected = pa.jemalloc_memory_pool().backend_name
    except NotImplementedError:
        expected = pa.default_memory_pool().backend_name
    assert load_pool("parquet").backend_name == expected


def test_unsorted_parquet_dictionary_is_sorted(tmp_path, frame):
    shuffled = frame.copy()
    categories = list(shuffled["Src IP"].cat.categories)[::-1]
    shuffled["Src IP"] = shuffled["Src IP"].cat.reorder_categories(categories)
    path = tmp_path / "shuffled.parquet"
    shuffled.to_parquet(path, index=False)
    stored = pq.read_table(path).column("Src IP").chunk(0).dictionary.to_pylist()
    assert stored == categories
    loaded = load_flows(path)
    assert list(loaded["Src IP"].cat.categories) == sorted(categories)
    pd.testing.assert_frame_equal(loaded, frame)


def test_parquet_chunks_with_different_dictionaries(tmp_path, frame):
    halves = [
        pa.Table.from_pandas(part, preserve_index=False)
        for part in (frame.iloc[:20], frame.iloc[20:].reset_index(drop=True))
    ]
    path = tmp_path / "halves.parquet"
    with pq.ParquetWriter(path, halves[0].schema) as writer:
        for half in halves:
            writer.write_table(half)
    assert pq.ParquetFile(path).metadata.num_row_groups == 2
    pd.testing.assert_frame_equal(load_flows(path), frame)


def test_parquet_text_trimmed_where_needed(tmp_path, frame):
    padded = frame.copy()
    flow_ids = padded["Flow ID"].astype(object)
    flow_ids[0] = " " + flow_ids[0]
    flow_ids[1] = flow_ids[1] + "\u00a0"
    padded["Flow ID"] = flow_ids.astype("str")
    path = tmp_path / "padded.parquet"
    padded.to_parquet(path, index=False)
    pd.testing.assert_frame_equal(load_flows(path), frame)
    clean = tmp_path / "clean.parquet"
    frame.to_parquet(clean, index=False)
    pd.testing.assert_frame_equal(load_flows(clean), frame)


@pytest.mark.parametrize("spelling", ["nan", "NaN", "NAN", "-nan", "-NaN"])
def test_nan_spellings_need_no_reread(tmp_path, caplog, spelling):
    rows = [text_row(), text_row(Flow_Bytes_s=spelling)]
    path = write_text(tmp_path / "nan.csv", csv_text(rows))
    with caplog.at_level(logging.INFO, logger="iotlab.data"):
        loaded = load_flows(path)
    assert "read again" not in caplog.text
    assert np.isnan(loaded["Flow Bytes/s"].iloc[1])
    assert loaded["Flow Bytes/s"].iloc[0] == 0.5


@pytest.mark.parametrize("spelling", ["NA", "N/A", "#N/A", "null", "None", "<NA>"])
def test_other_null_spellings_reread(tmp_path, caplog, spelling):
    rows = [text_row(), text_row(Flow_Bytes_s=spelling)]
    path = write_text(tmp_path / "null.csv", csv_text(rows))
    with caplog.at_level(logging.INFO, logger="iotlab.data"):
        loaded = load_flows(path)
    assert "read again" in caplog.text
    assert np.isnan(loaded["Flow Bytes/s"].iloc[1])


@pytest.mark.parametrize("column", ["Flow ID", "Src IP", "Timestamp", "Label"])
def test_invalid_utf8_text_rejected(tmp_path, column):
    # The bad byte sits past the 64 KiB head that load_flows checks first.
    lines = csv_text([text_row()] * 400).encode().splitlines(keepends=True)
    assert sum(map(len, lines[:-1])) > 1 << 16
    cells = lines[-1].split(b",")
    position = schema.COLUMN_NAMES.index(column)
    cells[position] = cells[position] + b"\xff"
    lines[-1] = b",".join(cells)
    path = tmp_path / "bytes.csv"
    path.write_bytes(b"".join(lines))
    with pytest.raises(SchemaError, match="not valid UTF-8"):
        load_flows(path)
