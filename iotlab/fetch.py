"""Fetch the ACI-IoT-2023 flow file, cache it as Parquet, and load course data.

``python data_fetch.py`` (a thin wrapper over ``main``) gets the published
``ACI-IoT-2023.csv`` from one of four sources:

* ``kaggle``: the Kaggle dataset ``emilynack/aci-iot-network-traffic-dataset-2023``
  through kagglehub, which needs a Kaggle API token;
* ``url``: a mirror, downloaded with pooch and a progress bar;
* ``file``: a local copy, for example one downloaded from IEEE DataPort;
* ``twin``: the offline twin built by ``iotlab.twin.make_twin``.

A downloaded or local file is checked against the published size and
SHA-256. A file that differs is rejected unless ``--subset`` marks it as a
sample or an export of the dataset. Such a file is schema-checked and its own
hash is recorded. The rows are cached as ``<data dir>/aci-iot-2023.parquet``
with a JSON manifest beside it. The data folder is ``--out``, else the
``IOTLAB_DATA`` environment variable, else ``data/`` under the working
directory. Everything is written under temporary names in the data folder and
renamed at the end, so an interrupted run leaves no partial cache. The data
folder is checked for writing before any download, and a folder that a failed
run created is removed again.

``load_dataset`` is what lessons and ``iotlab reproduce`` call: it returns
the cached real rows, or the twin when no cache exists, and records which one
in ``df.attrs``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import hashlib
import importlib
import importlib.metadata
import inspect
import json
import logging
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from iotlab import schema
from iotlab._cli import OutputDirError, prepare_output_dir, remove_created_dirs
from iotlab.data import (
    SchemaError,
    check_csv_head,
    detect_format,
    load_flows,
    open_csv_stream,
    validate_frame,
    write_published_csv,
)

logger = logging.getLogger(__name__)

PARQUET_NAME = "aci-iot-2023.parquet"
MANIFEST_NAME = "aci-iot-2023.manifest.json"
DEFAULT_DATA_DIR = "data"
DATA_DIR_VARIABLE = "IOTLAB_DATA"
SOURCES: tuple[str, ...] = ("kaggle", "url", "file", "twin")
DEFAULT_TWIN_ROWS = 50_000
_HASH_CHUNK_BYTES = 1 << 22

FETCH_HINT = (
    "Fetch it with `python data_fetch.py --source kaggle` (needs a Kaggle API "
    "token), `--source url --url URL` (a mirror) or `--source file --path "
    "ACI-IoT-2023.csv` (a local copy, e.g. from IEEE DataPort); "
    "`--source twin` builds the offline twin."
)
KAGGLE_TOKEN_HINT = (
    "Kaggle needs an API token: create one under Settings > API on "
    "kaggle.com, then save it as ~/.kaggle/kaggle.json or set the "
    "KAGGLE_USERNAME and KAGGLE_KEY environment variables. Without a Kaggle "
    "account, download ACI-IoT-2023.csv from IEEE DataPort "
    "(doi:10.21227/qacj-3x32) and run `python data_fetch.py --source file "
    "--path ACI-IoT-2023.csv`."
)


@dataclasses.dataclass(frozen=True)
class PublishedFile:
    """Size, hash and contents of the published ``ACI-IoT-2023.csv``."""

    size: int
    sha256: str
    rows: int
    class_counts: dict[str, int]


PUBLISHED = PublishedFile(
    size=schema.PUBLISHED_SIZE,
    sha256=schema.PUBLISHED_SHA256,
    rows=schema.FULL_ROWS,
    class_counts=dict(schema.FULL_CLASS_COUNTS),
)


class FetchError(RuntimeError):
    """A download, credential or cache problem that stops a fetch."""


class ChecksumError(ValueError):
    """A file whose size or SHA-256 differs from the published file."""


@dataclasses.dataclass(frozen=True)
class CacheStatus:
    """State of the Parquet cache in a data folder.

    Attributes
    ----------
    data_dir : pathlib.Path
        The data folder.
    parquet_path, manifest_path : pathlib.Path
        Where the cache and its manifest are, or would be.
    present : bool
        True when both files exist, the manifest is readable and the row
        counts of the manifest and the Parquet file agree.
    manifest : dict or None
        The manifest, when it could be read.
    problem : str or None
        Why the cache is not present.
    """

    data_dir: Path
    parquet_path: Path
    manifest_path: Path
    present: bool
    manifest: dict[str, Any] | None
    problem: str | None

    def describe(self) -> str:
        """Return one sentence about the cache, for messages and ``--status``."""
        if not self.present:
            return f"No usable cache in {self.data_dir}: {self.problem}."
        return describe_manifest(self.manifest, self.parquet_path)


@dataclasses.dataclass(frozen=True)
class FetchResult:
    """The outcome of ``fetch``.

    Attributes
    ----------
    action : str
        ``"created"`` when a file was written, ``"unchanged"`` when the
        requested file was already there.
    path : pathlib.Path
        The Parquet cache, or the twin CSV for ``file_format="csv"``.
    manifest : dict or None
        The cache manifest (None for the twin CSV).
    message : str
        One sentence for the user.
    """

    action: str
    path: Path
    manifest: dict[str, Any] | None
    message: str


# --------------------------------------------------------------------------
# Data folder and cache


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """Return the data folder: ``data_dir``, else ``$IOTLAB_DATA``, else ``data``.

    A relative folder is relative to the current working directory. Inside a
    course (a folder with ``nbgrader_config.py`` and ``solutions/``), the
    default is the course root's ``data`` folder. A notebook running in
    ``lessons/NN_name/`` then finds the cache that ``data_fetch.py`` wrote.
    """
    if data_dir is not None:
        return Path(data_dir).expanduser()
    from_environment = os.environ.get(DATA_DIR_VARIABLE)
    if from_environment:
        return Path(from_environment).expanduser()
    course_root = _find_course_root(Path.cwd())
    if course_root is not None:
        return course_root / DEFAULT_DATA_DIR
    return Path(DEFAULT_DATA_DIR)


def _find_course_root(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        if (folder / "nbgrader_config.py").is_file() and (
            folder / "solutions"
        ).is_dir():
            return folder
    return None


def cache_status(data_dir: str | os.PathLike | None = None) -> CacheStatus:
    """Inspect the Parquet cache and manifest in a data folder.

    Parameters
    ----------
    data_dir : str or os.PathLike, optional
        The data folder; see ``resolve_data_dir``.

    Returns
    -------
    CacheStatus
        Never raises for a missing or damaged cache; ``problem`` explains what
        is wrong.
    """
    directory = resolve_data_dir(data_dir)
    parquet_path = directory / PARQUET_NAME
    manifest_path = directory / MANIFEST_NAME
    manifest = None
    if not parquet_path.exists() and not manifest_path.exists():
        problem = "no cache has been fetched"
    elif not parquet_path.exists():
        problem = f"{manifest_path.name} exists but {parquet_path.name} is missing"
    elif not manifest_path.exists():
        problem = (
            f"{parquet_path.name} has no manifest beside it (an interrupted "
            "fetch?); fetch again with --force"
        )
    else:
        problem = None
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
            stored_rows = pq.ParquetFile(parquet_path).metadata.num_rows
        except (OSError, ValueError, pa.ArrowException) as exc:
            problem = f"the cache could not be read ({exc}); fetch again with --force"
        else:
            if not isinstance(manifest, dict) or manifest.get("rows") != stored_rows:
                problem = (
                    f"{manifest_path.name} does not describe {parquet_path.name} "
                    "(row counts differ); fetch again with --force"
                )
    return CacheStatus(
        data_dir=directory,
        parquet_path=parquet_path,
        manifest_path=manifest_path,
        present=problem is None,
        manifest=manifest,
        problem=problem,
    )


def read_manifest(data_dir: str | os.PathLike | None = None) -> dict[str, Any]:
    """Return the manifest of the cache in a data folder.

    Raises
    ------
    FileNotFoundError
        If the folder contains no usable cache; the message explains how to fetch.
    """
    status = cache_status(data_dir)
    if not status.present:
        raise FileNotFoundError(f"{status.describe()} {FETCH_HINT}")
    return status.manifest


def describe_manifest(manifest: dict[str, Any], parquet_path: Path) -> str:
    """Describe in one sentence which data a cache contains."""
    rows = f"{manifest.get('rows', 0):,} rows"
    created = str(manifest.get("created", "an unknown date"))[:10]
    if manifest.get("source") == "twin":
        what = manifest.get("source_detail") or f"offline twin, {rows}"
        return f"{parquet_path} contains the {what}, cached on {created}"
    if manifest.get("published_match"):
        what = (
            "the published ACI-IoT-2023.csv (size and SHA-256 verified) "
            f"from {manifest.get('source')}"
        )
    else:
        digest = str(manifest.get("sha256", ""))[:12]
        what = (
            f"{manifest.get('original_file')}, a sample or export of ACI-IoT-2023 "
            f"(not the published file; sha256 {digest}...) from "
            f"{manifest.get('source')}"
        )
    return f"{parquet_path} contains {what}, {rows}, cached on {created}"


# --------------------------------------------------------------------------
# Fetching


def fetch(
    source: str,
    *,
    path: str | os.PathLike | None = None,
    url: str | None = None,
    data_dir: str | os.PathLike | None = None,
    subset: bool = False,
    force: bool = False,
    rows: int | None = None,
    seed: int = 0,
    file_format: str = "parquet",
    progress: bool = False,
) -> FetchResult:
    """Get the flow file from a source and cache it as Parquet.

    Parameters
    ----------
    source : {"kaggle", "url", "file", "twin"}
        Where the rows come from.
    path : str or os.PathLike, optional
        The local file for ``source="file"`` (CSV, ``.gz``, ``.zip`` or
        Parquet).
    url : str, optional
        The mirror URL for ``source="url"``.
    data_dir : str or os.PathLike, optional
        The data folder; see ``resolve_data_dir``.
    subset : bool, default False
        Accept a file whose size or SHA-256 differs from the published file
        (a sample or an export) after a schema check.
    force : bool, default False
        Rebuild even if the data folder already contains a cache.
    rows : int, optional
        Rows of the twin (default ``DEFAULT_TWIN_ROWS``); twin only.
    seed : int, default 0
        Seed of the twin; twin only.
    file_format : {"parquet", "csv"}, default "parquet"
        For the twin, ``"csv"`` writes ``aci-iot-2023-twin-<rows>-seed<seed>.csv``
        in the published text layout instead of the cache, so that the loader
        can be exercised on a full-size CSV.
    progress : bool, default False
        Show progress bars for downloads and hashing.

    Returns
    -------
    FetchResult

    Raises
    ------
    FetchError
        If a download fails, Kaggle credentials are missing, the twin is not
        available, the folder contains a cache from another request, or the
        data folder cannot be created or written to. A data folder that this
        call created is removed again when the fetch fails.
    ChecksumError
        If the file differs from the published one and ``subset`` is False.
    SchemaError
        If the file is not CSV text (an HTML page, an image) or does not
        have the published schema.
    FileNotFoundError
        If ``path`` does not exist.
    IsADirectoryError
        If ``path`` is a folder.
    ValueError
        If the options do not fit together, ``url`` is not an http or https
        URL, or ``rows`` is outside the twin's limits
        (``iotlab.twin.check_n_rows``).
    """
    _check_arguments(source, path, url, rows, seed, file_format)
    directory = resolve_data_dir(data_dir)
    if source == "twin" and file_format == "csv":
        return _write_twin_csv(directory, rows or DEFAULT_TWIN_ROWS, seed, force)
    if source == "file":
        _check_local_file(path)
    request = _describe_request(source, path, url, rows, seed)
    status = cache_status(directory)
    if status.present and not force:
        if status.manifest.get("request") == request:
            return FetchResult(
                "unchanged",
                status.parquet_path,
                status.manifest,
                f"{status.describe()}. Nothing to do; use --force to rebuild.",
            )
        raise FetchError(
            f"{status.describe()}. It was built by another request "
            f"({status.manifest.get('request')!r}); rerun with --force to replace "
            "it."
        )
    with _writable_data_dir(directory) as work:
        if source == "twin":
            frame, record = _build_twin(rows or DEFAULT_TWIN_ROWS, seed)
        else:
            local, label = _obtain(source, path, url, work, progress)
            record = _check_file(local, subset, progress, label)
            logger.info("Checking the schema of %s", label)
            frame = _load_labelled(local, label)
            if record["published_match"]:
                _check_published_contents(frame, label)
        manifest = _manifest(source, request, record, frame)
        try:
            _write_cache(frame, manifest, directory, work)
        except OSError as error:
            raise FetchError(_data_dir_message(directory, error)) from error
    status = cache_status(directory)
    return FetchResult("created", status.parquet_path, manifest, status.describe())


def _data_dir_message(directory: Path, error: OSError) -> str:
    reason = error.strerror or str(error)
    return (
        f"cannot write to {directory}: {reason}; choose another --out or "
        f"{DATA_DIR_VARIABLE}"
    )


@contextlib.contextmanager
def _writable_data_dir(directory: Path) -> Iterator[Path]:
    """Create the data folder and a work folder in it; undo both on failure.

    Yields the work folder, which is removed at the end. If the body raises,
    the data folder and its parents are removed again if this call created
    them and they are empty.

    Raises
    ------
    FetchError
        If the folder cannot be created or written to.
    """
    try:
        created = prepare_output_dir(
            directory, f"choose another --out or {DATA_DIR_VARIABLE}"
        )
    except OutputDirError as error:
        raise FetchError(str(error)) from error
    try:
        with tempfile.TemporaryDirectory(prefix=".fetch-", dir=directory) as work:
            yield Path(work)
    except BaseException:
        remove_created_dirs(created)
        raise


def _load_labelled(local: Path, label: str) -> pd.DataFrame:
    """Load a downloaded file; messages name ``label`` (the URL) instead."""
    try:
        return load_flows(local)
    except SchemaError as error:
        raise _relabel(error, local, label) from error


def _relabel(error: SchemaError, local: Path, label: str) -> SchemaError:
    if label == str(local):
        return error
    return SchemaError(str(error).replace(str(local), label))


def _check_arguments(
    source: str,
    path: object,
    url: str | None,
    rows: int | None,
    seed: int,
    file_format: str,
) -> None:
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; expected one of {SOURCES}.")
    if source == "file" and path is None:
        raise ValueError("source 'file' needs a path (--path ACI-IoT-2023.csv).")
    if source == "url" and not url:
        raise ValueError("source 'url' needs a URL (--url https://...).")
    if source == "url":
        _check_url(url)
    if source != "file" and path is not None:
        raise ValueError(f"a path is only used with source 'file', not {source!r}.")
    if source != "url" and url:
        raise ValueError(f"a URL is only used with source 'url', not {source!r}.")
    if file_format not in ("parquet", "csv"):
        raise ValueError(
            f"file_format must be 'parquet' or 'csv', got {file_format!r}."
        )
    if source != "twin" and (rows is not None or seed != 0 or file_format != "parquet"):
        raise ValueError(
            "rows, seed and file_format apply to source 'twin' only; "
            "load_dataset(rows=...) samples the real data."
        )
    if rows is not None and rows < 1:
        raise ValueError(f"rows must be a positive integer, got {rows!r}.")
    if source == "twin" and rows is not None:
        _twin_module().check_n_rows(rows, name="rows")


def _check_url(url: str) -> None:
    parts = urlparse(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise ValueError(
            f"invalid URL {url!r}: it must start with http:// or https:// and "
            "name a host, for example https://mirror.example/ACI-IoT-2023.csv."
        )


def _check_local_file(path: object) -> None:
    local = Path(path).expanduser()
    if local.is_dir():
        inside = local / schema.CSV_NAME
        hint = (
            f"--path {inside}"
            if inside.is_file()
            else f"the path of {schema.CSV_NAME} (or a .gz, .zip or Parquet copy)"
        )
        raise IsADirectoryError(
            f"{local} is a folder, not a file; pass {hint} instead."
        )
    if not local.is_file():
        raise FileNotFoundError(f"{local}: no such file. {FETCH_HINT}")


def _describe_request(
    source: str, path: object, url: str | None, rows: int | None, seed: int
) -> str:
    if source == "file":
        return f"file {Path(path).expanduser().resolve()}"
    if source == "url":
        return f"url {url}"
    if source == "kaggle":
        return f"kaggle {schema.KAGGLE_HANDLE}"
    return f"twin rows={rows or DEFAULT_TWIN_ROWS} seed={seed}"


def _obtain(
    source: str, path: object, url: str | None, work: Path, progress: bool
) -> tuple[Path, str]:
    """Return the local file and what to call it in messages."""
    if source == "file":
        local = Path(path).expanduser()
        _check_local_file(local)
        return local, str(local)
    if source == "url":
        return _download_url(url, work, progress), url
    label = f"{schema.CSV_NAME} from Kaggle dataset {schema.KAGGLE_HANDLE}"
    return _download_kaggle(work), label


@contextlib.contextmanager
def _quiet_pooch() -> Iterator[None]:
    """Hide pooch's advice to pin the hash, which ``fetch`` checks itself."""
    import pooch

    pooch_logger = pooch.get_logger()
    level = pooch_logger.level
    pooch_logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        pooch_logger.setLevel(level)


