"""Load, check and write the ACI-IoT-2023 flow file (``ACI-IoT-2023.csv``).

``load_flows`` reads the published CSV in the states it arrives in (as
published, compressed, re-saved by a spreadsheet, cut down to a sample, or
converted to Parquet) and returns a frame with the canonical dtypes of
``iotlab.schema.COLUMNS``. ``validate_frame`` checks a frame against that
schema, and ``write_published_csv`` writes a frame back in the text layout of
the published file. Every problem with the input raises ``SchemaError``, whose
message names the file, the columns or values at fault and how to get the
right file.

The schema names are re-exported here, so ``iotlab.data.COLUMNS``,
``iotlab.data.LABELS`` and the column groups can be used directly.
"""

from __future__ import annotations

import contextlib
import csv
import difflib
import gzip
import io
import logging
import os
import re
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from iotlab._columns import NULL_TOKENS, frame_from_arrow, unparsed_timestamp_message
from iotlab._errors import (
    MAX_EXAMPLES,
    SchemaError,
    join_limited,
    plural,
    schema_error,
)
from iotlab._memory import arrow_pool_for_load
from iotlab._timestamps import (
    TIMESTAMP_LAYOUTS,
    format_published_timestamps,
    parse_timestamp_strings,
)
from iotlab.schema import (
    CAPTURE_END,
    CAPTURE_START,
    CATEGORICAL_COLUMNS,
    COLUMN_NAMES,
    COLUMNS,
    CONNECTION_TYPE,
    CONNECTION_TYPE_DTYPE,
    CONNECTION_TYPES,
    CONSTANT_COLUMNS,
    CSV_NAME,
    FALLBACK_DTYPES,
    FULL_CLASS_COUNTS,
    FULL_ROWS,
    GET_DATA_HINT,
    IDENTIFIER_COLUMNS,
    LABEL,
    LABEL_DTYPE,
    LABELS,
    NUMERIC_COLUMNS,
    RATE_COLUMNS,
    TEXT_COLUMNS,
    TIME_COLUMNS,
    TIMESTAMP,
    dtype_matches,
)

__all__ = [
    "CAPTURE_END",
    "CAPTURE_START",
    "CATEGORICAL_COLUMNS",
    "COLUMNS",
    "COLUMN_NAMES",
    "CONNECTION_TYPE",
    "CONNECTION_TYPES",
    "CONNECTION_TYPE_DTYPE",
    "CONSTANT_COLUMNS",
    "CSV_NAME",
    "FALLBACK_DTYPES",
    "FULL_CLASS_COUNTS",
    "FULL_ROWS",
    "GET_DATA_HINT",
    "IDENTIFIER_COLUMNS",
    "LABEL",
    "LABELS",
    "LABEL_DTYPE",
    "NUMERIC_COLUMNS",
    "RATE_COLUMNS",
    "TEXT_COLUMNS",
    "TIMESTAMP",
    "TIMESTAMP_LAYOUTS",
    "TIME_COLUMNS",
    "WHOLE_FLOAT_COLUMNS",
    "SchemaError",
    "check_csv_head",
    "detect_format",
    "load_flows",
    "open_csv_stream",
    "parse_timestamps",
    "validate_frame",
    "write_published_csv",
]

logger = logging.getLogger(__name__)

#: Integer columns that the published file writes with a trailing ``.0``
#: (``1933.0``), because CICFlowMeter computes them as floats. Every other
#: integer column is written without a decimal point. Observed in real rows of
#: the published file; ``write_published_csv`` reproduces it.
WHOLE_FLOAT_COLUMNS: tuple[str, ...] = (
    "Total Length of Fwd Packet",
    "Total Length of Bwd Packet",
    "Fwd Packet Length Max",
    "Fwd Packet Length Min",
    "Bwd Packet Length Max",
    "Bwd Packet Length Min",
    "Flow IAT Max",
    "Flow IAT Min",
    "Fwd IAT Total",
    "Fwd IAT Max",
    "Fwd IAT Min",
    "Bwd IAT Total",
    "Bwd IAT Max",
    "Bwd IAT Min",
    "Packet Length Min",
    "Packet Length Max",
    "Down/Up Ratio",
    "Active Max",
    "Active Min",
    "Idle Max",
    "Idle Min",
)

_HEAD_BYTES = 1 << 16
# 8 MiB blocks give each column 8 times fewer chunks to join than 1 MiB. On a
# 1.23M-row file (pyarrow 26, 2 cores) the benchmark's medians did not
# separate the two sizes.
_READ_BLOCK_BYTES = 8 << 20
_WRITE_BATCH_ROWS = 100_000

