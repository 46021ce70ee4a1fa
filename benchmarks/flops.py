"""Count a Keras model's floating-point operations and estimate a CPU's peak.

Both figures are estimates. ``model_flops`` counts the multiply-adds of the
matrix products from the layer shapes, and ``cpu_peak`` multiplies cores,
clock and the FLOPs one core can issue per cycle, which it derives from the
CPU's SIMD flags.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

#: FP32 FLOPs of a training step per FLOP of the forward pass. The backward
#: pass computes one gradient with respect to the activations and one with
#: respect to the weights, each a matrix product of the forward's size, so
#: training costs about three forward passes. This is the usual estimate; it
#: ignores optimizer updates, which scale with the parameters, not the batch.
TRAINING_FACTOR = 3


def layer_macs(layer) -> int:
    """Count the multiply-adds of one Keras layer for one sample.

    Only matrix products are counted. With input shape (T, D) per sample:

    - ``Conv1D`` with C filters, kernel k and L output steps:
      L * C * k * D;
    - ``LSTM`` with H units: T * 4H * (D + H), the four gates' input and
      recurrent products at each of the T steps;
    - ``Dense`` with U units: (product of the leading dimensions) * D * U.

    Biases, activations, the LSTM's elementwise gate products, pooling,
    dropout and reshapes are left out. They add O(outputs) operations, below
    2 % of the total for the models of ``iotlab.models``.

    Parameters
    ----------
    layer : keras.layers.Layer
        A built layer of a functional model.

    Returns
    -------
    int
        Multiply-adds per sample; 0 for layers without a matrix product.
    """
    kind = type(layer).__name__
    if kind not in ("Conv1D", "LSTM", "Dense"):
        return 0
    input_shape = tuple(layer.input.shape[1:])
    output_shape = tuple(layer.output.shape[1:])
    if kind == "Conv1D":
        steps, filters = output_shape
        return steps * filters * layer.kernel_size[0] * input_shape[-1]
    if kind == "LSTM":
        steps, features = input_shape
        units = layer.units
        return steps * 4 * units * (features + units)
    leading = 1
    for size in input_shape[:-1]:
        leading *= size
    return leading * input_shape[-1] * layer.units


def model_flops(model) -> dict[str, int]:
    """Estimate a model's FLOPs per sample for inference and for training.

    Forward FLOPs are 2 * the sum of ``layer_macs`` over the layers (one
    multiply and one add per multiply-add). Training FLOPs are
    ``TRAINING_FACTOR`` (3) times the forward FLOPs. For the CNN-LSTM of
    ``iotlab.models.build_cnn_lstm`` with F input features, two blocks leave
    T = floor((floor((F - 2) / 2) - 2) / 2) steps and the forward count is

        2 * [ (F-2)*64*3*1 + (floor((F-2)/2) - 2)*128*3*64
              + T*4*128*(128+128) + T*4*64*(128+64) + 64*128 + 128*12 ]

    which is 1,451,776 FLOPs for F = 20 (T = 3).

    Parameters
    ----------
    model : keras.Model
        A built functional model.

    Returns
    -------
    dict
        ``forward`` and ``training`` FLOPs per sample, and ``by_layer``
        (layer name -> multiply-adds) for the layers that have any.
    """
    by_layer = {}
    for layer in model.layers:
        macs = layer_macs(layer)
        if macs:
            by_layer[layer.name] = macs
    forward = 2 * sum(by_layer.values())
    return {
        "forward": forward,
        "training": TRAINING_FACTOR * forward,
        "by_layer": by_layer,
    }


@dataclass
class CpuPeak:
    """An estimate of a CPU's peak FP32 throughput and how it was derived."""

    cores: int
    ghz: float
    vector_bits: int
    fma_units: int
    flops_per_cycle: int
    how: str

    @property
    def gflops(self) -> float:
        """Peak FP32 GFLOP/s: cores * clock (GHz) * FLOPs per cycle."""
        return self.cores * self.ghz * self.flops_per_cycle


