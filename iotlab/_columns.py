"""Convert Arrow columns read from a flow file to the canonical pandas columns.

Each converter checks the values against ``iotlab.schema.COLUMNS`` and raises
``SchemaError`` naming the column, the offending values and where they are
(a line of the CSV, or a row position of a Parquet file).
"""

from __future__ import annotations

import difflib
import logging
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from iotlab._errors import MAX_EXAMPLES, SchemaError, plural, schema_error
from iotlab._timestamps import TIMESTAMP_LAYOUTS, parse_timestamp_strings
from iotlab.schema import (
    CAPTURE_END,
    CAPTURE_START,
    COLUMN_NAMES,
    COLUMNS,
    FALLBACK_DTYPES,
    TIMESTAMP,
)

logger = logging.getLogger("iotlab.data")

#: Cells that mean "no value" in a numeric column. Text columns never read a
#: cell as missing, so an empty label is reported as an unknown label.
NULL_TOKENS = [
    "",
    "nan",
    "NaN",
    "NAN",
    "-nan",
    "-NaN",
    "NA",
    "N/A",
    "n/a",
    "#N/A",
    "null",
    "NULL",
    "None",
    "<NA>",
]


def frame_from_arrow(
    columns: dict[str, pa.ChunkedArray], source: str, line_offset: int | None
) -> pd.DataFrame:
    """Convert Arrow columns to the canonical frame, freeing each as it goes.

    ``columns`` is emptied, so the Arrow memory of a column is released as
    soon as its pandas version exists. This lowers the peak memory of a
    full-file load. Columns are converted on a few threads, because NumPy
    and Arrow release the GIL for most of the work. When several columns are wrong,
    the error names the first of them in the published order, and warnings
    are logged in that order too.
    """
    workers = max(1, min(_CONVERT_THREADS, os.cpu_count() or 1))
    with ThreadPoolExecutor(
        max_workers=workers, thread_name_prefix="iotlab-load"
    ) as pool:
        futures = {}
        for name in COLUMN_NAMES:
            chunked = columns.pop(name)
            futures[name] = pool.submit(
                _convert_column, name, chunked, source, line_offset
            )
            del chunked
        converted: dict[str, object] = {}
        try:
            for name, future in futures.items():
                converted[name], note = future.result()
                if note is not None:
                    logger.warning(note)
        except BaseException:
            for future in futures.values():
                future.cancel()
            raise
    frame = pd.DataFrame(converted, copy=False)
    _log_values_outside_window(frame[TIMESTAMP], source)
    return frame


#: Maximum number of threads that convert columns at once.
_CONVERT_THREADS = 4


def _convert_column(
    name: str, chunked: pa.ChunkedArray, source: str, line_offset: int | None
) -> tuple[object, str | None]:
    """Convert one column, and return it with a warning to log or None."""
    where = Locator(source, name, line_offset)
    expected = COLUMNS[name]
    note = None
    if name == TIMESTAMP:
        values = _convert_timestamps(chunked, where)
    elif isinstance(expected, pd.CategoricalDtype):
        values = _convert_category(chunked, expected, where)
    elif expected == "string":
        values = _convert_text(chunked)
    elif expected == "category":
        values = text_categorical(chunked)
    else:
        values, note = _convert_numeric(chunked, np.dtype(expected), where)
    del chunked
    if isinstance(values, np.ndarray) and not values.flags.writeable:
        # A zero-copy view of Arrow memory is read-only, and pandas then
        # rejects df.loc[row, column] = value. Copy it into NumPy memory, and
        # the Arrow buffer is freed when the view goes.
        values = values.copy()
    return values, note


def _numpy_values(chunked: pa.ChunkedArray) -> np.ndarray:
    """Return a numeric Arrow column as a writable NumPy array.

    A column of one chunk without nulls, whose values buffer is mutable, is
    returned as a writable view of that buffer. Arrow allocated the buffer
    for this column, and the caller drops its Arrow arrays, so the NumPy
    array becomes its only holder. The Parquet reader gives such columns, so
    a cached load does not copy its numbers. Any other column is copied, as
    ``ChunkedArray.to_numpy`` does.

    NOTE: pyarrow documents no guarantee that a reader gives each column a
    buffer of its own. ``tests/test_load_paths.py`` checks that two loads,
    and the columns of one load, share no memory.
    """
    if chunked.num_chunks == 1 and chunked.null_count == 0:
        array = chunked.chunk(0)
        dtype = np.dtype(array.type.to_pandas_dtype())
        data = array.buffers()[1]
        if dtype.kind in "iuf" and data is not None and data.is_mutable:
            values = np.frombuffer(
                data,
                dtype=dtype,
                count=len(array),
                offset=array.offset * dtype.itemsize,
            )
            if values.flags.writeable:
                return values
    return chunked.to_numpy()


