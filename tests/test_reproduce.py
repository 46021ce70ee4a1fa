"""Tests of ``iotlab reproduce``: options, a run on the twin, real rows."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from synthetic_flows import make_flows

from iotlab import reproduce
from iotlab.evaluation import METRIC_NAMES, MODEL_NAMES
from iotlab.features import MIN_CONV_FEATURES
from iotlab.models import configure_threads

configure_threads(2)

SHARED_DATA = Path(
    os.environ.get(
        "IOTLAB_SHARED_DATA",
        Path(__file__).resolve().parents[1].parent / "shared" / "data",
    )
)
CALIBRATION_CSV = SHARED_DATA / "aci-iot-2023-calibration.csv"


def settings_for(*argv: str) -> reproduce.Settings:
    return reproduce.Settings.from_args(reproduce.build_parser().parse_args(list(argv)))


def check_results(out: Path, models=MODEL_NAMES) -> pd.DataFrame:
    results = pd.read_csv(out / "results.csv")
    assert results["model"].tolist() == list(models)
    for metric in METRIC_NAMES:
        assert results[metric].between(0.0, 1.0).all(), metric
    assert (results["n_features"] >= MIN_CONV_FEATURES).all()
    per_class = pd.read_csv(out / "per_class.csv")
    assert set(per_class["model"]) == set(models)
    assert (out / "results.md").read_text().startswith("# iotlab reproduce")
    assert not list(out.glob(".reproduce-*"))  # no staging folder left behind
    return results


def test_help_states_quick_settings(capsys):
    with pytest.raises(SystemExit) as exit_info:
        reproduce.main(["--help"])
    assert exit_info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "under 3 minutes on 2 CPU cores" in text
    assert "batch-size 64" in text
    assert "--features {flow,paper}" in text


def test_quick_presets_and_overrides():
    quick = settings_for("--quick", "--epochs", "5")
    assert quick.epochs == 5
    assert quick.batch_size == reproduce.QUICK["batch_size"]
    assert quick.sample == reproduce.QUICK["sample"]
    full = settings_for()
    assert full.epochs == 50
    assert full.batch_size == 32
    assert full.sample is None


def test_models_keep_table_order():
    settings = settings_for("--models", "CNN-LSTM", "LR")
    assert settings.models == ("LR", "CNN-LSTM")


def test_bad_options_exit_2(tmp_path, capsys):
    assert reproduce.main(["--epochs", "0", "--out", str(tmp_path)]) == 2
    assert "--epochs must be >= 1" in capsys.readouterr().err
    assert reproduce.main(["--models", "XGBoost", "--out", str(tmp_path)]) == 2
    assert "XGBoost" in capsys.readouterr().err


def _fail_if_loading(settings):
    raise AssertionError("the data was loaded before --out was checked")


def test_out_is_a_file_exits_before_loading(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(reproduce, "load_flows_for", _fail_if_loading)
    blocker = tmp_path / "results"
    blocker.write_text("x")
    assert reproduce.main(["--quick", "--out", str(blocker)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert f"cannot write to {blocker}: it is a file, not a folder" in error
    assert "choose another --out" in error
    assert blocker.read_text() == "x"


def test_out_not_writable_exits_2(tmp_path, monkeypatch, capsys):
    import iotlab._cli

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(reproduce, "load_flows_for", _fail_if_loading)
    monkeypatch.setattr(iotlab._cli.tempfile, "mkstemp", refuse)
    out = tmp_path / "new" / "run"
    assert reproduce.main(["--quick", "--out", str(out)]) == 2
    assert "Permission denied; choose another --out" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()


def test_failed_run_removes_new_out(tmp_path, capsys):
    out = tmp_path / "new" / "run"
    missing = tmp_path / "none.csv"
    assert reproduce.main(["--data", str(missing), "--out", str(out)]) == 2
    assert "none.csv" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()


def test_n_features_below_conv_minimum(tmp_path, capsys):
    argv = ["--n-features", str(MIN_CONV_FEATURES - 1), "--out", str(tmp_path)]
    assert reproduce.main(argv) == 2
    error = capsys.readouterr().err
    assert f"--n-features must be at least {MIN_CONV_FEATURES}" in error
    assert "Conv1D" in error
    assert settings_for("--n-features", "10").n_features == 10


def test_sample_below_twin_minimum(tmp_path, capsys):
    argv = ["--source", "twin", "--sample", "30", "--out", str(tmp_path)]
    assert reproduce.main(argv) == 2
    error = capsys.readouterr().err
    assert "--sample must be at least 60 rows, got 30" in error
    assert "n_rows" not in error


def test_sample_above_twin_maximum(tmp_path, capsys):
    argv = ["--source", "twin", "--sample", str(10**9), "--out", str(tmp_path)]
    assert reproduce.main(argv) == 2
    error = capsys.readouterr().err
    assert "--sample=1,000,000,000 is too large" in error
    assert "GB" in error


def test_sample_help_states_minimum(capsys):
    with pytest.raises(SystemExit):
        reproduce.main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "at least 60" in text


def test_twin_fallback_names_fetch_command(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IOTLAB_DATA", raising=False)
    settings = settings_for("--sample", "100")
    _, source, detail = reproduce.load_flows_for(settings)
    assert source == "twin"
    assert "`python data_fetch.py --source kaggle`" in detail
    assert "--source file --path ACI-IoT-2023.csv" in detail
    assert "run `python data_fetch.py` to" not in detail


def test_missing_data_file_exits_2(tmp_path, capsys):
    missing = tmp_path / "none.csv"
    assert reproduce.main(["--data", str(missing), "--out", str(tmp_path)]) == 2
    assert "none.csv" in capsys.readouterr().err


def test_baselines_only_on_synthetic_flows(tmp_path):
    flows = make_flows()
    settings = settings_for("--quick", "--models", "DT", "LR")
    lines = []
    experiment = reproduce.run_experiment(flows, settings, progress=lines.append)
    assert experiment.n_train + experiment.n_test == len(flows)
    assert lines[-1].startswith("[2/2] DT: fit ")
    written = reproduce.write_outputs(experiment, tmp_path)
    assert Path("figures/confusion_dt.png") in written
    results = check_results(tmp_path, models=("LR", "DT"))
    assert results["data_source"].eq("synthetic").all()
    assert results["feature_set"].eq("paper").all()


def test_experiment_fits_on_training_rows_only(monkeypatch):
    from sklearn.pipeline import Pipeline
    from test_features import RowSpy

    import iotlab.features
    from iotlab.preprocessing import encode_labels, stratified_split

    spies = []

    def spied_pipeline(*args, **kwargs):
        spies.append(RowSpy())
        selection = make_feature_pipeline(*args, **kwargs)
        return Pipeline([("spy", spies[-1]), *selection.steps])

    make_feature_pipeline = iotlab.features.make_feature_pipeline
    monkeypatch.setattr(iotlab.features, "make_feature_pipeline", spied_pipeline)
    flows = make_flows()
    settings = settings_for("--quick", "--seed", "4", "--models", "DT")
    reproduce.run_experiment(flows, settings, progress=lambda line: None)
    expected_train, expected_test, _, _ = stratified_split(
        flows, encode_labels(flows["Label"]), seed=4
    )
    assert len(spies) == 1
    fitted = spies[0].fitted_index_
    assert fitted.sort_values().equals(expected_train.index.sort_values())
    assert fitted.intersection(expected_test.index).empty


def test_single_row_class_is_noted(tmp_path):
    counts = {"Port Scan": 30, "Benign": 30, "ARP Spoofing": 1}
    settings = settings_for("--quick", "--models", "DT")
    experiment = reproduce.run_experiment(
        make_flows(counts), settings, progress=lambda line: None
    )
    assert experiment.n_test == 12
    assert any("'ARP Spoofing'" in note for note in experiment.notes)
    reproduce.write_outputs(experiment, tmp_path)
    assert "single row" in (tmp_path / "results.md").read_text()


@pytest.mark.slow
def test_reproduce_quick_on_twin(tmp_path, capsys):
    argv = ["--source", "twin", "--quick", "--sample", "1000", "--epochs", "2"]
    assert reproduce.main([*argv, "--out", str(tmp_path)]) == 0
    output = capsys.readouterr().out
    assert "offline twin" in output.splitlines()[0]
    assert "[7/7] CNN-LSTM" in output
    assert "Table 3" in output
    assert "Stage wall times (a model's stage includes building, fitting" in output
    results = check_results(tmp_path)
    assert results["data_source"].eq("twin").all()
    assert (results["n_train"] + results["n_test"]).eq(1000).all()
    figures = tmp_path / "figures"
    assert (figures / "training_cnn-lstm.png").is_file()
    assert (figures / "roc.png").is_file()


@pytest.mark.slow
@pytest.mark.skipif(
    not CALIBRATION_CSV.is_file(),
    reason=f"real calibration rows not found at {CALIBRATION_CSV}",
)
def test_reproduce_quick_on_real_rows(tmp_path, capsys):
    # 127 real rows, 2 of them ARP Spoofing: one goes to the test rows, the
    # other is too few for the validation split and stays in training.
    argv = ["--data", str(CALIBRATION_CSV), "--quick", "--epochs", "2"]
    assert reproduce.main([*argv, "--out", str(tmp_path)]) == 0
    check_results(tmp_path)
    per_class = pd.read_csv(tmp_path / "per_class.csv")
    arp = per_class[per_class["class"] == "ARP Spoofing"]
    assert arp["support"].max() == 1
