"""Tests of the offline twin: schema, CICFlowMeter invariants, class mix, quirks."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from iotlab import schema
from iotlab.twin import (
    MAX_ROWS,
    MIN_ROWS,
    MIN_ROWS_PER_CLASS,
    PEAK_BYTES_PER_ROW,
    TwinError,
    check_n_rows,
    class_counts,
    estimated_peak_bytes,
    load_calibration,
    make_twin,
)

SHARED_DATA = Path(
    os.environ.get(
        "IOTLAB_SHARED_DATA",
        Path(__file__).resolve().parents[1].parent / "shared" / "data",
    )
)
CALIBRATION_CSV = SHARED_DATA / "aci-iot-2023-calibration.csv"
ATTACKER = "192.168.1.45"
SCANS = ("Port Scan", "OS Scan", "Ping Sweep", "Vulnerability Scan")
EDT_OFFSET = np.timedelta64(4, "h")


@pytest.fixture(scope="module")
def twin() -> pd.DataFrame:
    return make_twin(6_000, seed=7)


def _need_real_rows():
    if not CALIBRATION_CSV.is_file():
        pytest.skip(
            f"real calibration rows not found at {CALIBRATION_CSV}; set "
            "IOTLAB_SHARED_DATA to the folder that holds them"
        )


# --- schema -----------------------------------------------------------------


def test_schema_columns_and_order(twin):
    assert list(twin.columns) == list(schema.COLUMN_NAMES)


def test_schema_dtypes(twin):
    for name, dtype in schema.COLUMNS.items():
        assert schema.dtype_matches(name, twin[name].dtype), name
        if dtype != "category":
            assert twin[name].dtype == dtype, name


def test_source_attribute(twin):
    assert twin.attrs["source"] == "twin"
    assert "twin" in twin.attrs["source_detail"]


def test_schema_matches_load_flows():
    _need_real_rows()
    try:
        from iotlab.data import load_flows, validate_frame
    except ImportError:
        pytest.skip("iotlab.data.load_flows is not available in this checkout")
    real = load_flows(CALIBRATION_CSV)
    small = make_twin(200, seed=1)
    assert list(small.columns) == list(real.columns)
    for name in schema.COLUMN_NAMES:
        if schema.COLUMNS[name] == "category":
            assert real[name].cat.categories.dtype == small[name].cat.categories.dtype
        else:
            assert small[name].dtype == real[name].dtype, name
    validate_frame(small, source="twin")


def test_published_csv_round_trip(tmp_path):
    from iotlab.data import load_flows, write_published_csv

    frame = make_twin(2_000, seed=1)
    path = write_published_csv(frame, tmp_path / "twin.csv")
    back = load_flows(path)
    pd.testing.assert_frame_equal(
        back.reset_index(drop=True),
        frame.reset_index(drop=True),
        check_exact=False,
        rtol=1e-12,
    )


# --- determinism and class mix ----------------------------------------------


def test_same_seed_same_frame():
    assert make_twin(800, seed=3).equals(make_twin(800, seed=3))


def test_other_seed_other_frame():
    assert not make_twin(800, seed=3).equals(make_twin(800, seed=4))


def test_full_size_counts_exact():
    assert class_counts(schema.FULL_ROWS) == schema.FULL_CLASS_COUNTS


@pytest.mark.parametrize("n_rows", [60, 61, 100, 999, 50_000])
def test_class_floor(n_rows):
    counts = class_counts(n_rows)
    assert sum(counts.values()) == n_rows
    assert min(counts.values()) >= MIN_ROWS_PER_CLASS


def test_twin_label_counts_follow_class_counts(twin):
    observed = twin["Label"].value_counts().to_dict()
    assert observed == class_counts(len(twin))


@pytest.mark.parametrize("n_rows", [59, 0, -5, 10.5, "100", True])
def test_invalid_row_count_raises(n_rows):
    with pytest.raises(TwinError):
        make_twin(n_rows)


def test_row_limits():
    assert MIN_ROWS == MIN_ROWS_PER_CLASS * len(schema.LABELS) == 60
    assert MAX_ROWS == 5 * schema.FULL_ROWS
    assert check_n_rows(MIN_ROWS) == MIN_ROWS
    assert check_n_rows(MAX_ROWS) == MAX_ROWS


def test_too_many_rows_rejected_with_estimate():
    with pytest.raises(TwinError) as caught:
        check_n_rows(MAX_ROWS + 1)
    message = str(caught.value)
    assert f"n_rows={MAX_ROWS + 1:,} is too large" in message
    assert f"{estimated_peak_bytes(MAX_ROWS + 1) / 1e9:,.0f} GB" in message
    assert f"{MAX_ROWS:,} rows" in message


def test_make_twin_huge_fails_before_allocating():
    # 10**9 rows would need about 2 TB; the check must come before any work.
    with pytest.raises(TwinError, match="too large") as caught:
        make_twin(10**9)
    assert "2,200 GB" in str(caught.value)
    assert estimated_peak_bytes(10**9) == 10**9 * PEAK_BYTES_PER_ROW


def test_row_messages_use_given_name():
    with pytest.raises(TwinError, match=r"^--rows=10 is too small"):
        check_n_rows(10, name="--rows")
    with pytest.raises(TwinError, match=r"60 rows or more"):
        check_n_rows(10, name="--rows")


def test_invalid_seed_raises():
    with pytest.raises(TwinError, match="seed"):
        make_twin(100, seed=-1)


# --- CICFlowMeter invariants on every row -----------------------------------


def _close(a, b):
    return np.isclose(np.asarray(a, float), np.asarray(b, float), rtol=1e-9, atol=1e-6)


def test_totals_equal_count_times_mean(twin):
    for side, count, total in (
        ("Fwd", "Total Fwd Packet", "Total Length of Fwd Packet"),
        ("Bwd", "Total Bwd packets", "Total Length of Bwd Packet"),
    ):
        product = twin[count] * twin[f"{side} Packet Length Mean"]
        assert _close(twin[total], product).all(), side


def test_variance_is_std_squared(twin):
    assert _close(twin["Packet Length Variance"], twin["Packet Length Std"] ** 2).all()


@pytest.mark.parametrize(
    "prefix",
    [
        "Fwd Packet Length",
        "Bwd Packet Length",
        "Packet Length",
        "Flow IAT",
        "Fwd IAT",
        "Bwd IAT",
        "Active",
        "Idle",
    ],
)
def test_min_le_mean_le_max(twin, prefix):
    low = twin[f"{prefix} Min"].astype(float)
    mean = twin[f"{prefix} Mean"]
    high = twin[f"{prefix} Max"].astype(float)
    tolerance = 1e-6 * np.maximum(high.abs(), 1.0)
    assert (low <= mean + tolerance).all()
    assert (mean <= high + tolerance).all()


def test_flow_rates_follow_duration(twin):
    duration = twin["Flow Duration"].to_numpy(float)
    total = (
        twin["Total Length of Fwd Packet"] + twin["Total Length of Bwd Packet"]
    ).to_numpy(float)
    packets = (twin["Total Fwd Packet"] + twin["Total Bwd packets"]).to_numpy(float)
    rate = twin["Flow Bytes/s"].to_numpy()
    positive = duration > 0
    assert _close(rate[positive], total[positive] / duration[positive] * 1e6).all()
    assert np.isinf(rate[~positive & (total > 0)]).all()
    assert np.isnan(rate[~positive & (total == 0)]).all()
    packet_rate = twin["Flow Packets/s"].to_numpy()
    assert _close(
        packet_rate[positive], packets[positive] / duration[positive] * 1e6
    ).all()
    assert np.isinf(packet_rate[~positive]).all()


def test_inf_nan_only_in_rate_columns(twin):
    numeric = twin[list(schema.NUMERIC_COLUMNS)].drop(columns=list(schema.RATE_COLUMNS))
    values = numeric.to_numpy(float)
    assert np.isfinite(values).all()


def test_zero_duration_shares():
    frame = make_twin(200_000, seed=2)
    share = len(frame) / schema.FULL_ROWS
    rate = frame["Flow Bytes/s"]
    n_inf, n_nan = round(915 * share), round(1009 * share)
    assert np.isinf(rate).sum() == n_inf
    assert rate.isna().sum() == n_nan
    assert np.isinf(frame["Flow Packets/s"]).sum() == n_inf + n_nan


def test_iat_mean_splits_duration(twin):
    packets = twin["Total Fwd Packet"] + twin["Total Bwd packets"]
    several = packets > 1
    assert _close(
        twin.loc[several, "Flow IAT Mean"] * (packets[several] - 1),
        twin.loc[several, "Flow Duration"],
    ).all()


def test_subflow_columns(twin):
    packets = twin["Total Fwd Packet"] + twin["Total Bwd packets"]
    assert (twin["Subflow Fwd Packets"] == twin["Total Fwd Packet"] // packets).all()
    assert (
        twin["Subflow Fwd Bytes"] == twin["Total Length of Fwd Packet"] // packets
    ).all()
    assert (
        twin["Subflow Bwd Bytes"] == twin["Total Length of Bwd Packet"] // packets
    ).all()


def test_ratio_and_segment_columns(twin):
    assert (
        twin["Down/Up Ratio"] == twin["Total Bwd packets"] // twin["Total Fwd Packet"]
    ).all()
    assert _close(twin["Fwd Segment Size Avg"], twin["Fwd Packet Length Mean"]).all()
    assert _close(twin["Bwd Segment Size Avg"], twin["Bwd Packet Length Mean"]).all()


def test_constant_columns(twin):
    for name in schema.CONSTANT_COLUMNS:
        assert twin[name].nunique() == 1, name


def test_flow_id_composition(twin):
    expected = (
        twin["Src IP"].astype(str)
        + "-"
        + twin["Dst IP"].astype(str)
        + "-"
        + twin["Src Port"].astype(str)
        + "-"
        + twin["Dst Port"].astype(str)
        + "-"
        + twin["Protocol"].astype(str)
    )
    assert (twin["Flow ID"] == expected).all()


# --- quirks and leaks -------------------------------------------------------


def test_idle_max_is_capture_time(twin):
    epoch_seconds = (twin["Idle Max"] // 1_000_000).to_numpy().astype("datetime64[s]")
    local = epoch_seconds - EDT_OFFSET
    assert (local == twin["Timestamp"].to_numpy()).all()


def test_idle_min_is_small_gap_when_flow_idles(twin):
    # A flow with a gap over the 5 s activity timeout has that gap as Idle Min.
    idles = twin["Idle Std"] > 0
    assert idles.any()
    assert (twin.loc[idles, "Idle Min"] > 5_000_000).all()
    assert (twin.loc[idles, "Idle Min"] < 1e9).all()


def test_capture_days(twin):
    days = twin["Timestamp"].dt.date
    first, last = schema.CAPTURE_START, schema.CAPTURE_END
    assert days.between(first, last).all()
    for label in schema.LABELS:
        n_days = days[twin["Label"] == label].nunique()
        if label == "Benign":
            assert n_days == 5
        else:
            assert n_days == 1, label


def test_attacker_host(twin):
    from_attacker = twin["Src IP"] == ATTACKER
    for label in SCANS:
        assert from_attacker[twin["Label"] == label].all(), label
    for label in ("Slowloris", "Dictionary Attack"):
        assert from_attacker[twin["Label"] == label].mean() > 0.6, label
    benign_share = from_attacker[twin["Label"] == "Benign"].mean()
    assert 0.005 < benign_share < 0.06


def test_protocol_zero_classes(twin):
    for label in ("ICMP Flood", "ARP Spoofing"):
        rows = twin[twin["Label"] == label]
        assert (rows["Protocol"] == 0).all(), label
        assert (rows["Src Port"] == 0).all(), label
        assert (rows["Dst Port"] == 0).all(), label


def test_udp_flood_overlaps_dns_and_arp():
    frame = make_twin(300_000, seed=5)
    udp = frame[frame["Label"] == "UDP Flood"]
    dns_like = (udp["Protocol"] == 17) & (udp["Dst Port"] == 53)
    arp_like = (udp["Protocol"] == 0) & (udp["Total Length of Fwd Packet"] == 0)
    assert dns_like.mean() > 0.1
    assert arp_like.any()


def test_duplicates_without_identifiers():
    frame = make_twin(20_000, seed=9)
    behaviour = frame.drop(columns=list(schema.IDENTIFIER_COLUMNS))
    assert behaviour.duplicated().sum() >= 10


def test_scans_alike_on_behaviour():
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import cross_val_score

    frame = make_twin(30_000, seed=11)
    scans = frame[frame["Label"].isin(["Port Scan", "OS Scan", "Ping Sweep"])]
    hidden = set(schema.IDENTIFIER_COLUMNS) | set(schema.TIME_COLUMNS)
    hidden |= set(schema.RATE_COLUMNS)
    behaviour = [name for name in schema.NUMERIC_COLUMNS if name not in hidden]
    sample = scans.groupby("Label", observed=True).head(600)
    labels = sample["Label"].astype(str)
    model = RandomForestClassifier(n_estimators=30, random_state=0, n_jobs=1)
    blind = cross_val_score(model, sample[behaviour], labels, cv=3).mean()
    with_time = cross_val_score(
        model, sample[behaviour + ["Idle Max"]], labels, cv=3
    ).mean()
    assert blind < 0.6
    assert with_time > 0.95


# --- calibration and acceptance ----------------------------------------------


def test_packaged_calibration_has_every_class():
    figures = load_calibration()
    assert set(figures["classes"]) == set(schema.LABELS)


def test_missing_calibration_file_raises(tmp_path):
    with pytest.raises(TwinError, match="not found"):
        load_calibration(tmp_path / "absent.json")


def test_calibration_figures_hold_no_rows():
    figures = load_calibration()
    text = str(figures)
    assert "Flow ID" not in text
    for entry in figures["classes"].values():
        for mode in entry["modes"]:
            if mode["rows"] < figures["min_rows_for_figures"]:
                assert set(mode) == {"rows"}


@pytest.mark.slow
def test_forest_on_twin_scores_real_rows():
    _need_real_rows()
    from sklearn.ensemble import RandomForestClassifier

    from iotlab.calibration.derive import read_real_rows

    real = read_real_rows(CALIBRATION_CSV)
    frame = make_twin(50_000, seed=0)
    hidden = set(schema.IDENTIFIER_COLUMNS) | set(schema.RATE_COLUMNS)
    features = [name for name in schema.NUMERIC_COLUMNS if name not in hidden]
    model = RandomForestClassifier(n_estimators=100, random_state=0, n_jobs=2)
    model.fit(frame[features].to_numpy(float), frame["Label"].astype(str))
    predicted = model.predict(real[features].to_numpy(float))
    accuracy = (predicted == real["Label"].astype(str).to_numpy()).mean()
    assert accuracy >= 0.80


# --- fidelity report ------------------------------------------------------------


def test_report_without_real_rows_fails_clearly(tmp_path, monkeypatch, capsys):
    from iotlab import report

    monkeypatch.setattr(report, "default_real_path", lambda: None)
    code = report.main(["--out", str(tmp_path / "out")])
    assert code == 2
    assert "--real PATH" in capsys.readouterr().err


def test_report_rows_below_minimum_exit_2(tmp_path, capsys):
    from iotlab import report

    with pytest.raises(SystemExit) as caught:
        report.main(["--rows", "10", "--out", str(tmp_path / "out")])
    assert caught.value.code == 2
    error = capsys.readouterr().err
    assert "--rows=10 is too small" in error
    assert "60 rows or more" in error
    assert not (tmp_path / "out").exists()


def test_report_rows_above_maximum_exit_2(tmp_path, capsys):
    from iotlab import report

    with pytest.raises(SystemExit) as caught:
        report.main(["--rows", str(10**9), "--out", str(tmp_path / "out")])
    assert caught.value.code == 2
    assert "is too large" in capsys.readouterr().err


def test_report_image_as_real_rows_exit_2(tmp_path, capsys):
    from iotlab import report

    image = tmp_path / "image.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    out = tmp_path / "out"
    assert report.main(["--real", str(image), "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("iotlab twin-report: error: ")
    assert "this is a PNG image, not a CSV file" in error
    assert "Traceback" not in error
    assert not out.exists()


def test_report_real_path_is_a_folder(tmp_path, capsys):
    from iotlab import report

    assert report.main(["--real", str(tmp_path), "--out", str(tmp_path)]) == 2
    assert f"--real {tmp_path} is a folder" in capsys.readouterr().err


def test_report_out_is_a_file_exit_2(tmp_path, capsys):
    from iotlab import report

    real = tmp_path / "real.csv"
    real.write_text("a,b\n1,2\n")
    blocker = tmp_path / "out"
    blocker.write_text("x")
    assert report.main(["--real", str(real), "--out", str(blocker)]) == 2
    assert "cannot write to" in capsys.readouterr().err


def test_report_help_states_defaults(capsys):
    from iotlab import report

    with pytest.raises(SystemExit):
        report.main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: twin-report)" in text
    assert "IOTLAB_SHARED_DATA" in text
    assert "../shared" not in text
    assert "from 60 to 6,157,055" in text


@pytest.mark.slow
def test_report_writes_markdown_and_figures(tmp_path, monkeypatch):
    _need_real_rows()
    from iotlab import report

    # Fewer trees and repeats keep this a check of the plumbing, not of scores.
    monkeypatch.setattr(report, "N_TREES", 20)
    monkeypatch.setattr(report, "DISCRIMINATOR_REPEATS", 1)

    code = report.main(
        ["--real", str(CALIBRATION_CSV), "--out", str(tmp_path), "--rows", "3000"]
    )
    assert code == 0
    text = (tmp_path / "twin-report.md").read_text()
    assert "discriminator ROC AUC" in text
    assert (tmp_path / "twin-quantiles.png").stat().st_size > 0
    assert (tmp_path / "twin-to-real-confusion.png").stat().st_size > 0