class Locator:
    """Names a column of a source and turns row positions into locations."""

    def __init__(self, source: str, column: str, line_offset: int | None) -> None:
        self.source = source
        self.column = column
        self.line_offset = line_offset

    def at(self, position: int) -> str:
        if self.line_offset is None:
            return f"row {position}"
        return f"line {position + self.line_offset}"

    def error(self, problem: str) -> SchemaError:
        return schema_error(self.source, f"column {self.column!r} {problem}")


def _convert_text(chunked: pa.ChunkedArray) -> pd.arrays.ArrowStringArray:
    if pa.types.is_dictionary(chunked.type):
        chunked = chunked.cast(chunked.type.value_type)
    if not (pa.types.is_string(chunked.type) or pa.types.is_large_string(chunked.type)):
        chunked = chunked.cast(pa.string())
    if not any(_may_need_trim(chunk) for chunk in chunked.chunks):
        # The usual case, and a Parquet file that iotlab wrote: nothing to
        # trim, so the text is used as it is rather than copied.
        return pd.arrays.ArrowStringArray(chunked)
    # A CSV never reads a text cell as missing, so a null from Parquet becomes
    # the empty string that the same cell gives in a CSV.
    trimmed = pc.fill_null(pc.utf8_trim_whitespace(chunked), "")
    return pd.arrays.ArrowStringArray(trimmed)


#: Bytes that, first or last in a string, mean it may need trimming: ASCII
#: whitespace and control characters, and every byte of a non-ASCII character
#: (Unicode spaces such as U+00A0 are not ASCII).
_MAY_BE_SPACE = np.zeros(256, dtype=bool)
_MAY_BE_SPACE[: ord(" ") + 1] = True
_MAY_BE_SPACE[0x7F:] = True


def _may_need_trim(array: pa.Array) -> bool:
    """Tell whether a string array may have nulls or spaces at either end.

    Looks only at the first and last byte of each string, through the
    offsets, so it reads a few bytes per row instead of copying the text.
    """
    if array.null_count or len(array) == 0:
        return array.null_count > 0
    width = 8 if pa.types.is_large_string(array.type) else 4
    _, offsets_buffer, data_buffer = array.buffers()
    if data_buffer is None:
        return False
    offsets = np.frombuffer(
        offsets_buffer,
        dtype=np.int64 if width == 8 else np.int32,
        count=len(array) + 1,
        offset=array.offset * width,
    )
    data = np.frombuffer(data_buffer, dtype=np.uint8)
    starts, ends = offsets[:-1], offsets[1:]
    filled = ends > starts
    if not filled.all():
        starts, ends = starts[filled], ends[filled]
    return bool(
        _MAY_BE_SPACE[data[starts]].any() or _MAY_BE_SPACE[data[ends - 1]].any()
    )


def text_categorical(text: pa.Array | pa.ChunkedArray) -> pd.Categorical:
    """Return text as a categorical with trimmed, sorted string categories.

    Both the loader and the offline twin build ``Src IP`` and ``Dst IP`` with
    this function, so that equal addresses give equal categories and codes.
    A missing value becomes the empty string, which is what an empty cell of
    a CSV gives.
    """
    if isinstance(text, pa.Array):
        text = pa.chunked_array([text])
    if not pa.types.is_dictionary(text.type):
        if not (pa.types.is_string(text.type) or pa.types.is_large_string(text.type)):
            text = text.cast(pa.string())
        text = pc.dictionary_encode(pc.fill_null(text, ""))
    elif text.null_count:
        text = pc.dictionary_encode(pc.fill_null(text.cast(text.type.value_type), ""))
    if text.num_chunks == 0:
        return pd.Categorical([], categories=pd.Index([], dtype="str"))
    dictionary, codes = _dictionary_codes(text)
    dictionary = dictionary.cast(pa.string())
    trimmed = pc.utf8_trim_whitespace(dictionary)
    if trimmed.equals(dictionary) and _strictly_increasing(dictionary):
        # A Parquet file that iotlab wrote stores the sorted categories as
        # its dictionary, so its codes are already the categorical's codes.
        return pd.Categorical.from_codes(
            codes, categories=pd.Index(dictionary, dtype="str")
        )
    codes = codes.astype(np.int64)
    if trimmed.equals(dictionary):
        # The usual case for a CSV: the dictionary is already unique and
        # trimmed, so sorting it gives the categories, and ranks map the codes.
        order = pc.array_sort_indices(dictionary).to_numpy()
        uniques = dictionary.take(order)
        targets = np.empty(len(order), dtype=np.int64)
        targets[order] = np.arange(len(order))
    else:
        values = trimmed.to_numpy(zero_copy_only=False).astype(object)
        uniques = np.unique(values)
        targets = np.searchsorted(uniques, values)
    categories = pd.Index(uniques, dtype="str")
    new_codes = np.where(codes >= 0, targets[codes], -1)
    return pd.Categorical.from_codes(new_codes, categories=categories)