def _download_url(url: str, work: Path, progress: bool) -> Path:
    import pooch
    import requests

    name = Path(urlparse(url).path).name or schema.CSV_NAME
    logger.info("Downloading %s", url)
    try:
        with _quiet_pooch():
            downloaded = pooch.retrieve(
                url, known_hash=None, fname=name, path=work, progressbar=progress
            )
    except requests.HTTPError as exc:
        status = exc.response.status_code if exc.response is not None else "error"
        raise FetchError(
            f"download of {url} failed with HTTP status {status}; check the URL. "
            "Nothing was cached."
        ) from exc
    except (requests.RequestException, OSError, ValueError) as exc:
        raise FetchError(
            f"download of {url} failed: {exc}. Check the URL and the network "
            "connection, then run the command again. Nothing was cached."
        ) from exc
    return Path(downloaded)


def _kaggle_errors(kagglehub: Any) -> tuple[type[BaseException], ...]:
    import requests

    errors: list[type[BaseException]] = [requests.RequestException, OSError, ValueError]
    module = getattr(kagglehub, "exceptions", None)
    for name in (
        "BackendError",
        "CredentialError",
        "DataCorruptionError",
        "KaggleEnvironmentError",
        "NotFoundError",
        "UnauthenticatedError",
    ):
        error = getattr(module, name, None)
        if isinstance(error, type) and issubclass(error, BaseException):
            errors.append(error)
    return tuple(errors)