def read_cpuinfo(path: str | os.PathLike = "/proc/cpuinfo") -> dict[str, str]:
    """Return the fields of the first processor in ``/proc/cpuinfo``.

    Returns an empty dict where the file does not exist (macOS, Windows).
    """
    path = Path(path)
    if not path.is_file():
        return {}
    fields: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if not line.strip():
            if fields:
                break
            continue
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    return fields


def cpu_peak(
    cpuinfo: dict[str, str] | None = None,
    cores: int | None = None,
    ghz: float | None = None,
    fma_units: int = 2,
) -> CpuPeak:
    """Estimate peak FP32 FLOP/s as cores * clock * FLOPs per cycle.

    With the ``fma`` flag, FLOPs per cycle = ``fma_units`` * (vector bits /
    32 lanes) * 2, because one fused multiply-add is two FLOPs. Without it,
    a core is taken to have one multiply and one add unit, which gives
    lanes * 2. The vector width comes from the flags: 512 bits with
    ``avx512f``, 256 with ``avx``, else 128. AMD cores before Zen 5 (family
    25 and lower) run AVX-512 on 256-bit units, so they count as 256 bits.

    This is an estimate. Two FMA units per core holds for Intel cores since
    Haswell and AMD cores since Zen 2, but not for every CPU. The clock is
    the ``cpu MHz`` that ``/proc/cpuinfo`` reports, which in a virtual
    machine is the host's nominal rate, not the boost clock.

    Parameters
    ----------
    cpuinfo : dict, optional
        Fields of ``/proc/cpuinfo`` (``read_cpuinfo()`` by default).
    cores : int, optional
        Cores to count; ``os.cpu_count()`` by default.
    ghz : float, optional
        Clock in GHz; ``cpu MHz`` / 1000 by default.
    fma_units : int, default 2
        FMA units per core, for CPUs with the ``fma`` flag.

    Returns
    -------
    CpuPeak

    Raises
    ------
    ValueError
        If no clock is given and ``/proc/cpuinfo`` reports none; pass
        ``ghz``.
    """
    info = read_cpuinfo() if cpuinfo is None else cpuinfo
    cores = cores or os.cpu_count() or 1
    if ghz is None:
        mhz = info.get("cpu MHz")
        if not mhz:
            raise ValueError(
                "The CPU clock is unknown because /proc/cpuinfo has no 'cpu MHz' "
                "field; pass the clock in GHz (--cpu-ghz)."
            )
        ghz = float(mhz) / 1000.0
    flags = set(info.get("flags", "").split())
    if "avx512f" in flags:
        vector_bits = 512
    elif "avx" in flags:
        vector_bits = 256
    else:
        vector_bits = 128
    how = f"{vector_bits}-bit vectors from the CPU flags"
    family = int(info.get("cpu family", "0") or 0)
    if vector_bits == 512 and info.get("vendor_id") == "AuthenticAMD" and family <= 25:
        vector_bits = 256
        how = "AVX-512 on 256-bit units (AMD family 25 or older)"
    lanes = vector_bits // 32
    if "fma" in flags:
        flops_per_cycle = fma_units * lanes * 2
        units = f"{fma_units} FMA units x {lanes} lanes x 2"
    else:
        fma_units = 0
        flops_per_cycle = lanes * 2
        units = f"a multiply and an add unit x {lanes} lanes"
    how = (
        f"{cores} cores x {ghz:.2f} GHz x {flops_per_cycle} FP32 FLOPs/cycle "
        f"({units}; {how})"
    )
    return CpuPeak(cores, ghz, vector_bits, fma_units, flops_per_cycle, how)


def cpu_model_name(cpuinfo: dict[str, str] | None = None) -> str:
    """Return the CPU's model name, family and model numbers, if known."""
    info = read_cpuinfo() if cpuinfo is None else cpuinfo
    name = re.sub(r"\s+", " ", info.get("model name", "")).strip() or "unknown CPU"
    if "cpu family" in info and "model" in info:
        name += f" (family {info['cpu family']}, model {info['model']})"
    return name