#: Leading bytes of formats that ``load_flows`` reads or recognises.
_MAGIC_KINDS = {
    b"PAR1": "parquet",
    b"\x1f\x8b": "gzip",
    b"PK\x03\x04": "zip",
    b"PK\x05\x06": "zip",
}
_MAGIC_NAMES = {
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"%PDF": "a PDF document",
    b"\xd0\xcf\x11\xe0": "a legacy Microsoft Office file (for example .xls)",
}
#: Lower-case starts of an HTML page, after leading blanks and a byte order mark.
_HTML_STARTS = (b"<!doctype html", b"<html", b"<head", b"<!--")


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------


def load_flows(path: str | os.PathLike) -> pd.DataFrame:
    """Load the ACI-IoT-2023 flow file, or a sample or export of it.

    Reads CSV (plain, ``.gz``, or a ``.zip`` archive holding one CSV) and
    Parquet; the format is recognised from the file's first bytes, not its
    name. A CSV may start with a UTF-8 byte-order mark, use Windows line
    endings, carry whitespace around header names and text values, and hold
    ``inf``, ``-inf``, ``Infinity``, ``NaN`` or empty cells in numeric
    columns. The spreadsheet layout (``1.70E+15``, ``1/11/23 9:43``) is read
    as well.

    Parameters
    ----------
    path : str or os.PathLike
        The file to read.

    Returns
    -------
    pandas.DataFrame
        Exactly the 85 columns of ``iotlab.schema.COLUMN_NAMES`` in the
        published order, with the dtypes of ``iotlab.schema.COLUMNS``.
        These are compact integers where the values are whole and
        ``float64`` for the other numbers. Identifiers are ``string``,
        ``Timestamp`` is ``datetime64[s]``, and ``Label`` and
        ``Connection Type`` are categoricals with fixed categories. The
        index is a ``RangeIndex``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    SchemaError
        If the file is not a CSV or Parquet file, is empty, lacks data rows,
        or has missing, renamed or extra columns. Also if a value does not
        fit its column: text in a numeric column, a fraction or an
        out-of-range number in an integer column, an unknown label, or an
        unparseable timestamp.

    See Also
    --------
    validate_frame : Check a frame that is already in memory.
    write_published_csv : Write a frame in the published text layout.

    Notes
    -----
    An integer column that the published file writes without a decimal
    point is parsed straight to its integer dtype. The columns of
    ``WHOLE_FLOAT_COLUMNS`` (``1933.0``) are parsed as ``float64`` and
    converted after checking that every value is whole and in range. So is
    every integer column when one of its cells fails the direct parse (a
    point, an exponent, text, a value out of range), or when the file
    contains ``0x``, a missing value spelled other than as an empty cell or
    a NaN, or text that is not UTF-8. The file is then read a second time,
    which takes longer. Parsing through ``float64`` is exact for the
    magnitudes in the published file, where the largest values (capture
    times in microseconds, about 1.7e15) are far below 2**53. An integer
    cell from 2**53 on raises ``SchemaError``, because its float64 may be
    rounded.

    An ``int32`` column whose values do not fit is loaded as ``int64``, and a
    fractional ``Down/Up Ratio`` as ``float64``, with a logged warning (see
    ``iotlab.schema.FALLBACK_DTYPES``). A missing text value in a Parquet
    file becomes the empty string, as an empty CSV cell does.
    """
    path = Path(path)
    source = str(path)
    if not path.exists():
        raise FileNotFoundError(f"{source}: no such file.\n{GET_DATA_HINT}")
    if path.is_dir():
        raise IsADirectoryError(f"{source} is a folder, not a file.\n{GET_DATA_HINT}")
    started = time.perf_counter()
    kind = detect_format(path)
    with arrow_pool_for_load(kind):
        if kind == "parquet":
            table = _read_parquet_table(path, source)
            line_offset = None
        else:
            table = _read_csv_table(path, kind, source)
            line_offset = 2
        if table.num_rows == 0:
            what = "columns" if kind == "parquet" else "a header"
            raise schema_error(source, f"the file has {what} but no data rows.")
        columns = {name: table.column(name) for name in table.column_names}
        del table
        frame = frame_from_arrow(columns, source, line_offset)
    logger.info(
        "Loaded %s rows from %s in %.1f s",
        f"{len(frame):,}",
        source,
        time.perf_counter() - started,
    )
    return frame


def _describe_wrong_dtype(name: str, actual: object, expected: object) -> str:
    if expected != "category":
        return f"{name!r} is {actual} (expected {expected})"
    if isinstance(actual, pd.CategoricalDtype):
        actual = f"a categorical of {actual.categories.dtype}"
    return (
        f"{name!r} is {actual} (expected a categorical of strings: "
        f"df[{name!r}] = df[{name!r}].astype(str).astype('category'))"
    )