def _download_kaggle(work: Path) -> Path:
    try:
        import kagglehub
    except ImportError as exc:
        raise FetchError(
            "kagglehub is not installed; install it with `pip install kagglehub` "
            "or use another source."
        ) from exc
    get_credentials = getattr(
        getattr(kagglehub, "config", None), "get_kaggle_credentials", None
    )
    errors = _kaggle_errors(kagglehub)
    try:
        has_credentials = get_credentials is None or get_credentials() is not None
    except errors as exc:
        raise FetchError(
            f"the Kaggle credentials are invalid: {exc}. {KAGGLE_TOKEN_HINT}"
        ) from exc
    if not has_credentials:
        raise FetchError(f"no Kaggle credentials were found. {KAGGLE_TOKEN_HINT}")
    logger.info(
        "Downloading %s from Kaggle dataset %s", schema.CSV_NAME, schema.KAGGLE_HANDLE
    )
    # NOTE: the flow file is assumed to sit at the root of the Kaggle dataset
    # as ACI-IoT-2023.csv. That path was not checked against Kaggle itself.
    options = {"path": schema.CSV_NAME}
    # Older kagglehub releases lack output_dir and download into their cache.
    if "output_dir" in inspect.signature(kagglehub.dataset_download).parameters:
        options["output_dir"] = str(work)
    try:
        downloaded = Path(kagglehub.dataset_download(schema.KAGGLE_HANDLE, **options))
    except errors as exc:
        raise FetchError(
            f"the Kaggle download of {schema.KAGGLE_HANDLE} failed: {exc}. "
            f"{KAGGLE_TOKEN_HINT}"
        ) from exc
    if downloaded.is_dir():
        candidates = sorted(downloaded.rglob(schema.CSV_NAME))
        if not candidates:
            raise FetchError(
                f"the Kaggle download in {downloaded} contains no {schema.CSV_NAME}."
            )
        downloaded = candidates[0]
    return downloaded


