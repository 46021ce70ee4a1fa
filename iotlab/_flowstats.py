"""CICFlowMeter flow columns computed from packet lists, vectorised with NumPy.

The offline twin draws packets (direction, time, payload length, header length,
TCP flags) for every flow and then computes the flow record the way the
CICFlowMeter build behind ACI-IoT-2023 writes it, quirks included, so that the
arithmetic relations between columns hold on every row:

* The packet-length statistics over the whole flow (``Packet Length Mean``,
  ``Std``, ``Variance``) and ``Average Packet Size`` count the first packet
  twice: the mean divides the byte total plus the first packet's length by
  ``N + 1`` values, ``Average Packet Size`` by ``N``.
* Standard deviations are sample standard deviations (``ddof=1``), and 0 for
  fewer than two values.
* ``Subflow Fwd Packets``, ``Subflow Fwd Bytes`` and ``Subflow Bwd Bytes`` are
  the direction's packets or bytes divided (integer division) by the flow's
  packet count, so ``Subflow Bwd Packets`` is always 0.
* ``Fwd PSH Flags`` is 1 only when the flow's first packet carries PSH.
* ``Fwd Act Data Pkts`` counts forward packets with payload after the first.
* ``Idle`` values are the flow's start time in epoch microseconds plus every
  gap longer than the 5 s activity timeout, so ``Idle Max`` is the capture
  time. ``Active`` values are the spans of the active periods that end in
  such a gap, where the span is positive.
* Bulk columns come out under the ``Bwd`` names only and count packets of both
  directions: runs of at least four consecutive packets with payload, each
  within 1 s of the previous one.

Every relation above was checked against the real calibration rows.
"""

from __future__ import annotations

import numpy as np

FIN, SYN, RST, PSH, ACK = 1, 2, 4, 8, 16
ACTIVITY_TIMEOUT_US = 5_000_000
BULK_GAP_US = 1_000_000
BULK_MIN_PACKETS = 4


def _group_stats(values, groups, n_groups):
    """Count, sum, mean, sample std, max and min of ``values`` per group.

    ``groups`` must be sorted (non-decreasing), so that each group is a
    contiguous slice. Empty groups get zeros everywhere.
    """
    values = np.asarray(values, dtype=np.float64)
    count = np.bincount(groups, minlength=n_groups)
    total = np.bincount(groups, weights=values, minlength=n_groups)
    mean = np.divide(total, count, out=np.zeros(n_groups), where=count > 0)
    deviation = values - mean[groups]
    squares = np.bincount(groups, weights=deviation * deviation, minlength=n_groups)
    std = np.sqrt(
        np.divide(squares, count - 1, out=np.zeros(n_groups), where=count > 1)
    )
    vmax = np.zeros(n_groups)
    vmin = np.zeros(n_groups)
    if values.size:
        starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
        present = groups[starts]
        vmax[present] = np.maximum.reduceat(values, starts)
        vmin[present] = np.minimum.reduceat(values, starts)
    return count, total, mean, std, vmax, vmin


def _gaps(times, groups):
    """Gaps between consecutive packets of the same group and the gap's group."""
    same = groups[1:] == groups[:-1]
    return (times[1:] - times[:-1])[same], groups[1:][same]