def validate_frame(df: pd.DataFrame, source: str = "frame") -> pd.DataFrame:
    """Check that a frame has the published columns, dtypes and labels.

    Parameters
    ----------
    df : pandas.DataFrame
        The frame to check, for example the output of ``load_flows`` or of
        ``iotlab.twin.make_twin``.
    source : str, default "frame"
        What to call the frame in error messages.

    Returns
    -------
    pandas.DataFrame
        ``df`` itself, unchanged, so that calls can be chained.

    Raises
    ------
    SchemaError
        If a column is missing, renamed, extra, duplicated or out of order,
        if a dtype differs from ``iotlab.schema.COLUMNS``, or if ``Label``,
        ``Connection Type`` or ``Timestamp`` have missing values.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{source}: expected a pandas DataFrame, got {type(df)!r}.")
    names = [str(name) for name in df.columns]
    problem = _header_problem(names)
    if problem:
        raise schema_error(source, problem)
    if names != list(COLUMN_NAMES):
        raise schema_error(
            source,
            "the columns are not in the published order; reorder them with "
            "df[list(iotlab.data.COLUMN_NAMES)].",
        )
    wrong = [
        _describe_wrong_dtype(name, df[name].dtype, expected)
        for name, expected in COLUMNS.items()
        if not dtype_matches(name, df[name].dtype)
    ]
    if wrong:
        raise schema_error(
            source,
            "columns with the wrong dtype: "
            + join_limited(wrong)
            + ". Read files with iotlab.data.load_flows, which converts the "
            "published text to these dtypes.",
        )
    for name in (LABEL, CONNECTION_TYPE, TIMESTAMP):
        missing = np.flatnonzero(df[name].isna().to_numpy())
        if missing.size:
            rows = ", ".join(str(position) for position in missing[:MAX_EXAMPLES])
            raise schema_error(
                source,
                f"column {name!r} has {plural(missing.size, 'missing value')} "
                f"(rows at positions {rows}).",
            )
    return df


def parse_timestamps(series: pd.Series, *, source: str = "Timestamp") -> pd.Series:
    """Parse ``Timestamp`` strings written in any layout of the flow file.

    Handles ``2023-10-30 09:12:11``, ``31/10/2023 09:12:11 AM``, the swapped
    ``2023-01-11 09:43:05`` (1 November 2023) and the spreadsheet's
    ``1/11/23 9:43``; ``iotlab.data.TIMESTAMP_LAYOUTS`` lists every layout.
    A date outside the capture window (``CAPTURE_START`` to ``CAPTURE_END``)
    whose day-month swap falls inside it is swapped. Parsing is vectorised
    over the distinct strings.

    Parameters
    ----------
    series : pandas.Series
        Timestamp strings. Missing values give NaT.
    source : str, default "Timestamp"
        What to call the values in error messages.

    Returns
    -------
    pandas.Series
        ``datetime64[s]`` values with the index and name of ``series``.

    Raises
    ------
    SchemaError
        If a string matches no layout, or names an impossible date; the
        message shows up to five such strings.
    """
    codes, distinct = pd.factorize(series, use_na_sentinel=True)
    values, unparsed = parse_timestamp_strings(pd.Series(distinct, dtype="string"))
    if unparsed.any():
        counts = np.bincount(codes[codes >= 0], minlength=len(distinct))
        raise schema_error(
            source,
            unparsed_timestamp_message(distinct, unparsed, counts, None, codes),
        )
    result = np.full(len(codes), np.datetime64("NaT"), dtype="datetime64[s]")
    present = codes >= 0
    result[present] = values[codes[present]]
    return pd.Series(result, index=series.index, name=series.name)


def write_published_csv(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a frame in the text layout of the published ``ACI-IoT-2023.csv``.

    The header is the published one. ``Timestamp`` is rendered in the
    layout that the published file uses for its capture day: ISO order for
    30 October, ``DD/MM/YYYY hh:mm:ss AM`` for 31 October and 3 November,
    and the swapped ``2023-01-11 hh:mm:ss`` for 1 and 2 November. The
    integer columns of ``WHOLE_FLOAT_COLUMNS`` carry a trailing ``.0``.
    Floats are written as Python's ``repr`` writes them, inf as ``inf`` and
    NaN as an empty cell. Lines end in ``\n`` and there is no byte-order
    mark. ``load_flows`` reads the result back into an equal frame. A name
    ending in ``.gz`` writes a gzip-compressed file.

    Parameters
    ----------
    df : pandas.DataFrame
        A frame that passes ``validate_frame``.
    path : str or os.PathLike
        Where to write. The file is written under a temporary name in the
        same folder and renamed at the end, so an interrupted call leaves no
        partial file at ``path``.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    SchemaError
        If ``df`` does not pass ``validate_frame``.
    """
    validate_frame(df, source="the frame passed to write_published_csv")
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.part")
    compression = "gzip" if path.suffix == ".gz" else None
    try:
        with pa.output_stream(str(temporary), compression=compression) as sink:
            sink.write((",".join(COLUMN_NAMES) + "\n").encode())
            for start in range(0, len(df), _WRITE_BATCH_ROWS):
                sink.write(_render_rows(df.iloc[start : start + _WRITE_BATCH_ROWS]))
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