def file_digest(
    path: str | os.PathLike, progress: bool = False
) -> tuple[int, str, str]:
    """Measure the size and SHA-256 of a flow file's CSV bytes.

    A ``.gz`` file or a ``.zip`` archive is measured after decompression, so
    a compressed copy of the published file matches the published values. A
    Parquet file is measured as it is.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    progress : bool, default False
        Show a progress bar.

    Returns
    -------
    size : int
        Bytes hashed.
    sha256 : str
        Hex digest.
    name : str
        Name of the CSV (the zip member's name for an archive).
    """
    path = Path(path)
    if detect_format(path) == "parquet":
        with open(path, "rb") as stream:
            size, digest = _hash_stream(stream, path.stat().st_size, progress)
        return size, digest, path.name
    with open_csv_stream(path) as (stream, name):
        total = path.stat().st_size if detect_format(path) == "csv" else None
        size, digest = _hash_stream(stream, total, progress)
    return size, digest, name


def _hash_stream(stream: Any, total: int | None, progress: bool) -> tuple[int, str]:
    from tqdm.auto import tqdm

    digest = hashlib.sha256()
    size = 0
    with tqdm(
        total=total, unit="B", unit_scale=True, desc="SHA-256", disable=not progress
    ) as bar:
        while chunk := stream.read(_HASH_CHUNK_BYTES):
            digest.update(chunk)
            size += len(chunk)
            bar.update(len(chunk))
    return size, digest.hexdigest()


