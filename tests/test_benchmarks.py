"""The benchmark script runs every stage at a tiny size, and its estimates add up.

These tests check that ``python -m benchmarks.run`` works from the README's
install and writes its tables; they assert no timings, because a shared CI
machine cannot hold a speed target.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# benchmarks/ is not part of the installed package; `python -m pytest` from
# the repository root finds it, and this line makes a bare `pytest` find it.
sys.path.insert(0, str(ROOT))

from benchmarks import flops

TINY_ROWS = 2_000


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    """A data folder shared by the tests of this module, so the twin is built once."""
    return tmp_path_factory.mktemp("bench-data")


def run_benchmark(out: Path, data_dir: Path, *options: str) -> dict:
    """Run ``python -m benchmarks.run`` at a tiny size and return results.json."""
    command = [
        sys.executable,
        "-m",
        "benchmarks.run",
        "--rows",
        str(TINY_ROWS),
        "--repeat",
        "1",
        "--threads",
        "1",
        "--data-dir",
        str(data_dir),
        "--out",
        str(out),
        *options,
    ]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    completed = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    page = (out / "results.md").read_text(encoding="utf-8")
    assert completed.stdout.strip() == page.strip()
    return json.loads((out / "results.json").read_text(encoding="utf-8"))


def test_flops_of_cnn_lstm():
    from iotlab.models import build_cnn_lstm

    counted = flops.model_flops(build_cnn_lstm(20))
    assert counted["by_layer"] == {
        "conv1": 18 * 64 * 3 * 1,
        "conv2": 7 * 128 * 3 * 64,
        "lstm1": 3 * 4 * 128 * (128 + 128),
        "lstm2": 3 * 4 * 64 * (128 + 64),
        "dense": 64 * 128,
        "softmax": 128 * 12,
    }
    assert counted["forward"] == 1_451_776
    assert counted["training"] == 3 * 1_451_776


CPUINFO_CASES = [
    ("GenuineIntel", "6", "fma avx avx2 avx512f", 64),
    ("AuthenticAMD", "25", "fma avx avx2 avx512f", 32),
    ("AuthenticAMD", "26", "fma avx avx2 avx512f", 64),
    ("GenuineIntel", "6", "fma avx avx2", 32),
    ("GenuineIntel", "6", "avx", 16),
    ("GenuineIntel", "6", "sse sse2", 8),
]


@pytest.mark.parametrize(("vendor", "family", "flags", "per_cycle"), CPUINFO_CASES)
def test_cpu_peak_per_cycle(vendor, family, flags, per_cycle):
    info = {
        "vendor_id": vendor,
        "cpu family": family,
        "flags": flags,
        "cpu MHz": "2500.000",
    }
    peak = flops.cpu_peak(info, cores=4)
    assert peak.flops_per_cycle == per_cycle
    assert peak.gflops == pytest.approx(4 * 2.5 * per_cycle)
    assert f"{per_cycle} FP32 FLOPs/cycle" in peak.how


def test_cpu_peak_needs_clock():
    with pytest.raises(ValueError, match="--cpu-ghz"):
        flops.cpu_peak({"flags": "fma avx"}, cores=2)
    assert flops.cpu_peak({"flags": "fma avx"}, cores=2, ghz=3.0).gflops == 192.0


def test_load_and_preprocess_stages(tmp_path, data_dir):
    report = run_benchmark(tmp_path, data_dir, "--stage", "load", "preprocess")
    load, preprocess = report["sections"]
    assert load["title"].startswith(f"Loading {TINY_ROWS:,} rows x 85 columns")
    assert set(load["runs"]) == {
        "pandas.read_csv(csv)",
        "load_flows(csv)",
        "load_flows(parquet cache)",
        "load_flows(parquet cache), next process",
    }
    for runs in load["runs"].values():
        assert len(runs) == 1
        assert runs[0]["rows"] == TINY_ROWS
        assert runs[0]["peak_mib"] > 0
    assert len(load["targets"]) == 3
    assert set(preprocess["runs"]) == {"paper", "flow"}
    assert preprocess["runs"]["paper"][0]["test_rows"] == TINY_ROWS // 5
    assert (data_dir / str(TINY_ROWS) / "aci-iot-2023.parquet").is_file()
    assert report["machine"]["versions"]["pandas"] != "not installed"


@pytest.mark.slow
def test_train_stage(tmp_path, data_dir):
    report = run_benchmark(
        tmp_path,
        data_dir,
        "--stage",
        "train",
        "--batch-sizes",
        "32",
        "64",
        "--train-steps",
        "8",
        "4",
    )
    (train,) = report["sections"]
    assert set(train["runs"]) == {"32 tf.data", "32 numpy", "64 tf.data", "64 numpy"}
    assert train["runs"]["64 numpy"][0]["steps"] == 4
    assert train["runs"]["32 tf.data"][0]["training_flops_per_sample"] == 4_355_328
    assert [target["target"] for target in train["targets"]] == [
        "batch 32: tf.data not slower than NumPy input",
        "batch 64: tf.data not slower than NumPy input",
    ]


@pytest.mark.slow
def test_reproduce_stage(tmp_path, data_dir):
    report = run_benchmark(
        tmp_path,
        data_dir,
        "--stage",
        "reproduce",
        "--paper-steps",
        "4",
        "--eval-steps",
        "2",
    )
    (section,) = report["sections"]
    quick = section["runs"]["quick"][0]
    stages = [row["stage"] for row in quick["stages"]]
    assert stages[:3] == ["import TensorFlow", "load", "split"]
    assert stages[-1] == "write outputs"
    assert {"feature selection", "LR", "CNN-LSTM"} <= set(stages)
    paper = section["runs"]["paper_baselines"][0]
    assert [model["model"] for model in paper["models"]] == ["LR", "SVM", "DT", "RF"]
    for name in ("CNN", "LSTM", "CNN-LSTM"):
        assert section["runs"][name][0]["eval_samples_per_second"] > 0
    assert any("50 epochs" in line for line in section["lines"])


@pytest.mark.slow
def test_notebooks_stage(tmp_path, data_dir):
    report = run_benchmark(
        tmp_path, data_dir, "--stage", "notebooks", "--notebooks", "00_setup"
    )
    (section,) = report["sections"]
    run = section["runs"][0]
    assert run["exit_code"] == 0, run["pytest_summary"]
    assert list(run["notebooks"]) == ["00_setup"]