def _dictionary_codes(chunked: pa.ChunkedArray) -> tuple[pa.Array, np.ndarray]:
    """Return one dictionary for all chunks and the codes into it, -1 for null.

    The chunks are unified only when their dictionaries differ, because
    unifying hashes every entry of every chunk. A Parquet file written from
    a pandas categorical has the same dictionary in every row group.
    """
    first = chunked.chunk(0).dictionary
    if not all(chunk.dictionary.equals(first) for chunk in chunked.chunks[1:]):
        chunked = chunked.unify_dictionaries()
    codes = np.concatenate(
        [pc.fill_null(chunk.indices, -1).to_numpy() for chunk in chunked.chunks]
    )
    return chunked.chunk(0).dictionary, codes


def _strictly_increasing(strings: pa.Array) -> bool:
    if len(strings) < 2:
        return True
    return bool(pc.all(pc.less(strings[:-1], strings[1:])).as_py())


def _convert_numeric(
    chunked: pa.ChunkedArray, target: np.dtype, where: Locator
) -> tuple[np.ndarray, str | None]:
    """Convert a numeric column, and return it with a fallback warning or None."""
    arrow_type = chunked.type
    if pa.types.is_dictionary(arrow_type):
        chunked = chunked.cast(arrow_type.value_type)
        arrow_type = chunked.type
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        values = _strings_to_float(chunked, where)
    elif pa.types.is_decimal(arrow_type) or pa.types.is_boolean(arrow_type):
        values = chunked.cast(pa.float64()).to_numpy()
    elif pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type):
        if target.kind != "f" and chunked.null_count == 0:
            # Arrow's safe cast rejects fractions and overflow in one pass;
            # on failure the slower numpy checks below name the cells.
            try:
                return _numpy_values(
                    pc.cast(chunked, pa.from_numpy_dtype(target))
                ), None
            except pa.ArrowInvalid:
                pass
        values = _numpy_values(chunked)
    else:
        raise where.error(f"must be numeric but has the Arrow type {arrow_type}.")
    fallback_note = None
    if target.kind != "f" and where.column in FALLBACK_DTYPES:
        target, fallback_note = _fallback_if_needed(values, target, where)
    if target.kind == "f":
        if fallback_note is not None and values.dtype.kind == "f":
            # A fraction turned this integer column into floats, but empty
            # cells and inf are still errors, as they are in an integer column.
            _reject(~np.isfinite(values), _NOT_FINITE, values, target, where)
        converted = values.astype(target, copy=False)
    else:
        converted = _to_integers(values, target, where)
    return converted, fallback_note


def _fallback_if_needed(
    values: np.ndarray, target: np.dtype, where: Locator
) -> tuple[np.dtype, str | None]:
    """Return the dtype to convert to, and a warning if it is the fallback.

    Only values that the fallback stores exactly trigger it: whole numbers
    beyond ``target``'s range, and fractions where the fallback is a float.
    Anything else (an empty cell, a fraction in an integer column) is left
    for ``_to_integers`` to report. The caller logs the warning once the
    conversion has succeeded.
    """
    fallback = np.dtype(FALLBACK_DTYPES[where.column])
    info = np.iinfo(target)
    with np.errstate(invalid="ignore"):
        finite = np.isfinite(values) if values.dtype.kind == "f" else True
        outside = finite & ((values < info.min) | (values > info.max))
        if fallback.kind == "f" and values.dtype.kind == "f":
            outside |= finite & (np.floor(values) != values)
    positions = np.flatnonzero(outside)
    if positions.size == 0:
        return target, None
    note = (
        f"{where.source}: column {where.column!r} contains "
        f"{_show_number(values[positions[0]])} on {where.at(int(positions[0]))} "
        f"({plural(positions.size, 'such value')} in all), which {target} cannot "
        f"store exactly; it is loaded as {fallback} instead."
    )
    return fallback, note