@contextlib.contextmanager
def open_csv_stream(path: str | os.PathLike) -> Iterator[tuple[IO[bytes], str]]:
    """Open the CSV bytes of a plain, gzip or zip file.

    Parameters
    ----------
    path : str or os.PathLike
        A CSV file, a gzip-compressed CSV, or a zip archive holding one CSV
        (or several, one of them named ``ACI-IoT-2023.csv``).

    Yields
    ------
    stream : binary file object
        The decompressed CSV bytes.
    name : str
        The name of the CSV: the file's own name, the name without ``.gz``,
        or the name of the member of the zip archive.

    Raises
    ------
    SchemaError
        If the file is Parquet, or a zip archive without exactly one
        suitable CSV.
    """
    path = Path(path)
    kind = detect_format(path)
    if kind == "parquet":
        raise schema_error(str(path), "this is a Parquet file, not a CSV file.")
    if kind == "gzip":
        name = path.name.removesuffix(".gz")
        with gzip.open(path, "rb") as stream:
            yield stream, name
    elif kind == "zip":
        try:
            archive = zipfile.ZipFile(path)
        except zipfile.BadZipFile as exc:
            raise schema_error(str(path), f"the zip archive is damaged: {exc}") from exc
        with archive:
            member = _pick_zip_member(archive, str(path))
            with archive.open(member) as stream:
                yield stream, Path(member).name
    else:
        with open(path, "rb") as stream:
            yield stream, path.name


# --------------------------------------------------------------------------
# Recognising and opening the input
# --------------------------------------------------------------------------


def detect_format(path: str | os.PathLike) -> str:
    """Recognise a flow file's format from its first bytes.

    Parameters
    ----------
    path : str or os.PathLike
        The file to inspect.

    Returns
    -------
    str
        ``"parquet"``, ``"gzip"``, ``"zip"``, or ``"csv"`` for anything else
        (which ``load_flows`` then checks as CSV text).
    """
    with open(path, "rb") as stream:
        head = stream.read(8)
    for magic, kind in _MAGIC_KINDS.items():
        if head.startswith(magic):
            return kind
    return "csv"


def _pick_zip_member(archive: zipfile.ZipFile, source: str) -> str:
    members = [
        info.filename
        for info in archive.infolist()
        if not info.is_dir() and not info.filename.startswith("__MACOSX/")
    ]
    csv_members = [name for name in members if name.lower().endswith(".csv")]
    published = [name for name in csv_members if Path(name).name == CSV_NAME]
    if len(csv_members) == 1:
        return csv_members[0]
    if len(published) == 1:
        return published[0]
    if any(name.startswith("xl/") for name in members):
        problem = (
            "this is an Excel workbook (.xlsx), not a CSV file; save the sheet "
            "as CSV and load that."
        )
    elif not members:
        problem = "the zip archive is empty."
    elif not csv_members:
        problem = (
            f"the zip archive holds no CSV file (members: {join_limited(members)})."
        )
    else:
        problem = (
            "the zip archive holds several CSV files and none is named "
            f"{CSV_NAME}: {join_limited(csv_members)}; extract the one you want."
        )
    raise schema_error(source, problem)


def _arrow_input(path: Path, kind: str) -> contextlib.AbstractContextManager:
    """Open the CSV bytes as a stream that pyarrow reads natively if it can."""
    if kind == "gzip":
        return pa.input_stream(str(path), compression="gzip")
    if kind == "zip":
        return _zip_member_stream(path)
    return pa.input_stream(str(path), compression=None)


@contextlib.contextmanager
def _zip_member_stream(path: Path) -> Iterator[IO[bytes]]:
    with open_csv_stream(path) as (stream, _):
        yield stream