def flow_columns(
    flow, backward, time_us, length, header, flags, start_us, win_fwd, win_bwd
):
    """Compute the CICFlowMeter columns of flows from their packets.

    Parameters
    ----------
    flow : ndarray of int64
        Flow index of every packet, sorted, with packets of a flow in time
        order. Every flow has at least one packet and starts with a forward
        packet.
    backward : ndarray of bool
        True for packets from the responder to the initiator.
    time_us : ndarray of int64
        Packet time in microseconds since the flow's first packet.
    length, header : ndarray of int64
        Payload length and transport-header length of every packet, in bytes.
    flags : ndarray of uint8
        TCP flag bits of every packet (``FIN``, ``SYN``, ``RST``, ``PSH``,
        ``ACK`` of this module).
    start_us : ndarray of int64
        Start time of every flow in epoch microseconds.
    win_fwd, win_bwd : ndarray of int64
        Initial TCP window of the forward and backward direction.

    Returns
    -------
    dict of str to ndarray
        One array per numeric CICFlowMeter column, keyed by the published
        column name. As in the published file, ``Flow Bytes/s`` and
        ``Flow Packets/s`` are inf or NaN for zero-duration flows.
    """
    n_flows = start_us.size
    length_f = length.astype(np.float64)
    out: dict[str, np.ndarray] = {}

    first_index = np.flatnonzero(np.r_[True, flow[1:] != flow[:-1]])
    last_index = np.r_[first_index[1:] - 1, flow.size - 1]
    duration = time_us[last_index]
    first_length = length_f[first_index]

    # Forward and backward packets as contiguous groups 2*flow and 2*flow+1.
    direction_group = flow * 2 + backward
    order = np.argsort(direction_group, kind="stable")
    d_group = direction_group[order]
    d_length = length_f[order]
    d_time = time_us[order]
    count, total, mean, std, vmax, vmin = _group_stats(d_length, d_group, 2 * n_flows)
    n_fwd, n_bwd = count[0::2], count[1::2]
    bytes_fwd, bytes_bwd = total[0::2], total[1::2]
    n_packets = n_fwd + n_bwd
    out["Flow Duration"] = duration
    out["Total Fwd Packet"] = n_fwd
    out["Total Bwd packets"] = n_bwd
    out["Total Length of Fwd Packet"] = bytes_fwd
    out["Total Length of Bwd Packet"] = bytes_bwd
    for prefix, side in (("Fwd", 0), ("Bwd", 1)):
        out[f"{prefix} Packet Length Max"] = vmax[side::2]
        out[f"{prefix} Packet Length Min"] = vmin[side::2]
        out[f"{prefix} Packet Length Mean"] = mean[side::2]
        out[f"{prefix} Packet Length Std"] = std[side::2]

    total_bytes = bytes_fwd + bytes_bwd
    with np.errstate(divide="ignore", invalid="ignore"):
        out["Flow Bytes/s"] = total_bytes / duration * 1e6
        out["Flow Packets/s"] = n_packets / duration * 1e6
    positive = duration > 0
    out["Fwd Packets/s"] = np.divide(
        n_fwd * 1e6, duration, out=np.zeros(n_flows), where=positive
    )
    out["Bwd Packets/s"] = np.divide(
        n_bwd * 1e6, duration, out=np.zeros(n_flows), where=positive
    )

    gap, gap_flow = _gaps(time_us, flow)
    _, _, g_mean, g_std, g_max, g_min = _group_stats(gap, gap_flow, n_flows)
    out["Flow IAT Mean"] = g_mean
    out["Flow IAT Std"] = g_std
    out["Flow IAT Max"] = g_max
    out["Flow IAT Min"] = g_min
    d_gap, d_gap_group = _gaps(d_time, d_group)
    _, d_total, d_mean, d_std, d_max, d_min = _group_stats(
        d_gap, d_gap_group, 2 * n_flows
    )
    for prefix, side in (("Fwd", 0), ("Bwd", 1)):
        out[f"{prefix} IAT Total"] = d_total[side::2]
        out[f"{prefix} IAT Mean"] = d_mean[side::2]
        out[f"{prefix} IAT Std"] = d_std[side::2]
        out[f"{prefix} IAT Max"] = d_max[side::2]
        out[f"{prefix} IAT Min"] = d_min[side::2]

    def flag_count(bit, mask=None):
        hit = (flags & bit) > 0
        if mask is not None:
            hit &= mask
        return np.bincount(flow, weights=hit, minlength=n_flows)

    out["Fwd PSH Flags"] = ((flags[first_index] & PSH) > 0).astype(np.int64)
    out["Bwd PSH Flags"] = np.zeros(n_flows)
    out["Fwd URG Flags"] = np.zeros(n_flows)
    out["Bwd URG Flags"] = np.zeros(n_flows)
    header_fwd = np.bincount(flow, weights=header * ~backward, minlength=n_flows)
    header_bwd = np.bincount(flow, weights=header * backward, minlength=n_flows)
    out["Fwd Header Length"] = header_fwd
    out["Bwd Header Length"] = header_bwd

    # Whole-flow length statistics over N + 1 values (first packet twice).
    doubled_count = n_packets + 1
    doubled_mean = (total_bytes + first_length) / doubled_count
    deviation = length_f - doubled_mean[flow]
    squares = np.bincount(flow, weights=deviation * deviation, minlength=n_flows)
    squares += (first_length - doubled_mean) ** 2
    doubled_variance = squares / (doubled_count - 1)
    out["Packet Length Min"] = np.minimum(
        vmin[0::2], np.where(n_bwd > 0, vmin[1::2], np.inf)
    )
    out["Packet Length Max"] = np.maximum(vmax[0::2], vmax[1::2])
    out["Packet Length Mean"] = doubled_mean
    out["Packet Length Std"] = np.sqrt(doubled_variance)
    out["Packet Length Variance"] = out["Packet Length Std"] ** 2

    out["FIN Flag Count"] = flag_count(FIN)
    out["SYN Flag Count"] = flag_count(SYN)
    out["RST Flag Count"] = flag_count(RST)
    out["PSH Flag Count"] = flag_count(PSH)
    out["ACK Flag Count"] = flag_count(ACK)
    for name in ("URG Flag Count", "CWR Flag Count", "ECE Flag Count"):
        out[name] = np.zeros(n_flows)
    out["Down/Up Ratio"] = n_bwd // n_fwd
    out["Average Packet Size"] = (total_bytes + first_length) / n_packets
    out["Fwd Segment Size Avg"] = out["Fwd Packet Length Mean"]
    out["Bwd Segment Size Avg"] = out["Bwd Packet Length Mean"]
    for name in ("Fwd Bytes/Bulk Avg", "Fwd Packet/Bulk Avg", "Fwd Bulk Rate Avg"):
        out[name] = np.zeros(n_flows)
    out.update(_bulk_columns(flow, time_us, length_f, n_flows))
    out["Subflow Fwd Packets"] = n_fwd // n_packets
    out["Subflow Fwd Bytes"] = bytes_fwd // n_packets
    out["Subflow Bwd Packets"] = n_bwd // n_packets
    out["Subflow Bwd Bytes"] = bytes_bwd // n_packets
    out["FWD Init Win Bytes"] = win_fwd
    out["Bwd Init Win Bytes"] = np.where(n_bwd > 0, win_bwd, 0)
    later_forward = ~backward
    later_forward[first_index] = False
    out["Fwd Act Data Pkts"] = np.bincount(
        flow, weights=later_forward & (length > 0), minlength=n_flows
    )
    fwd_headers = np.where(backward, np.iinfo(np.int64).max, header)
    out["Fwd Seg Size Min"] = np.minimum.reduceat(fwd_headers, first_index)
    out.update(_active_idle_columns(flow, time_us, start_us, n_flows))
    return out