def _strings_to_float(chunked: pa.ChunkedArray, where: Locator) -> np.ndarray:
    text = chunked.to_pandas().astype("string").str.strip()
    numbers = pd.to_numeric(text, errors="coerce")
    bad = np.flatnonzero((numbers.isna() & ~text.isin(NULL_TOKENS)).to_numpy())
    if bad.size:
        examples = ", ".join(
            f"{text.iloc[position]!r} on {where.at(position)}"
            for position in bad[:MAX_EXAMPLES]
        )
        raise where.error(f"must be numeric but contains text: {examples}.")
    return numbers.to_numpy(dtype=np.float64, na_value=np.nan)


#: From this magnitude on, a float64 may be a rounded integer: 2**53 + 1
#: parses as 2**53.
_EXACT_FLOAT_INTEGER = 2**53

_NOT_FINITE = "must not have empty, NaN or inf cells but contains"
_INEXACT = (
    f"contains integers from 2**53 ({_EXACT_FLOAT_INTEGER}) on, which are read as "
    "float64 and rounded, so they cannot be loaded exactly: about"
)


def _to_integers(values: np.ndarray, target: np.dtype, where: Locator) -> np.ndarray:
    """Convert to an integer dtype, rejecting missing, fractional or big values."""
    info = np.iinfo(target)
    if values.dtype.kind == "f":
        missing = np.isnan(values)
        with np.errstate(invalid="ignore"):
            fractional = ~missing & np.isfinite(values) & (np.floor(values) != values)
            # float(info.max) + 1 is exact for every target: 2**63 for int64.
            too_big = (values < info.min) | (values >= float(info.max) + 1.0)
            # A CSV's numbers are parsed as float64, which may round integers
            # from 2**53 on, so such a cell cannot be read exactly.
            inexact = ~too_big & (np.abs(values) >= _EXACT_FLOAT_INTEGER)
        checks = (
            (missing, "must not have empty or NaN cells but contains"),
            (fractional, "must hold whole numbers but contains"),
            (too_big, f"must hold integers from {info.min} to {info.max} but contains"),
            (inexact, _INEXACT),
        )
    else:
        too_big = (values < info.min) | (values > info.max)
        checks = (
            (too_big, f"must hold integers from {info.min} to {info.max} but contains"),
        )
    for mask, problem in checks:
        _reject(mask, problem, values, target, where)
    return values.astype(target)


def _reject(
    mask: np.ndarray, problem: str, values: np.ndarray, target: np.dtype, where: Locator
) -> None:
    """Raise a SchemaError listing the first cells that ``mask`` marks, if any."""
    positions = np.flatnonzero(mask)
    if positions.size == 0:
        return
    examples = ", ".join(
        f"{_show_number(values[position])} on {where.at(position)}"
        for position in positions[:MAX_EXAMPLES]
    )
    cells = plural(positions.size, "cell")
    raise where.error(f"({target}) {problem} {examples} ({cells} in all).")


def _show_number(value: float) -> str:
    if isinstance(value, (float, np.floating)):
        if np.isnan(value):
            return "an empty cell"
        return np.format_float_positional(value, trim="-")
    return str(value)


def _as_categorical(chunked: pa.ChunkedArray) -> pd.Categorical:
    if not pa.types.is_dictionary(chunked.type):
        if not (
            pa.types.is_string(chunked.type) or pa.types.is_large_string(chunked.type)
        ):
            chunked = chunked.cast(pa.string())
        chunked = pc.dictionary_encode(chunked)
    if chunked.num_chunks:
        dictionary, codes = _dictionary_codes(chunked)
        categories = pd.Index(dictionary.to_pandas())
        if categories.is_unique:
            return pd.Categorical.from_codes(codes, categories=categories)
    return pd.Categorical(chunked.to_pandas())