def _check_text_head(head: bytes, source: str, kind: str, file_name: str) -> None:
    """Reject a head of bytes that is not CSV text.

    ``kind`` (from ``detect_format``) and ``file_name`` tell a damaged
    ``.gz`` file from a binary file.
    """
    if not head:
        raise schema_error(source, "the file is empty.")
    for magic, what in _MAGIC_NAMES.items():
        if head.startswith(magic):
            raise schema_error(source, f"this is {what}, not a CSV file.")
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").lower().startswith(_HTML_STARTS):
        raise schema_error(
            source,
            "this is an HTML page, not a CSV file. A download that returns a "
            "web page is usually a login page or a wrong link: open the link "
            "in a browser and copy the address of the file itself.",
        )
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<?xml"):
        raise schema_error(
            source,
            "this is an XML document, not a CSV file. Storage services answer "
            "a wrong or expired link with an XML error page: check the link.",
        )
    if b"\x00" in head:
        if kind == "gzip":
            problem = (
                "the decompressed content is binary (it contains NUL bytes), "
                "not CSV text."
            )
        elif file_name.lower().endswith(".gz"):
            problem = (
                "the name ends in .gz but this is not a gzip file (it lacks the "
                "gzip header bytes 1f 8b), and its bytes are binary, not CSV text."
            )
        else:
            problem = "this is a binary file (it contains NUL bytes), not a CSV file."
        raise schema_error(source, problem)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is fine.
        if exc.start < len(head) - 3:
            raise schema_error(
                source,
                f"this is not UTF-8 text (invalid byte at offset {exc.start}), "
                "so it is not a CSV export of the flow file.",
            ) from exc


def _parse_header(head: bytes, source: str, kind: str, file_name: str) -> list[str]:
    _check_text_head(head, source, kind, file_name)
    end = head.find(b"\n")
    if end < 0:
        if len(head) >= _HEAD_BYTES:
            raise schema_error(
                source,
                f"the first line is longer than {_HEAD_BYTES:,} bytes, so this "
                "is not a CSV header.",
            )
        end = len(head)
    line = head[:end].decode("utf-8-sig", errors="replace").rstrip("\r")
    names = [name.strip() for name in next(csv.reader([line]), [])]
    if len(names) < 2:
        problem = f"the first line {line[:80]!r} is not a comma-separated header."
        for separator, name in ((";", "semicolons"), ("\t", "tabs")):
            if line.count(separator) >= 2:
                problem += (
                    f" It is separated by {name}, as some spreadsheets save CSV; "
                    "save it again with commas as separators and points as "
                    "decimal marks."
                )
                break
        raise schema_error(source, problem)
    return names


# --------------------------------------------------------------------------
# Header checks
# --------------------------------------------------------------------------


def _header_problem(names: list[str]) -> str | None:
    """Describe how ``names`` differ from the published header, or None."""
    problems = []
    seen: set[str] = set()
    duplicates = sorted({name for name in names if name in seen or seen.add(name)})
    if duplicates:
        problems.append("duplicated columns " + join_limited(map(repr, duplicates)))
    missing = [name for name in COLUMN_NAMES if name not in seen]
    unknown = [name for name in dict.fromkeys(names) if name not in COLUMNS]
    if missing:
        problems.append("missing columns " + join_limited(map(repr, missing)))
    if unknown:
        problems.append(
            "unknown columns "
            + join_limited(_describe_unknown_column(name, missing) for name in unknown)
        )
    if not problems:
        return None
    text = "the columns differ from the published ACI-IoT-2023 header: "
    text += "; ".join(problems) + "."
    found = len(COLUMNS) - len(missing)
    if found < len(COLUMNS) // 2:
        text += (
            f" Only {found} of the {len(COLUMNS)} published column names are "
            "present, so this is probably another file (note that "
            "CIC-BCCC-NRC-ACI-IOT-2023 is a different extraction with other "
            "columns)."
        )
    return text


def _describe_unknown_column(name: str, missing: list[str]) -> str:
    if name.startswith("Unnamed:"):
        return (
            f"{name!r} (an unnamed column, probably a saved pandas index; "
            "write frames with index=False)"
        )
    if name == "":
        return (
            "'' (a column without a name: a saved pandas index when it comes "
            "first, so write frames with index=False, or a trailing comma)"
        )
    candidates = missing or list(COLUMN_NAMES)
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    if not close:
        lowered = {candidate.lower(): candidate for candidate in candidates}
        close = [lowered[name.lower()]] if name.lower() in lowered else []
    if close:
        return f"{name!r} (did you mean {close[0]!r}?)"
    return repr(name)


# --------------------------------------------------------------------------
# Reading CSV and Parquet into Arrow
# --------------------------------------------------------------------------