def _check_file(
    local: Path, subset: bool, progress: bool, label: str | None = None
) -> dict[str, Any]:
    """Compare a file with the published one and return what was measured.

    ``label`` is what messages call the file (the URL of a download); the
    local path by default.
    """
    label = label or str(local)
    kind = detect_format(local)
    if kind != "parquet":
        # A web page or an image is not a CSV at all, whatever its size.
        try:
            check_csv_head(local, source=label)
        except SchemaError as error:
            raise _relabel(error, local, label) from error
    if kind == "csv" and not subset and local.stat().st_size != PUBLISHED.size:
        size = local.stat().st_size
        raise ChecksumError(_mismatch_message(label, "size", size, None))
    logger.info("Hashing %s", label)
    size, digest, name = file_digest(local, progress)
    published_match = size == PUBLISHED.size and digest == PUBLISHED.sha256
    if not published_match and not subset:
        if kind == "parquet":
            raise ChecksumError(
                f"{label} is a Parquet file, so it cannot be checked against the "
                "published ACI-IoT-2023.csv. If it contains a sample or a "
                "conversion of the dataset, rerun with --subset to load it after "
                f"a schema check.\n{schema.GET_DATA_HINT}"
            )
        differs = "size" if size != PUBLISHED.size else "SHA-256"
        raise ChecksumError(_mismatch_message(label, differs, size, digest))
    if published_match:
        logger.info("%s matches the published size and SHA-256", label)
    return {
        "original_file": name,
        "size_bytes": size,
        "sha256": digest,
        "published_match": published_match,
        "subset": bool(subset) and not published_match,
    }