def _bulk_columns(flow, time_us, length_f, n_flows):
    """Bulk averages of the ``Bwd`` bulk columns (both directions counted)."""
    data = length_f > 0
    index = np.flatnonzero(data)
    zeros = {
        "Bwd Bytes/Bulk Avg": np.zeros(n_flows),
        "Bwd Packet/Bulk Avg": np.zeros(n_flows),
        "Bwd Bulk Rate Avg": np.zeros(n_flows),
    }
    if index.size == 0:
        return zeros
    d_flow = flow[index]
    d_time = time_us[index]
    # A run of data packets breaks at a packet without payload, a new flow or
    # a gap over 1 s.
    breaks = np.r_[
        True,
        (d_flow[1:] != d_flow[:-1])
        | (index[1:] != index[:-1] + 1)
        | (d_time[1:] - d_time[:-1] > BULK_GAP_US),
    ]
    run = np.cumsum(breaks) - 1
    run_length = np.bincount(run)
    run_bytes = np.bincount(run, weights=length_f[index])
    run_start = d_time[breaks]
    run_end = np.maximum.reduceat(d_time, np.flatnonzero(breaks))
    run_flow = d_flow[breaks]
    bulk = run_length >= BULK_MIN_PACKETS
    n_bulk = np.bincount(run_flow[bulk], minlength=n_flows)
    packets = np.bincount(run_flow[bulk], weights=run_length[bulk], minlength=n_flows)
    bytes_ = np.bincount(run_flow[bulk], weights=run_bytes[bulk], minlength=n_flows)
    span = np.bincount(
        run_flow[bulk], weights=(run_end - run_start)[bulk], minlength=n_flows
    )
    has = n_bulk > 0
    return {
        "Bwd Bytes/Bulk Avg": np.where(has, bytes_ // np.maximum(n_bulk, 1), 0),
        "Bwd Packet/Bulk Avg": np.where(has, packets // np.maximum(n_bulk, 1), 0),
        "Bwd Bulk Rate Avg": np.floor(
            np.divide(bytes_ * 1e6, span, out=np.zeros(n_flows), where=span > 0)
        ),
    }


def _active_idle_columns(flow, time_us, start_us, n_flows):
    """Active and Idle columns with the capture time as the first idle value."""
    gap, gap_flow = _gaps(time_us, flow)
    long_gap = gap > ACTIVITY_TIMEOUT_US
    idle = gap[long_gap].astype(np.float64)
    idle_flow = gap_flow[long_gap]
    n_idle = np.bincount(idle_flow, minlength=n_flows) + 1
    epoch = start_us.astype(np.float64)
    idle_sum = np.bincount(idle_flow, weights=idle, minlength=n_flows)
    idle_mean = (epoch + idle_sum) / n_idle
    deviation = idle - idle_mean[idle_flow]
    squares = np.bincount(idle_flow, weights=deviation * deviation, minlength=n_flows)
    squares += (epoch - idle_mean) ** 2
    idle_std = np.sqrt(
        np.divide(squares, n_idle - 1, out=np.zeros(n_flows), where=n_idle > 1)
    )
    idle_min = epoch.copy()
    if idle.size:
        starts = np.flatnonzero(np.r_[True, idle_flow[1:] != idle_flow[:-1]])
        idle_min[idle_flow[starts]] = np.minimum.reduceat(idle, starts)

    # Active periods: packets between long gaps; a period counts when a long
    # gap ends it and its span is positive.
    same = flow[1:] == flow[:-1]
    split = np.zeros(flow.size, dtype=bool)
    split[1:] = same & (time_us[1:] - time_us[:-1] > ACTIVITY_TIMEOUT_US)
    new_period = split.copy()
    new_period[0] = True
    new_period[1:] |= ~same
    period = np.cumsum(new_period) - 1
    period_starts = np.flatnonzero(new_period)
    period_span = (
        np.maximum.reduceat(time_us, period_starts) - time_us[period_starts]
    ).astype(np.float64)
    period_flow = flow[period_starts]
    ended_by_gap = split[period_starts[1:]]
    counted = np.r_[ended_by_gap, False] & (period_span > 0)
    del period
    a_flow = period_flow[counted]
    _, _, a_mean, a_std, a_max, a_min = _group_stats(
        period_span[counted], a_flow, n_flows
    )
    return {
        "Active Mean": a_mean,
        "Active Std": a_std,
        "Active Max": a_max,
        "Active Min": a_min,
        "Idle Mean": idle_mean,
        "Idle Std": idle_std,
        "Idle Max": epoch,
        "Idle Min": idle_min,
    }