def check_csv_head(path: str | os.PathLike, source: str | None = None) -> list[str]:
    """Check that a file starts like CSV text and return its header names.

    Only the first 64 KiB are read, so this is a fast test to run before
    hashing or loading a large file. It does not compare the names with
    the published header; ``load_flows`` does that.

    Parameters
    ----------
    path : str or os.PathLike
        A CSV file, a gzip-compressed CSV, or a zip archive holding one CSV.
    source : str, optional
        What to call the file in messages (default: ``path``), for example
        the URL it was downloaded from.

    Returns
    -------
    list of str
        The names in the first line.

    Raises
    ------
    SchemaError
        If the file is empty, binary, an image, a PDF, an HTML page, a
        damaged archive, or if its first line is not a comma-separated
        header.
    """
    path = Path(path)
    return _read_header(path, detect_format(path), source or str(path))


def _read_header(path: Path, kind: str, source: str) -> list[str]:
    try:
        with open_csv_stream(path) as (stream, _):
            head = stream.read(_HEAD_BYTES)
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        if kind == "gzip":
            problem = f"this is not a valid gzip file ({exc})."
        else:
            problem = f"the file could not be read: {exc}"
        raise schema_error(source, problem) from exc
    return _parse_header(head, source, kind, path.name)


def _arrow_read_type(name: str, fast: bool = False) -> pa.DataType:
    """Return the Arrow type that the CSV reader gives column ``name``.

    With ``fast``, an integer column that the published file writes without
    a decimal point is parsed straight to its final integer type. Otherwise
    every number is parsed as ``float64`` and checked afterwards.
    """
    expected = COLUMNS[name]
    if name in (TIMESTAMP, LABEL, CONNECTION_TYPE) or expected == "category":
        # Few distinct values: parse or map each distinct string once.
        return pa.dictionary(pa.int32(), pa.string())
    if expected == "string":
        # pandas keeps text in large_string arrays, so reading it as such
        # saves a cast.
        return pa.large_string()
    if (
        fast
        and name not in WHOLE_FLOAT_COLUMNS
        and expected.startswith(("int", "uint"))
    ):
        return pa.from_numpy_dtype(np.dtype(expected))
    return pa.float64()


def _read_csv_table(path: Path, kind: str, source: str) -> pa.Table:
    """Read a CSV into Arrow, first the fast way and, if needed, carefully.

    The fast read parses the 34 integer columns that the published file
    writes without a decimal point straight to integers. It reads only an
    empty cell as missing, and checks the text columns for valid UTF-8 once
    at the end. Where it succeeds, it gives the same table as the careful
    read. Some files it cannot take exactly: a cell such as ``1.0``,
    ``1.70E+15`` or ``NA`` in such a column, a missing value spelled other
    than as an empty cell or a NaN, ``0x`` anywhere, or text that is not
    UTF-8. Such a file is read again the careful way, with every number as
    ``float64``, all of ``NULL_TOKENS`` as missing and UTF-8 checked cell by
    cell, so that the checks name the bad cell or pick the fallback dtype.
    """
    names = _read_header(path, kind, source)
    problem = _header_problem(names)
    if problem:
        raise schema_error(source, problem)
    try:
        return _read_csv_explained(path, kind, names, source, fast=True)
    except _CarefulReadNeeded as reason:
        logger.info(
            "%s: %s, so the file is read again and every number checked",
            source,
            reason,
        )
    return _read_csv_explained(path, kind, names, source, fast=False)


def _read_csv_explained(
    path: Path, kind: str, names: list[str], source: str, *, fast: bool
) -> pa.Table:
    """Read a CSV, turning Arrow's errors into a ``SchemaError``.

    In the fast read, a cell that Arrow cannot convert raises
    ``_CarefulReadNeeded`` instead, because the careful read may accept it.
    """
    try:
        return _read_csv_with_types(path, kind, names, fast=fast)
    except pa.ArrowInvalid as exc:
        conversion = _CONVERSION_ERROR.search(str(exc))
        if fast and conversion is not None:
            column = names[int(conversion.group(1))]
            value = conversion.group(3)[:40]
            raise _CarefulReadNeeded(f"column {column!r} contains {value!r}") from exc
        raise _explain_csv_error(exc, path, kind, names, source) from exc
    except (pa.ArrowException, OSError, EOFError) as exc:
        raise schema_error(source, f"the file could not be read as CSV: {exc}") from exc