def _mismatch_message(label: str, differs: str, size: int, digest: str | None) -> str:
    measured = f"{size:,} bytes" + (f", sha256 {digest}" if digest else "")
    return (
        f"{label}: the {differs} differs from the published {schema.CSV_NAME} "
        f"({measured}; expected {PUBLISHED.size:,} bytes, sha256 "
        f"{PUBLISHED.sha256}). The download may be incomplete or damaged: get "
        "the file again. If the file is a sample or a spreadsheet export of the "
        "dataset, rerun with --subset to load it after a schema check.\n"
        f"{schema.GET_DATA_HINT}"
    )


def _check_published_contents(frame: pd.DataFrame, label: str) -> None:
    counts = frame[schema.LABEL].value_counts().to_dict()
    counts = {label: int(count) for label, count in counts.items() if count}
    if len(frame) != PUBLISHED.rows or counts != PUBLISHED.class_counts:
        raise FetchError(
            f"{label} has the published SHA-256 but loaded as {len(frame):,} rows "
            f"with class counts {counts}, not the published {PUBLISHED.rows:,} "
            "rows; the loader lost or changed rows. Please report this."
        )


def _import_make_twin() -> Callable[..., pd.DataFrame]:
    return _twin_module().make_twin


def _twin_module() -> Any:
    try:
        module = importlib.import_module("iotlab.twin")
    except ModuleNotFoundError as exc:
        if exc.name != "iotlab.twin":
            raise
        raise FetchError(
            "the offline twin is not available: this installation of iotlab has "
            "no iotlab.twin module. Fetch the real data instead with --source "
            "kaggle, url or file."
        ) from exc
    return module


def _build_twin(rows: int, seed: int) -> tuple[pd.DataFrame, dict[str, Any]]:
    make_twin = _import_make_twin()
    logger.info("Building the offline twin: %s rows, seed %d", f"{rows:,}", seed)
    frame = make_twin(rows, seed=seed)
    validate_frame(frame, source="the output of iotlab.twin.make_twin")
    record = {
        "source_detail": frame.attrs.get("source_detail")
        or f"offline twin, {rows:,} rows, seed {seed}",
        "original_file": None,
        "size_bytes": None,
        "sha256": None,
        "published_match": False,
        "subset": False,
        "twin_rows": rows,
        "twin_seed": seed,
    }
    return frame, record


def _write_twin_csv(directory: Path, rows: int, seed: int, force: bool) -> FetchResult:
    target = directory / f"aci-iot-2023-twin-{rows}-seed{seed}.csv"
    if target.exists() and not force:
        return FetchResult(
            "unchanged",
            target,
            None,
            f"{target} already exists. Nothing to do; use --force to rebuild.",
        )
    with _writable_data_dir(directory):
        frame, _ = _build_twin(rows, seed)
        try:
            write_published_csv(frame, target)
        except OSError as error:
            raise FetchError(_data_dir_message(directory, error)) from error
    return FetchResult(
        "created",
        target,
        None,
        f"Wrote {len(frame):,} twin rows to {target} in the published text layout. "
        f"Load it with iotlab.data.load_flows({str(target)!r}).",
    )


def _package_version() -> str:
    try:
        return importlib.metadata.version("iotlab")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _manifest(
    source: str, request: str, record: dict[str, Any], frame: pd.DataFrame
) -> dict[str, Any]:
    counts = frame[schema.LABEL].value_counts()
    class_counts = {
        label: int(counts[label]) for label in schema.LABELS if counts.get(label, 0)
    }
    return {
        "dataset": "ACI-IoT-2023",
        "source": source,
        "request": request,
        "source_detail": record.pop("source_detail", request),
        **record,
        "rows": len(frame),
        "columns": frame.shape[1],
        "class_counts": class_counts,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "iotlab_version": _package_version(),
        "parquet_file": PARQUET_NAME,
    }


