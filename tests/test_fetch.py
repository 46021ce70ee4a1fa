"""Tests of iotlab.fetch and data_fetch.py against local files and servers.

The url source is tested against a real HTTP server started on 127.0.0.1;
the kaggle source against a stand-in kagglehub module.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import http.server
import importlib.util
import json
import subprocess
import sys
import threading
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import requests
from flow_csv import CALIBRATION, EXCEL_EXPORT, HEADER, synthetic_frame

from iotlab import fetch, schema
from iotlab.data import SchemaError, load_flows, write_published_csv
from iotlab.fetch import (
    ChecksumError,
    FetchError,
    PublishedFile,
    cache_status,
    load_dataset,
    main,
    read_manifest,
)

REPOSITORY = Path(__file__).resolve().parents[1]
HAS_TWIN = importlib.util.find_spec("iotlab.twin") is not None


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch):
    monkeypatch.delenv("IOTLAB_DATA", raising=False)
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return synthetic_frame(60, seed=5)


@pytest.fixture(autouse=True)
def _source_folder(tmp_path):
    (tmp_path / "source").mkdir(exist_ok=True)


@pytest.fixture
def flow_csv(tmp_path, frame) -> Path:
    (tmp_path / "source").mkdir(exist_ok=True)
    return write_published_csv(frame, tmp_path / "source" / "ACI-IoT-2023.csv")


def _publish(monkeypatch, path: Path, frame: pd.DataFrame, **changes) -> None:
    """Make ``path`` the published file for the duration of a test."""
    content = path.read_bytes()
    counts = frame["Label"].value_counts()
    published = PublishedFile(
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        rows=len(frame),
        class_counts={label: int(n) for label, n in counts.items() if n},
    )
    monkeypatch.setattr(fetch, "PUBLISHED", dataclasses.replace(published, **changes))


def _assert_no_cache(directory: Path) -> None:
    leftovers = (
        sorted(p.name for p in directory.iterdir()) if directory.exists() else []
    )
    assert leftovers == []


# --------------------------------------------------------------------------
# A real HTTP server on 127.0.0.1


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        mode, body = self.server.routes.get(self.path, ("missing", b""))
        if mode == "missing":
            self.send_error(404, "Not Found")
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if mode == "cut":
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
        else:
            self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.routes = {}
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def _url(httpd, path: str) -> str:
    return f"http://127.0.0.1:{httpd.server_address[1]}{path}"


def test_url_right_file(server, flow_csv, frame, tmp_path, monkeypatch):
    _publish(monkeypatch, flow_csv, frame)
    server.routes["/mirror/ACI-IoT-2023.csv"] = ("ok", flow_csv.read_bytes())
    out = tmp_path / "data"
    result = fetch.fetch(
        "url", url=_url(server, "/mirror/ACI-IoT-2023.csv"), data_dir=out
    )
    assert result.action == "created"
    assert sorted(p.name for p in out.iterdir()) == [
        fetch.MANIFEST_NAME,
        fetch.PARQUET_NAME,
    ]
    manifest = read_manifest(out)
    assert manifest["source"] == "url"
    assert manifest["published_match"] is True
    assert manifest["subset"] is False
    assert manifest["sha256"] == fetch.PUBLISHED.sha256
    assert manifest["rows"] == 60
    assert manifest["class_counts"] == {label: 5 for label in schema.LABELS}
    assert manifest["original_file"] == "ACI-IoT-2023.csv"
    assert manifest["iotlab_version"]
    assert manifest["created"].endswith("+00:00")
    loaded = load_dataset("real", data_dir=out)
    assert loaded.attrs["source"] == "real"
    assert "SHA-256 verified" in loaded.attrs["source_detail"]
    pd.testing.assert_frame_equal(loaded, frame, check_like=False)


def test_url_wrong_checksum(server, flow_csv, frame, tmp_path, monkeypatch):
    _publish(monkeypatch, flow_csv, frame, sha256="0" * 64)
    server.routes["/ACI-IoT-2023.csv"] = ("ok", flow_csv.read_bytes())
    out = tmp_path / "data"
    with pytest.raises(ChecksumError, match="the SHA-256 differs") as caught:
        fetch.fetch("url", url=_url(server, "/ACI-IoT-2023.csv"), data_dir=out)
    assert "--subset" in str(caught.value)
    _assert_no_cache(out)


def test_url_wrong_size(server, flow_csv, frame, tmp_path, monkeypatch):
    _publish(monkeypatch, flow_csv, frame, size=10)
    server.routes["/ACI-IoT-2023.csv"] = ("ok", flow_csv.read_bytes())
    out = tmp_path / "data"
    with pytest.raises(ChecksumError, match="the size differs"):
        fetch.fetch("url", url=_url(server, "/ACI-IoT-2023.csv"), data_dir=out)
    _assert_no_cache(out)


def test_url_transfer_cut_short(server, flow_csv, frame, tmp_path, monkeypatch):
    _publish(monkeypatch, flow_csv, frame)
    server.routes["/ACI-IoT-2023.csv"] = ("cut", flow_csv.read_bytes())
    out = tmp_path / "data"
    with pytest.raises(FetchError, match="download of .* failed") as caught:
        fetch.fetch("url", url=_url(server, "/ACI-IoT-2023.csv"), data_dir=out)
    assert isinstance(caught.value.__cause__, requests.RequestException)
    _assert_no_cache(out)


def test_url_not_found(server, tmp_path):
    out = tmp_path / "data"
    with pytest.raises(FetchError, match="HTTP status 404"):
        fetch.fetch("url", url=_url(server, "/absent.csv"), data_dir=out)
    _assert_no_cache(out)


def test_url_subset_records_own_hash(server, flow_csv, tmp_path):
    body = flow_csv.read_bytes()
    server.routes["/sample.csv"] = ("ok", body)
    out = tmp_path / "data"
    fetch.fetch("url", url=_url(server, "/sample.csv"), data_dir=out, subset=True)
    manifest = read_manifest(out)
    assert manifest["published_match"] is False
    assert manifest["subset"] is True
    assert manifest["sha256"] == hashlib.sha256(body).hexdigest()
    assert manifest["size_bytes"] == len(body)
    assert manifest["original_file"] == "sample.csv"


def test_url_command_line(server, flow_csv, tmp_path, capsys):
    server.routes["/sample.csv"] = ("ok", flow_csv.read_bytes())
    out = tmp_path / "data"
    argv = ["--source", "url", "--url", _url(server, "/sample.csv"), "--out", str(out)]
    assert main([*argv, "--subset"]) == 0
    assert "60 rows" in capsys.readouterr().out
    assert main([*argv, "--subset"]) == 0
    assert "Nothing to do" in capsys.readouterr().out


# --------------------------------------------------------------------------
# The file source


def test_url_errors_name_the_url(server, flow_csv, frame, tmp_path, monkeypatch):
    _publish(monkeypatch, flow_csv, frame, size=10)
    url = _url(server, "/ACI-IoT-2023.csv")
    server.routes["/ACI-IoT-2023.csv"] = ("ok", flow_csv.read_bytes())
    with pytest.raises(ChecksumError) as caught:
        fetch.fetch("url", url=url, data_dir=tmp_path / "data")
    message = str(caught.value)
    assert message.startswith(f"{url}: the size differs")
    assert ".fetch-" not in message


def test_url_schema_error_names_the_url(server, flow_csv, tmp_path):
    text = flow_csv.read_text().replace(HEADER, HEADER.replace("Protocol", "Proto"))
    url = _url(server, "/renamed.csv")
    server.routes["/renamed.csv"] = ("ok", text.encode())
    with pytest.raises(SchemaError) as caught:
        fetch.fetch("url", url=url, data_dir=tmp_path / "data", subset=True)
    message = str(caught.value)
    assert message.startswith(f"{url}: ")
    assert ".fetch-" not in message


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"<!DOCTYPE html>\n<html><body>Sign in</body></html>\n", "an HTML page"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "a PNG image"),
    ],
)
def test_url_not_a_csv_explained(server, tmp_path, capsys, body, expected):
    url = _url(server, "/ACI-IoT-2023.csv")
    server.routes["/ACI-IoT-2023.csv"] = ("ok", body)
    out = tmp_path / "data"
    assert main(["--source", "url", "--url", url, "--out", str(out)]) == 1
    error = capsys.readouterr().err
    assert f"{url}: this is {expected}, not a CSV file" in error
    assert "--subset" not in error
    assert not out.exists()


@pytest.mark.parametrize(
    "url", ["notaurl", "ftp://mirror.example/ACI-IoT-2023.csv", "https://"]
)
def test_url_scheme_checked_first(url, tmp_path, capsys):
    with pytest.raises(ValueError, match="must start with http:// or https://"):
        fetch.fetch("url", url=url, data_dir=tmp_path / "data")
    with pytest.raises(SystemExit) as caught:
        main(["--source", "url", "--url", url, "--out", str(tmp_path / "data")])
    assert caught.value.code == 2
    error = capsys.readouterr().err
    assert f"invalid URL {url!r}" in error
    assert "Unrecognized URL protocol" not in error
    assert not (tmp_path / "data").exists()


def test_file_without_subset_rejected(flow_csv, tmp_path, capsys):
    out = tmp_path / "data"
    argv = ["--source", "file", "--path", str(flow_csv), "--out", str(out)]
    assert main(argv) == 1
    error = capsys.readouterr().err
    assert "the size differs from the published ACI-IoT-2023.csv" in error
    assert "625,901,428 bytes" in error
    assert "--subset" in error
    _assert_no_cache(out)


def test_file_gzip_matches_published(flow_csv, frame, tmp_path, monkeypatch):
    _publish(monkeypatch, flow_csv, frame)
    packed = tmp_path / "source" / "ACI-IoT-2023.csv.gz"
    packed.write_bytes(gzip.compress(flow_csv.read_bytes()))
    out = tmp_path / "data"
    fetch.fetch("file", path=packed, data_dir=out)
    manifest = read_manifest(out)
    assert manifest["published_match"] is True
    assert manifest["original_file"] == "ACI-IoT-2023.csv"


def test_file_published_but_rows_lost(flow_csv, frame, tmp_path, monkeypatch):
    _publish(monkeypatch, flow_csv, frame, rows=61)
    with pytest.raises(FetchError, match="the loader lost or changed rows"):
        fetch.fetch("file", path=flow_csv, data_dir=tmp_path / "data")


def test_file_parquet_needs_subset(frame, tmp_path):
    path = tmp_path / "source" / "flows.parquet"
    frame.to_parquet(path)
    with pytest.raises(ChecksumError, match="is a Parquet file"):
        fetch.fetch("file", path=path, data_dir=tmp_path / "data")
    fetch.fetch("file", path=path, data_dir=tmp_path / "data", subset=True)
    assert read_manifest(tmp_path / "data")["rows"] == 60


def test_file_missing(tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match="no such file"):
        fetch.fetch("file", path=tmp_path / "absent.csv", data_dir=tmp_path / "data")
    argv = ["--source", "file", "--path", str(tmp_path / "absent.csv")]
    assert main([*argv, "--out", str(tmp_path / "data")]) == 1
    assert "no such file" in capsys.readouterr().err


def test_file_path_is_a_folder(flow_csv, tmp_path, capsys):
    folder = flow_csv.parent
    with pytest.raises(IsADirectoryError) as caught:
        fetch.fetch("file", path=folder, data_dir=tmp_path / "data")
    message = str(caught.value)
    assert f"{folder} is a folder, not a file" in message
    assert f"--path {flow_csv}" in message
    assert "no such file" not in message
    argv = ["--source", "file", "--path", str(tmp_path), "--out", str(tmp_path / "d")]
    assert main(argv) == 1
    error = capsys.readouterr().err
    assert "is a folder, not a file" in error
    assert "ACI-IoT-2023.csv" in error
    assert not (tmp_path / "d").exists()


def test_file_bad_schema_not_cached(flow_csv, tmp_path):
    text = flow_csv.read_text().replace(HEADER, HEADER.replace("Protocol", "Proto"))
    bad = tmp_path / "source" / "renamed.csv"
    bad.write_text(text)
    out = tmp_path / "data"
    with pytest.raises(SchemaError, match="'Proto' \\(did you mean 'Protocol'\\?\\)"):
        fetch.fetch("file", path=bad, data_dir=out, subset=True)
    _assert_no_cache(out)


def test_file_spreadsheet_export(tmp_path):
    if not EXCEL_EXPORT.exists():
        pytest.skip(f"real rows not available: {EXCEL_EXPORT} is missing")
    out = tmp_path / "data"
    fetch.fetch("file", path=EXCEL_EXPORT, data_dir=out, subset=True)
    manifest = read_manifest(out)
    assert manifest["rows"] == 4
    assert manifest["class_counts"] == {"Benign": 4}
    assert manifest["subset"] is True
    loaded = load_dataset("real", data_dir=out)
    zero_duration = loaded[loaded["Flow Duration"] == 0]
    assert np.isnan(zero_duration["Flow Bytes/s"].iloc[0])
    assert np.isinf(zero_duration["Flow Packets/s"].iloc[0])


def test_file_calibration_rows_command_line(tmp_path, capsys):
    if not CALIBRATION.exists():
        pytest.skip(f"real rows not available: {CALIBRATION} is missing")
    out = tmp_path / "data"
    argv = ["--source", "file", "--path", str(CALIBRATION), "--subset"]
    assert main([*argv, "--out", str(out)]) == 0
    manifest = json.loads((out / fetch.MANIFEST_NAME).read_text())
    assert manifest["rows"] == 127
    assert len(manifest["class_counts"]) == 12
    assert manifest["class_counts"]["ARP Spoofing"] == 2
    assert manifest["sha256"] == hashlib.sha256(CALIBRATION.read_bytes()).hexdigest()
    sample = load_dataset("real", rows=60, seed=1, data_dir=out)
    assert sample["Label"].value_counts().min() >= 2
    assert isinstance(sample.index, pd.RangeIndex)


# --------------------------------------------------------------------------
# Cache behaviour


def test_second_run_does_nothing(flow_csv, tmp_path):
    out = tmp_path / "data"
    first = fetch.fetch("file", path=flow_csv, data_dir=out, subset=True)
    written = (out / fetch.PARQUET_NAME).stat().st_mtime_ns
    second = fetch.fetch("file", path=flow_csv, data_dir=out, subset=True)
    assert first.action == "created"
    assert second.action == "unchanged"
    assert "Nothing to do" in second.message
    assert (out / fetch.PARQUET_NAME).stat().st_mtime_ns == written


def test_force_rebuilds(flow_csv, tmp_path):
    out = tmp_path / "data"
    fetch.fetch("file", path=flow_csv, data_dir=out, subset=True)
    again = fetch.fetch("file", path=flow_csv, data_dir=out, subset=True, force=True)
    assert again.action == "created"


def test_other_request_needs_force(flow_csv, frame, tmp_path):
    out = tmp_path / "data"
    fetch.fetch("file", path=flow_csv, data_dir=out, subset=True)
    other = write_published_csv(frame.iloc[:30], tmp_path / "source" / "other.csv")
    with pytest.raises(FetchError, match="--force"):
        fetch.fetch("file", path=other, data_dir=out, subset=True)
    fetch.fetch("file", path=other, data_dir=out, subset=True, force=True)
    assert read_manifest(out)["rows"] == 30


def test_interrupted_conversion_leaves_nothing(flow_csv, tmp_path, monkeypatch):
    def interrupt(path):
        raise KeyboardInterrupt

    monkeypatch.setattr(fetch, "load_flows", interrupt)
    out = tmp_path / "data"
    with pytest.raises(KeyboardInterrupt):
        fetch.fetch("file", path=flow_csv, data_dir=out, subset=True)
    _assert_no_cache(out)


def test_interrupted_rename_is_not_a_cache(flow_csv, tmp_path, monkeypatch):
    out = tmp_path / "data"
    fetch.fetch("file", path=flow_csv, data_dir=out, subset=True)
    calls = []
    original = fetch.os.replace

    def replace_then_interrupt(source, target):
        calls.append(target)
        if len(calls) == 2:
            raise KeyboardInterrupt
        original(source, target)

    monkeypatch.setattr(fetch.os, "replace", replace_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        fetch.fetch("file", path=flow_csv, data_dir=out, subset=True, force=True)
    monkeypatch.undo()
    status = cache_status(out)
    assert not status.present
    assert "no manifest" in status.problem
    assert sorted(p.name for p in out.iterdir()) == [fetch.PARQUET_NAME]
    assert fetch.fetch("file", path=flow_csv, data_dir=out, subset=True).action == (
        "created"
    )


def test_cache_status_damaged_manifest(flow_csv, tmp_path):
    out = tmp_path / "data"
    fetch.fetch("file", path=flow_csv, data_dir=out, subset=True)
    (out / fetch.MANIFEST_NAME).write_text("{not json")
    status = cache_status(out)
    assert not status.present
    assert "could not be read" in status.problem


def test_cache_status_row_mismatch(flow_csv, tmp_path):
    out = tmp_path / "data"
    fetch.fetch("file", path=flow_csv, data_dir=out, subset=True)
    manifest = json.loads((out / fetch.MANIFEST_NAME).read_text())
    manifest["rows"] = 59
    (out / fetch.MANIFEST_NAME).write_text(json.dumps(manifest))
    assert "row counts differ" in cache_status(out).problem


def test_read_manifest_without_cache(tmp_path):
    with pytest.raises(FileNotFoundError, match="data_fetch.py --source kaggle"):
        read_manifest(tmp_path / "data")


def test_data_dir_from_environment(flow_csv, tmp_path, monkeypatch):
    monkeypatch.setenv("IOTLAB_DATA", str(tmp_path / "from-env"))
    fetch.fetch("file", path=flow_csv, subset=True)
    assert (tmp_path / "from-env" / fetch.PARQUET_NAME).exists()
    assert cache_status().present


def test_data_dir_default_is_relative(flow_csv, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert fetch.resolve_data_dir() == Path("data")
    fetch.fetch("file", path=flow_csv, subset=True)
    assert (tmp_path / "data" / fetch.PARQUET_NAME).exists()


# --------------------------------------------------------------------------
# Data folders that cannot be written


def _assert_cannot_write(error: str, folder: Path) -> None:
    assert f"cannot write to {folder}: " in error
    assert "choose another --out or IOTLAB_DATA" in error
    assert "Traceback" not in error


def test_out_is_a_file(flow_csv, tmp_path, capsys):
    blocker = tmp_path / "data"
    blocker.write_text("not a folder\n")
    with pytest.raises(FetchError, match="it is a file, not a folder"):
        fetch.fetch("file", path=flow_csv, data_dir=blocker, subset=True)
    argv = ["--source", "file", "--path", str(flow_csv), "--subset"]
    assert main([*argv, "--out", str(blocker)]) == 1
    _assert_cannot_write(capsys.readouterr().err, blocker)
    assert blocker.read_text() == "not a folder\n"


def test_out_under_a_file(tmp_path, capsys):
    blocker = tmp_path / "data"
    blocker.write_text("x")
    out = blocker / "cache"
    assert main(["--source", "twin", "--rows", "100", "--out", str(out)]) == 1
    error = capsys.readouterr().err
    _assert_cannot_write(error, out)
    assert f"{blocker} is a file, not a folder" in error


def test_twin_csv_out_is_a_file(tmp_path, capsys):
    blocker = tmp_path / "data"
    blocker.write_text("x")
    argv = ["--source", "twin", "--rows", "100", "--format", "csv"]
    assert main([*argv, "--out", str(blocker)]) == 1
    _assert_cannot_write(capsys.readouterr().err, blocker)


def test_data_dir_variable_is_a_file(flow_csv, tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "data"
    blocker.write_text("x")
    monkeypatch.setenv("IOTLAB_DATA", str(blocker))
    argv = ["--source", "file", "--path", str(flow_csv), "--subset"]
    assert main(argv) == 1
    _assert_cannot_write(capsys.readouterr().err, blocker)


def test_out_not_writable(flow_csv, tmp_path, monkeypatch, capsys):
    import iotlab._cli

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(iotlab._cli.tempfile, "mkstemp", refuse)
    out = tmp_path / "data"
    argv = ["--source", "file", "--path", str(flow_csv), "--subset"]
    assert main([*argv, "--out", str(out)]) == 1
    error = capsys.readouterr().err
    _assert_cannot_write(error, out)
    assert "Permission denied" in error
    assert not out.exists()


def test_out_parents_created(flow_csv, tmp_path):
    out = tmp_path / "new" / "nested" / "data"
    fetch.fetch("file", path=flow_csv, data_dir=out, subset=True)
    assert read_manifest(out)["rows"] == 60


def test_failed_fetch_removes_new_folders(tmp_path, capsys):
    out = tmp_path / "new" / "data"
    bad = tmp_path / "source" / "page.csv"
    bad.write_text("<html>\n")
    argv = ["--source", "file", "--path", str(bad), "--subset"]
    assert main([*argv, "--out", str(out)]) == 1
    assert "HTML page" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()


def test_failed_fetch_keeps_existing_folder(tmp_path):
    out = tmp_path / "data"
    out.mkdir()
    bad = tmp_path / "source" / "page.csv"
    bad.write_text("<html>\n")
    with pytest.raises(SchemaError):
        fetch.fetch("file", path=bad, data_dir=out, subset=True)
    assert out.is_dir()
    _assert_no_cache(out)


def test_cache_write_failure_named(flow_csv, tmp_path, monkeypatch):
    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fetch, "_write_cache", full_disk)
    out = tmp_path / "data"
    with pytest.raises(FetchError) as caught:
        fetch.fetch("file", path=flow_csv, data_dir=out, subset=True)
    _assert_cannot_write(str(caught.value), out)
    assert "No space left on device" in str(caught.value)
    assert not out.exists()


def test_status_option(flow_csv, tmp_path, capsys):
    out = tmp_path / "data"
    assert main(["--status", "--out", str(out)]) == 1
    assert "No usable cache" in capsys.readouterr().out
    fetch.fetch("file", path=flow_csv, data_dir=out, subset=True)
    assert main(["--status", "--out", str(out)]) == 0
    assert "60 rows" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--source", "file"],
        ["--source", "url"],
        ["--source", "kaggle", "--rows", "10"],
        ["--source", "kaggle", "--path", "x.csv"],
        ["--source", "twin", "--rows", "0"],
        ["--source", "ftp"],
    ],
)
def test_invalid_options_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    assert "data_fetch.py" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--source", "kaggle", "--rows", "5"], "--rows applies only to --source twin"),
        (
            ["--source", "file", "--path", "x.csv", "--seed", "3", "--format", "csv"],
            "--seed, --format apply only to --source twin",
        ),
    ],
)
def test_twin_options_named_as_options(argv, expected, capsys):
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    error = capsys.readouterr().err
    assert expected in error
    assert "load_dataset(rows=...)" not in error
    assert "file_format" not in error


@pytest.mark.skipif(not HAS_TWIN, reason="iotlab.twin is not available")
@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ("10", "--rows=10 is too small"),
        ("59", "so ask for 60 rows or more"),
        ("1000000000", "--rows=1,000,000,000 is too large"),
    ],
)
def test_twin_rows_out_of_range(rows, expected, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as caught:
        main(["--source", "twin", "--rows", rows])
    assert caught.value.code == 2
    assert expected in capsys.readouterr().err
    assert not (tmp_path / "data").exists()


@pytest.mark.skipif(not HAS_TWIN, reason="iotlab.twin is not available")
def test_twin_rows_api_checked_early(tmp_path):
    from iotlab.twin import TwinError

    with pytest.raises(TwinError, match="too large"):
        fetch.fetch("twin", rows=10**9, data_dir=tmp_path / "data")
    assert not (tmp_path / "data").exists()


@pytest.mark.skipif(not HAS_TWIN, reason="iotlab.twin is not available")
def test_rows_help_states_twin_limits(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "from 60 to 6,157,055" in text
    assert "at least 1" not in text


def test_prog_name_in_usage_and_errors(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["--help"], prog="iotlab fetch")
    assert capsys.readouterr().out.startswith("usage: iotlab fetch ")
    argv = ["--source", "file", "--path", str(tmp_path / "absent.csv")]
    assert main([*argv, "--out", str(tmp_path / "d")], prog="iotlab fetch") == 1
    assert capsys.readouterr().err.startswith("iotlab fetch: error: ")


def test_script_help_runs():
    completed = subprocess.run(
        [sys.executable, str(REPOSITORY / "data_fetch.py"), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0
    assert "--subset" in completed.stdout


# --------------------------------------------------------------------------
# The kaggle source, with a stand-in kagglehub module


def _fake_kagglehub(credentials=True, download=None) -> types.ModuleType:
    module = types.ModuleType("kagglehub")
    module.config = types.SimpleNamespace(
        get_kaggle_credentials=lambda: object() if credentials else None
    )
    module.dataset_download = download
    return module


def test_kaggle_without_credentials(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "kagglehub", _fake_kagglehub(credentials=False))
    out = tmp_path / "data"
    with pytest.raises(FetchError, match="no Kaggle credentials were found"):
        fetch.fetch("kaggle", data_dir=out)
    assert main(["--source", "kaggle", "--out", str(out)]) == 1
    error = capsys.readouterr().err
    assert "~/.kaggle/kaggle.json" in error
    assert "--source file" in error
    _assert_no_cache(out)


def test_kaggle_download(flow_csv, tmp_path, monkeypatch):
    requested = {}

    def download(handle, path=None, *, force_download=False, output_dir=None):
        requested.update(handle=handle, path=path)
        target = Path(output_dir) / "ACI-IoT-2023.csv"
        target.write_bytes(flow_csv.read_bytes())
        return str(target)

    monkeypatch.setitem(sys.modules, "kagglehub", _fake_kagglehub(download=download))
    out = tmp_path / "data"
    fetch.fetch("kaggle", data_dir=out, subset=True)
    assert requested == {"handle": schema.KAGGLE_HANDLE, "path": "ACI-IoT-2023.csv"}
    manifest = read_manifest(out)
    assert manifest["source"] == "kaggle"
    assert manifest["rows"] == 60
    assert sorted(p.name for p in out.iterdir()) == [
        fetch.MANIFEST_NAME,
        fetch.PARQUET_NAME,
    ]


def test_kaggle_download_refused(tmp_path, monkeypatch):
    def download(handle, path=None, *, force_download=False, output_dir=None):
        raise requests.HTTPError("403 Client Error: Forbidden")

    monkeypatch.setitem(sys.modules, "kagglehub", _fake_kagglehub(download=download))
    with pytest.raises(FetchError, match="Kaggle download of .* failed: 403"):
        fetch.fetch("kaggle", data_dir=tmp_path / "data")
    _assert_no_cache(tmp_path / "data")


def test_kaggle_not_installed(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "kagglehub", None)
    with pytest.raises(FetchError, match="kagglehub is not installed"):
        fetch.fetch("kaggle", data_dir=tmp_path / "data")


# --------------------------------------------------------------------------
# The twin and load_dataset


def test_twin_missing_is_clear(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "iotlab.twin", None)
    with pytest.raises(FetchError, match="no iotlab.twin module"):
        fetch.fetch("twin", rows=100, data_dir=tmp_path / "data")
    with pytest.raises(FetchError, match="no iotlab.twin module"):
        load_dataset("auto", data_dir=tmp_path / "data")
    _assert_no_cache(tmp_path / "data")


def test_load_real_without_cache(tmp_path):
    with pytest.raises(FileNotFoundError, match="python data_fetch.py"):
        load_dataset("real", data_dir=tmp_path / "data")


def test_load_dataset_stratified_sample(tmp_path):
    big = synthetic_frame(600, seed=2)
    path = write_published_csv(big, tmp_path / "source" / "big.csv")
    out = tmp_path / "data"
    fetch.fetch("file", path=path, data_dir=out, subset=True)
    sample = load_dataset("auto", rows=100, seed=3, data_dir=out)
    assert sample.attrs["source"] == "real"
    assert "stratified sample of" in sample.attrs["source_detail"]
    assert len(sample) >= 100
    assert sample["Label"].value_counts().min() >= 5
    again = load_dataset("auto", rows=100, seed=3, data_dir=out)
    pd.testing.assert_frame_equal(sample, again)


def test_load_dataset_rejects_bad_source(tmp_path):
    with pytest.raises(ValueError, match="source must be"):
        load_dataset("kaggle", data_dir=tmp_path)


@pytest.mark.skipif(not HAS_TWIN, reason="iotlab.twin is not available")
def test_twin_cache_and_load(tmp_path):
    out = tmp_path / "data"
    result = fetch.fetch("twin", rows=300, seed=4, data_dir=out)
    assert result.action == "created"
    manifest = read_manifest(out)
    assert manifest["source"] == "twin"
    assert manifest["rows"] == 300
    assert manifest["twin_seed"] == 4
    loaded = load_dataset("auto", data_dir=out)
    assert loaded.attrs["source"] == "twin"
    assert len(loaded) == 300
    with pytest.raises(FileNotFoundError, match="not real data"):
        load_dataset("real", data_dir=out)


@pytest.mark.skipif(not HAS_TWIN, reason="iotlab.twin is not available")
def test_twin_csv_round_trips(tmp_path):
    from iotlab.twin import make_twin

    out = tmp_path / "data"
    result = fetch.fetch("twin", rows=300, seed=4, data_dir=out, file_format="csv")
    assert result.path.name == "aci-iot-2023-twin-300-seed4.csv"
    assert not (out / fetch.PARQUET_NAME).exists()
    pd.testing.assert_frame_equal(load_flows(result.path), make_twin(300, seed=4))
    again = fetch.fetch("twin", rows=300, seed=4, data_dir=out, file_format="csv")
    assert again.action == "unchanged"


@pytest.mark.skipif(not HAS_TWIN, reason="iotlab.twin is not available")
def test_load_dataset_twin_without_cache(tmp_path):
    loaded = load_dataset("auto", rows=200, seed=1, data_dir=tmp_path / "data")
    assert loaded.attrs["source"] == "twin"
    assert len(loaded) == 200
    assert "twin" in loaded.attrs["source_detail"]


def test_default_data_dir_is_course_root(tmp_path, monkeypatch):
    course = tmp_path / "course"
    lesson_folder = course / "lessons" / "00_setup"
    lesson_folder.mkdir(parents=True)
    (course / "solutions").mkdir()
    (course / "nbgrader_config.py").write_text("c = get_config()\n")
    monkeypatch.delenv("IOTLAB_DATA", raising=False)
    monkeypatch.chdir(lesson_folder)
    assert fetch.resolve_data_dir() == course / "data"


def test_default_data_dir_outside_course(tmp_path, monkeypatch):
    monkeypatch.delenv("IOTLAB_DATA", raising=False)
    monkeypatch.chdir(tmp_path)
    assert fetch.resolve_data_dir() == Path("data")