def _convert_category(
    chunked: pa.ChunkedArray, dtype: pd.CategoricalDtype, where: Locator
) -> pd.Categorical:
    raw = _as_categorical(chunked)
    codes = raw.codes
    stripped = pd.Index(raw.categories.astype(str)).str.strip()
    targets = dtype.categories.get_indexer(stripped)
    unknown = np.flatnonzero(targets < 0)
    if unknown.size:
        # Only unknown values that occur are errors. A dictionary may contain more.
        counts = np.bincount(codes[codes >= 0], minlength=len(raw.categories))
        unknown = unknown[counts[unknown] > 0]
    if unknown.size:
        described = []
        for category in unknown[:MAX_EXAMPLES]:
            first = int(np.argmax(codes == category))
            text = (
                f"{raw.categories[category]!r} ({plural(counts[category], 'row')}, "
                f"first on {where.at(first)}"
            )
            close = difflib.get_close_matches(
                str(stripped[category]), list(dtype.categories), n=1
            )
            if close:
                text += f"; closest known value {close[0]!r}"
            described.append(text + ")")
        raise where.error(
            f"contains unknown values: {', '.join(described)}"
            f"{' and more' if unknown.size > MAX_EXAMPLES else ''}. "
            f"The known values are {', '.join(map(repr, dtype.categories))}."
        )
    missing = np.flatnonzero(codes < 0)
    if missing.size:
        raise where.error(
            f"has {plural(missing.size, 'missing value')}, first on "
            f"{where.at(int(missing[0]))}."
        )
    # Index with the small codes, so the result is int8 without a wide copy.
    new_codes = targets.astype(np.int8)[codes]
    return pd.Categorical.from_codes(new_codes, dtype=dtype)


def _convert_timestamps(chunked: pa.ChunkedArray, where: Locator) -> np.ndarray:
    arrow_type = chunked.type
    if pa.types.is_timestamp(arrow_type):
        if arrow_type.tz is not None:
            chunked = chunked.cast(pa.timestamp(arrow_type.unit))
        values = pc.cast(chunked, pa.timestamp("s"), safe=False).to_numpy()
    elif pa.types.is_date(arrow_type):
        values = chunked.cast(pa.timestamp("s")).to_numpy()
    elif (
        pa.types.is_string(arrow_type)
        or pa.types.is_large_string(arrow_type)
        or pa.types.is_dictionary(arrow_type)
    ):
        values = _parse_timestamp_column(chunked, where)
    else:
        raise where.error(f"must hold date-times but has the Arrow type {arrow_type}.")
    values = values.astype("datetime64[s]", copy=False)
    missing = np.flatnonzero(np.isnat(values))
    if missing.size:
        raise where.error(
            f"has {plural(missing.size, 'missing value')}, first on "
            f"{where.at(int(missing[0]))}."
        )
    return values


def _parse_timestamp_column(chunked: pa.ChunkedArray, where: Locator) -> np.ndarray:
    raw = _as_categorical(chunked)
    codes = np.asarray(raw.codes, dtype=np.int64)
    categories = raw.categories
    values, unparsed = parse_timestamp_strings(pd.Series(categories, dtype="string"))
    counts = np.bincount(codes[codes >= 0], minlength=len(categories))
    unparsed &= counts > 0
    if unparsed.any():
        raise where.error(
            unparsed_timestamp_message(categories, unparsed, counts, where, codes)
        )
    result = values[np.maximum(codes, 0)]
    result[codes < 0] = np.datetime64("NaT")
    return result


def unparsed_timestamp_message(
    distinct: object,
    unparsed: np.ndarray,
    counts: np.ndarray,
    where: Locator | None,
    codes: np.ndarray,
) -> str:
    bad = np.flatnonzero(unparsed)
    examples = []
    for index in bad[:MAX_EXAMPLES]:
        first = int(np.argmax(codes == index))
        place = where.at(first) if where is not None else f"row {first}"
        examples.append(f"{distinct[index]!r} (first on {place})")
    layouts = "; ".join(layout.description for layout in TIMESTAMP_LAYOUTS)
    return (
        f"contains {plural(int(counts[bad].sum()), 'date-time')} in no known "
        f"layout, for example {', '.join(examples)}. Known layouts: {layouts}."
    )


def _log_values_outside_window(values: pd.Series, source: str) -> None:
    days = values.to_numpy().astype("datetime64[D]")
    outside = (days < np.datetime64(CAPTURE_START)) | (
        days > np.datetime64(CAPTURE_END)
    )
    if outside.any():
        logger.warning(
            "%s: %s timestamps fall outside the capture window %s to %s",
            source,
            f"{int(outside.sum()):,}",
            CAPTURE_START,
            CAPTURE_END,
        )