def _write_cache(
    frame: pd.DataFrame, manifest: dict[str, Any], directory: Path, work: Path
) -> None:
    """Write Parquet and manifest under ``work`` and move them into place.

    The old manifest goes first, so an interruption between the two renames
    leaves a Parquet file without a manifest, which ``cache_status`` reports
    as no usable cache.
    """
    parquet_temporary = work / PARQUET_NAME
    manifest_temporary = work / MANIFEST_NAME
    logger.info("Writing the Parquet cache (%s rows)", f"{len(frame):,}")
    # LZ4 decodes faster than zstd: on the full-size twin the cache takes
    # 170 MB instead of 135 MB and loads in about three quarters of the time
    # (docs/benchmarks.md gives the command).
    frame.to_parquet(parquet_temporary, index=False, compression="lz4")
    manifest["parquet_bytes"] = parquet_temporary.stat().st_size
    manifest_temporary.write_text(
        json.dumps(manifest, indent=2) + "\n", encoding="utf-8"
    )
    (directory / MANIFEST_NAME).unlink(missing_ok=True)
    os.replace(parquet_temporary, directory / PARQUET_NAME)
    os.replace(manifest_temporary, directory / MANIFEST_NAME)


# --------------------------------------------------------------------------
# Loading course data


def load_dataset(
    source: str = "auto",
    rows: int | None = None,
    seed: int = 0,
    data_dir: str | os.PathLike | None = None,
) -> pd.DataFrame:
    """Load the flows a lesson or experiment runs on: real rows or the twin.

    Parameters
    ----------
    source : {"auto", "real", "twin"}, default "auto"
        ``"real"`` reads the Parquet cache written by ``data_fetch.py``;
        ``"twin"`` builds the offline twin; ``"auto"`` reads the cache when
        one is present and builds the twin otherwise.
    rows : int, optional
        For cached data, the size of a stratified sample that keeps every
        class with at least min(5, its count) rows (so the result can be
        slightly larger than ``rows`` when ``rows`` is small). For the twin,
        the number of rows to build (default ``DEFAULT_TWIN_ROWS``).
    seed : int, default 0
        Seed of the sample or of the twin.
    data_dir : str or os.PathLike, optional
        The data folder; see ``resolve_data_dir``.

    Returns
    -------
    pandas.DataFrame
        Flows in the ``iotlab.data.load_flows`` schema with a ``RangeIndex``.
        ``attrs["source"]`` is ``"real"`` or ``"twin"`` and
        ``attrs["source_detail"]`` a sentence naming the file or twin.

    Raises
    ------
    FileNotFoundError
        If ``source="real"`` and the folder contains no real-data cache.
    FetchError
        If the twin is needed but ``iotlab.twin`` is not available.

    Warnings
    --------
    Scores measured on the twin are not scores on ACI-IoT-2023; print
    ``df.attrs["source_detail"]`` next to every result.
    """
    if source not in ("auto", "real", "twin"):
        raise ValueError(f"source must be 'auto', 'real' or 'twin', got {source!r}.")
    if rows is not None and rows < 1:
        raise ValueError(f"rows must be a positive integer, got {rows!r}.")
    if source == "twin":
        return _twin_dataset(rows, seed)
    status = cache_status(data_dir)
    if not status.present:
        if source == "real":
            raise FileNotFoundError(f"{status.describe()} {FETCH_HINT}")
        logger.info("%s Using the offline twin.", status.describe())
        return _twin_dataset(rows, seed)
    cached_twin = status.manifest.get("source") == "twin"
    if cached_twin and source == "real":
        raise FileNotFoundError(
            f"{status.describe()}, not real data. {FETCH_HINT} Add --force to "
            "replace the twin."
        )
    frame = load_flows(status.parquet_path)
    detail = status.describe()
    if rows is not None and rows < len(frame):
        from iotlab.preprocessing import stratified_sample

        frame = stratified_sample(frame, rows, seed=seed).reset_index(drop=True)
        detail += f"; a stratified sample of {len(frame):,} rows (seed {seed})"
    frame.attrs["source"] = "twin" if cached_twin else "real"
    frame.attrs["source_detail"] = detail
    logger.info("Loaded %s", detail)
    return frame


def _twin_dataset(rows: int | None, seed: int) -> pd.DataFrame:
    make_twin = _import_make_twin()
    n_rows = rows or DEFAULT_TWIN_ROWS
    frame = make_twin(n_rows, seed=seed)
    frame.attrs["source"] = "twin"
    frame.attrs.setdefault(
        "source_detail", f"offline twin of ACI-IoT-2023, {n_rows:,} rows, seed {seed}"
    )
    return frame


# --------------------------------------------------------------------------
# Command line


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid integer {text!r}") from None


def _twin_rows_help() -> str:
    try:
        twin = _twin_module()
    except FetchError:
        limits = ""
    else:
        limits = f"from {twin.MIN_ROWS} to {twin.MAX_ROWS:,}, "
    return f"rows of the twin, {limits}default {DEFAULT_TWIN_ROWS:,} (--source twin)"