def _read_csv_with_types(
    path: Path, kind: str, names: list[str], *, fast: bool
) -> pa.Table:
    """Read a CSV the fast or the careful way (see ``_read_csv_table``).

    The fast way raises ``_CarefulReadNeeded`` if the bytes contain ``0x``
    or ``0X``, because Arrow's integer parser reads ``0x10`` as 16, or if a
    text column is not valid UTF-8.
    """
    read_options = pacsv.ReadOptions(
        column_names=names, skip_rows=1, block_size=_READ_BLOCK_BYTES
    )
    convert_options = pacsv.ConvertOptions(
        column_types={name: _arrow_read_type(name, fast) for name in names},
        # Arrow's float parser reads the NaN spellings of NULL_TOKENS as NaN,
        # the value that the careful read gives them, and rejects the others.
        null_values=[""] if fast else NULL_TOKENS,
        strings_can_be_null=False,
        # _check_text_utf8 checks the text columns once after the read, which
        # costs less CPU time than Arrow's check of every cell.
        check_utf8=not fast,
    )
    with _arrow_input(path, kind) as stream:
        if not fast:
            return pacsv.read_csv(
                stream, read_options=read_options, convert_options=convert_options
            )
        scanner = _HexPrefixScanner(stream)
        table = pacsv.read_csv(
            scanner, read_options=read_options, convert_options=convert_options
        )
    if scanner.found:
        raise _CarefulReadNeeded("the file contains '0x'")
    _check_text_utf8(table)
    return table


class _CarefulReadNeeded(Exception):
    """Raised by the fast CSV read for input that only the careful read handles."""


def _check_text_utf8(table: pa.Table) -> None:
    """Raise ``_CarefulReadNeeded`` if a text column is not valid UTF-8."""
    for column in table.columns:
        column_type = column.type
        if pa.types.is_dictionary(column_type):
            texts = [chunk.dictionary for chunk in column.chunks]
        elif pa.types.is_string(column_type) or pa.types.is_large_string(column_type):
            texts = column.chunks
        else:
            continue
        for text in texts:
            try:
                text.validate(full=True)
            except pa.ArrowInvalid as exc:
                raise _CarefulReadNeeded(
                    "the file contains text that is not valid UTF-8"
                ) from exc


class _HexPrefixScanner(io.RawIOBase):
    """A CSV byte stream that notes whether ``0x`` or ``0X`` passes through it.

    Arrow's CSV reader parses ``0x10`` in an integer column as 16 and
    ``0xffffffff`` in an ``int32`` column as -1, where the float64 parse
    rejects both as text. Scanning the blocks as the reader pulls them keeps
    the file read once. A hit in a text column only costs the careful read.
    """

    def __init__(self, stream: IO[bytes]) -> None:
        super().__init__()
        self._stream = stream
        self._last_byte = b""
        self.found = False

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        if data and not self.found:
            # Searching for one byte is fast. No row of the published layout
            # contains "x", so the two-byte search rarely runs.
            if b"x" in data or b"X" in data:
                crosses = self._last_byte == b"0" and data[:1] in (b"x", b"X")
                self.found = crosses or b"0x" in data or b"0X" in data
            self._last_byte = data[-1:]
        return data


_CONVERSION_ERROR = re.compile(
    r"In CSV column #(\d+): (?:Row #\d+: )?CSV conversion error to (\w+): "
    r"invalid value '(.*)'",
    re.DOTALL,
)
_FIELD_COUNT_ERROR = re.compile(r"Expected (\d+) columns, got (\d+): (.*)", re.DOTALL)


def _explain_csv_error(
    exc: pa.ArrowInvalid, path: Path, kind: str, names: list[str], source: str
) -> SchemaError:
    message = str(exc)
    conversion = _CONVERSION_ERROR.search(message)
    if conversion:
        name = names[int(conversion.group(1))]
        return schema_error(
            source, _bad_numeric_message(path, kind, names, name, conversion.group(3))
        )
    fields = _FIELD_COUNT_ERROR.search(message)
    if fields:
        expected, got, row = fields.groups()
        return schema_error(
            source,
            f"a row has {got} fields where the header has {expected}: "
            f"{row[:200]!r}. The file may be cut short or damaged.",
        )
    if "UTF8" in message or "UTF-8" in message:
        return schema_error(
            source, f"the file contains text that is not valid UTF-8: {message}"
        )
    return schema_error(source, f"the file could not be read as CSV: {message}")