def build_parser(prog: str = "data_fetch.py") -> argparse.ArgumentParser:
    """Build the argument parser of ``data_fetch.py``.

    Parameters
    ----------
    prog : str, default "data_fetch.py"
        The program name that usage and error lines start with, for example
        ``"iotlab fetch"``.
    """
    parser = argparse.ArgumentParser(
        prog=prog,
        description=(
            "Fetch ACI-IoT-2023.csv, check it against the published size and "
            "SHA-256, and cache it as <data dir>/aci-iot-2023.parquet with a "
            "JSON manifest."
        ),
    )
    parser.add_argument(
        "--source",
        choices=SOURCES,
        help="where to get the rows: kaggle (needs an API token), url (a "
        "mirror), file (a local copy) or twin (the offline twin)",
    )
    parser.add_argument(
        "--path", type=Path, help="local CSV, .gz, .zip or Parquet file (--source file)"
    )
    parser.add_argument(
        "--url", help="http or https URL of a copy of ACI-IoT-2023.csv (--source url)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        help=f"data folder (default: ${DATA_DIR_VARIABLE}, else ./{DEFAULT_DATA_DIR})",
    )
    parser.add_argument(
        "--subset",
        action="store_true",
        help="accept a file that differs from the published one (a sample or a "
        "spreadsheet export) after a schema check, and record its own SHA-256",
    )
    parser.add_argument(
        "--force", action="store_true", help="rebuild even if a cache is present"
    )
    parser.add_argument("--rows", type=_integer, help=_twin_rows_help())
    parser.add_argument(
        "--seed",
        type=_integer,
        help="seed of the twin (default 0; --source twin)",
    )
    parser.add_argument(
        "--format",
        dest="file_format",
        choices=("parquet", "csv"),
        help="--source twin only: parquet (default) writes the cache; csv writes "
        "aci-iot-2023-twin-<rows>-seed<seed>.csv in the published text layout",
    )
    parser.add_argument(
        "--status", action="store_true", help="describe the cache and exit"
    )
    return parser


def _check_twin_options(parser: argparse.ArgumentParser, args) -> None:
    """Reject twin options without ``--source twin`` and twin sizes out of range.

    Exits through ``parser.error`` (status 2). The messages name the
    command-line options, where ``_check_arguments`` names the parameters
    of ``fetch``.
    """
    given = [
        option
        for option, value in (
            ("--rows", args.rows),
            ("--seed", args.seed),
            ("--format", args.file_format),
        )
        if value is not None
    ]
    if args.source != "twin" and given:
        verb = "applies" if len(given) == 1 else "apply"
        parser.error(
            f"{', '.join(given)} {verb} only to --source twin. To run on fewer "
            "real rows, fetch the whole file and sample it later: "
            "`iotlab reproduce --sample ROWS` or "
            "iotlab.fetch.load_dataset(rows=ROWS)."
        )
    if args.seed is not None and args.seed < 0:
        parser.error(f"--seed must be 0 or more, got {args.seed}.")
    if args.source == "twin" and args.rows is not None:
        try:
            _twin_module().check_n_rows(args.rows, name="--rows")
        except ValueError as exc:
            parser.error(str(exc))


def main(argv: list[str] | None = None, prog: str = "data_fetch.py") -> int:
    """Run the ``data_fetch.py`` command line and return its exit code.

    ``prog`` is the program name in usage and error lines; ``iotlab fetch``
    passes its own. Exit codes: 0 when the cache was written or already
    present, 1 when the fetch failed (the message explains why), 2 for
    invalid options, 130 when interrupted.
    """
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    if args.status:
        status = cache_status(args.out)
        print(status.describe())
        return 0 if status.present else 1
    if args.source is None:
        parser.error("--source is required: one of " + ", ".join(SOURCES))
    if logging.getLogger().handlers == []:
        logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        _check_twin_options(parser, args)
        seed = 0 if args.seed is None else args.seed
        file_format = args.file_format or "parquet"
        _check_arguments(args.source, args.path, args.url, args.rows, seed, file_format)
    except FetchError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:
        parser.error(str(exc))
    try:
        result = fetch(
            args.source,
            path=args.path,
            url=args.url,
            data_dir=args.out,
            subset=args.subset,
            force=args.force,
            rows=args.rows,
            seed=seed,
            file_format=file_format,
            progress=True,
        )
    except (
        FetchError,
        ChecksumError,
        SchemaError,
        FileNotFoundError,
        IsADirectoryError,
    ) as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{prog}: interrupted; nothing was cached.", file=sys.stderr)
        return 130
    print(result.message)
    return 0