def _bad_numeric_message(
    path: Path, kind: str, names: list[str], name: str, first_value: str
) -> str:
    """Find every non-numeric cell of one column and describe them."""
    read_options = pacsv.ReadOptions(
        column_names=names, skip_rows=1, block_size=_READ_BLOCK_BYTES
    )
    convert_options = pacsv.ConvertOptions(
        include_columns=[name], column_types={name: pa.string()}
    )
    try:
        with _arrow_input(path, kind) as stream:
            table = pacsv.read_csv(
                stream, read_options=read_options, convert_options=convert_options
            )
    except (pa.ArrowException, OSError):
        return f"column {name!r} must be numeric but contains {first_value!r}."
    text = table.column(name).to_pandas().astype("string").str.strip()
    numbers = pd.to_numeric(text, errors="coerce")
    bad = numbers.isna() & ~text.isin(NULL_TOKENS)
    positions = np.flatnonzero(bad.to_numpy())
    if positions.size == 0:
        return f"column {name!r} must be numeric but contains {first_value!r}."
    examples = ", ".join(
        f"{text.iloc[position]!r} on line {position + 2}"
        for position in positions[:MAX_EXAMPLES]
    )
    return (
        f"column {name!r} must be numeric but contains text: {examples} "
        f"({plural(positions.size, 'such cell')} in all)."
    )


def _read_parquet_table(path: Path, source: str) -> pa.Table:
    try:
        # Mapping the file lets the reader decode from the page cache instead
        # of reading it into a buffer first.
        parquet_file = pq.ParquetFile(path, memory_map=True)
        stored = [
            name
            for name in parquet_file.schema_arrow.names
            if not name.startswith("__index_level_")
        ]
        by_name = {name.strip(): name for name in stored}
        problem = _header_problem([name.strip() for name in stored])
        if problem:
            raise schema_error(source, problem)
        table = parquet_file.read(columns=[by_name[name] for name in COLUMN_NAMES])
    except (pa.ArrowException, OSError) as exc:
        raise schema_error(
            source, f"the Parquet file could not be read: {exc}"
        ) from exc
    return table.rename_columns(list(COLUMN_NAMES))


# --------------------------------------------------------------------------
# Writing the published text layout
# --------------------------------------------------------------------------


def _render_rows(block: pd.DataFrame) -> pa.Buffer:
    """Render rows as CSV lines, each ending in a newline, in one buffer."""
    cells = [_render_column(name, block[name]) for name in COLUMN_NAMES]
    lines = pc.binary_join_element_wise(
        *cells, ",", null_handling="replace", null_replacement=""
    )
    lines = pc.binary_join_element_wise(lines, "\n", "")
    one_list = pa.ListArray.from_arrays(pa.array([0, len(lines)], pa.int32()), lines)
    return pc.binary_join(one_list, "")[0].as_buffer()


def _render_column(name: str, series: pd.Series) -> pa.Array:
    expected = COLUMNS[name]
    if name == TIMESTAMP:
        return format_published_timestamps(series.to_numpy())
    if isinstance(expected, pd.CategoricalDtype) or expected in ("string", "category"):
        text = pa.array(series, from_pandas=True)
        if isinstance(text, pa.ChunkedArray):
            text = text.combine_chunks()
        return _quote_where_needed(text.cast(pa.string()))
    values = series.to_numpy()
    if values.dtype.kind == "f":
        return _format_floats(values)
    text = pa.array(values).cast(pa.string())
    if name in WHOLE_FLOAT_COLUMNS:
        text = pc.binary_join_element_wise(text, ".0", "")
    return text


def _format_floats(values: np.ndarray) -> pa.Array:
    """Format floats as Python's ``repr``, vectorised where Arrow agrees.

    Arrow's float-to-string cast writes the same shortest round-trip digits
    as ``repr`` but drops the ``.0`` of whole numbers and switches to
    exponent notation at other magnitudes (``1.699e+15`` where ``repr``
    writes ``1699031856857367.0``, ``0.00001`` where ``repr`` writes
    ``1e-05``). Those values are formatted with ``repr`` instead.
    """
    text = pc.cast(pa.array(values, from_pandas=True), pa.string())
    magnitude = np.abs(values)
    with np.errstate(invalid="ignore"):
        tiny = (magnitude > 0) & (magnitude < 1e-4)
    has_exponent = pc.fill_null(pc.match_substring(text, "e"), False).to_numpy(
        zero_copy_only=False
    )
    use_repr = tiny | has_exponent
    if use_repr.any():
        replacement = pa.array([repr(value) for value in values[use_repr].tolist()])
        text = pc.replace_with_mask(text, pa.array(use_repr), replacement)
    no_point = pc.invert(pc.match_substring_regex(text, "[.en]"))
    return pc.if_else(no_point, pc.binary_join_element_wise(text, ".0", ""), text)


def _quote_where_needed(text: pa.Array) -> pa.Array:
    needs_quotes = pc.fill_null(pc.match_substring_regex(text, '[",\r\n]'), False)
    if not pc.any(needs_quotes).as_py():
        return text
    quoted = pc.binary_join_element_wise(
        '"', pc.replace_substring(text, '"', '""'), '"', ""
    )
    return pc.if_else(needs_quotes, quoted, text)
