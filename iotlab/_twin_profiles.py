"""Per-class flow shapes of the offline twin: the domain knowledge part.

Each class is a mixture of *modes*, one per kind of flow that the attack or
the benign traffic produces (a scan probe, a DNS query, an SSH login, ...).
A mode fixes the structure of its flows (protocol, hosts, ports, which packet
carries which TCP flags, header and window sizes) and gives the spread of its
numbers as quantiles. Quantile lists are values at evenly spaced
probabilities from 0 to 1, sampled by linear interpolation; durations and
payload sizes are given as log10 of microseconds or bytes.

The numbers were read off figures of the real calibration rows (the
quantiles and frequencies that ``iotlab.calibration.derive`` writes) and
widened with what each attack tool does, stated next to each class. With
2 to 25 real rows per class they are estimates: a mode seen once in the
calibration rows gets a small weight, and modes that the tools are known to
produce but the rows do not show are marked as assumptions.
"""

from __future__ import annotations

from .schema import LABELS

# TCP flag bits, as in ``iotlab._flowstats``.
FIN, SYN, RST, PSH, ACK = 1, 2, 4, 8, 16

#: Attack host of the capture: source of every scan and of most Slowloris
#: and Dictionary Attack flows.
ATTACKER = "192.168.1.45"

# Column names used by the ``match`` predicates below.
N_FWD, N_BWD = "Total Fwd Packet", "Total Bwd packets"
FWD_BYTES = "Total Length of Fwd Packet"


def _from_attacker(d):
    return d["Src IP"] == ATTACKER


def _from_lan(d):
    return d["Src IP"].str.startswith("192.168.")


# Every mode has a ``match`` predicate that picks, from real rows of its
# class, the rows of this kind of flow (None: the rows that no earlier mode
# of the class took). ``iotlab.calibration.derive`` uses them to measure the
# figures of each mode.
# Host specifications: a list of (address, weight), or one of the keywords
# "public" (random routable IPv4), "lan" (random 192.168.1.2-254).
# Port specifications: an int, a list of (port, weight), "ephemeral"
# (32768-60999, the Linux default range), "any" (1-65535).

_SCAN_PROBE = {
    # nmap SYN probe: 24-byte TCP header (MSS option), window 1024, no
    # payload; the target answers RST-ACK with a 20-byte header.
    "proto": 6,
    "dst": "lan_targets",
    "dport": "any",
    "n_fwd": [1],
    "n_bwd": [1],
    "dur": [3.38, 3.49, 3.55, 3.70, 3.78, 4.07, 4.82],
    "alpha": 1.0,
    "fwd": {"first": 0},
    "bwd": {"first": 0},
    "hdr": (24, 24, 20, 20),
    "flags": (SYN, SYN, RST | ACK, RST | ACK),
    "win_fwd": [(1024, 1.0)],
    "win_bwd": [(0, 0.85), (2920, 0.15)],
    "wireless": 1.0,
}
_SCAN_PADDED = {
    # The same probe seen on the wired tap, a few microseconds long, with
    # 2 bytes of Ethernet padding counted as payload (1 in 10 calibration
    # rows of Port Scan and of Ping Sweep).
    **_SCAN_PROBE,
    "dur": [0.3, 0.48, 0.6, 0.7, 0.9],
    "fwd": {"first": 2},
    "win_bwd": [(0, 1.0)],
    "wireless": 0.0,
}


def _scan(src_ports):
    """Modes of the three nmap scans, which differ only in source port."""
    return [
        {
            **_SCAN_PROBE,
            "w": 0.9,
            "match": lambda d: d[FWD_BYTES] == 0,
            "src": [(ATTACKER, 1.0)],
            "sport": src_ports,
        },
        {
            **_SCAN_PADDED,
            "w": 0.1,
            "match": lambda d: d[FWD_BYTES] > 0,
            "src": [(ATTACKER, 1.0)],
            "sport": src_ports,
        },
    ]


_TCP_SESSION = {
    # A TCP connection with handshake: SYN (40-byte header with options),
    # SYN-ACK, then ACKs with 32-byte headers (timestamps); packets with
    # payload carry PSH.
    "proto": 6,
    "alpha": 0.6,
    "hdr": (40, 32, 40, 32),
    "flags": (SYN, ACK, SYN | ACK, ACK),
    "psh_on_data": True,
    "fin": 0.6,
    "win_fwd": [(64240, 0.7), (29200, 0.2), (65535, 0.1)],
    "win_bwd": [(65160, 0.3), (501, 0.2), (131, 0.2), (28960, 0.2), (4418, 0.1)],
}
_TCP_MIDFLOW = {
    # The tail of a connection that CICFlowMeter split into a new flow (after
    # a FIN or a timeout): ACKs with 32-byte headers, small windows (scaled).
    "proto": 6,
    "alpha": 1.0,
    "hdr": (32, 32, 32, 32),
    "flags": (ACK, ACK, ACK, ACK),
    "psh_on_data": True,
    "fin": 0.5,
    "win_fwd": [
        (501, 0.4),
        (722, 0.1),
        (1426, 0.1),
        (1264, 0.1),
        (649, 0.2),
        (1232, 0.1),
    ],
    "win_bwd": [(130, 0.3), (131, 0.2), (122, 0.2), (274, 0.2), (425, 0.1)],
}
_UDP = {
    "proto": 17,
    "alpha": 1.0,
    "hdr": (8, 8, 8, 8),
    "flags": (0, 0, 0, 0),
    "win_fwd": [(0, 1.0)],
    "win_bwd": [(0, 1.0)],
}
_NON_IP = {
    # Protocol 0: ICMP and ARP frames, which CICFlowMeter writes with
    # ports 0, no payload and no transport header.
    "proto": 0,
    "sport": 0,
    "dport": 0,
    "alpha": 1.0,
    "hdr": (0, 0, 0, 0),
    "flags": (0, 0, 0, 0),
    "fwd": {"first": 0},
    "bwd": {"first": 0},
    "win_fwd": [(0, 1.0)],
    "win_bwd": [(0, 1.0)],
}

_LAN_CLIENTS = [
    ("192.168.1.81", 0.15),
    ("192.168.1.43", 0.1),
    ("192.168.1.207", 0.1),
    ("192.168.1.172", 0.1),
    ("192.168.1.7", 0.15),
    ("192.168.1.108", 0.1),
    ("192.168.1.214", 0.1),
    ("192.168.1.211", 0.1),
    ("192.168.1.181", 0.1),
]
_CLOUD = [
    ("108.138.109.12", 0.2),
    ("52.22.138.197", 0.15),
    ("54.165.210.53", 0.15),
    ("34.225.145.231", 0.15),
    ("23.38.168.16", 0.1),
    ("54.230.163.97", 0.15),
    ("3.217.147.217", 0.1),
]

#: Modes of every class. ``w`` is the mode's share of the class.
MODES: dict[str, list[dict]] = {
    # nmap -sS over the LAN from one source port per run.
    "Port Scan": _scan([(55295, 0.7), (55551, 0.3)]),
    # nmap -O sends the same SYN probes (plus a few odd ones) from one port.
    "OS Scan": _scan([(59094, 0.85), (59299, 0.15)]),
    # The "ping sweep" was run as a TCP SYN sweep, so its flows look like the
    # two scans above.
    "Ping Sweep": _scan([(40729, 1.0)]),
    "Vulnerability Scan": [
        {
            # Connect-style probe from the kernel stack: 40-byte SYN header,
            # window 64240, answered by RST-ACK.
            **_SCAN_PROBE,
            "w": 0.92,
            "match": lambda d: (d[N_FWD] == 1) & (d[N_BWD] <= 1),
            "src": [(ATTACKER, 1.0)],
            "sport": "ephemeral",
            "dur": [3.42, 3.56, 3.78, 3.93, 4.03, 4.09, 4.25],
            "hdr": (40, 40, 20, 20),
            "win_fwd": [(64240, 1.0)],
            "win_bwd": [(0, 1.0)],
        },
        {
            # ASSUMPTION: a scanner also completes some connections and sends
            # a short request (banner grab); not in the calibration rows.
            **_TCP_SESSION,
            "w": 0.08,
            "match": None,
            "src": [(ATTACKER, 1.0)],
            "sport": "ephemeral",
            "dst": "lan_targets",
            "dport": [(80, 0.4), (443, 0.2), (22, 0.2), (8080, 0.2)],
            "n_fwd": [3, 3, 4, 5, 6],
            "n_bwd": [2, 2, 3, 4, 5],
            "dur": [3.5, 3.9, 4.3, 4.8, 5.5],
            "fwd": {"first": 0, "p": 0.5, "size": [1.5, 2.0, 2.3, 2.6]},
            "bwd": {"first": 0, "p": 0.5, "size": [1.5, 2.2, 2.6, 3.0]},
            "wireless": 1.0,
        },
    ],
    # ICMP flood with spoofed sources; CICFlowMeter writes ICMP as protocol
    # 0 with ports 0. Most flows are two echo requests from one spoofed
    # address to a victim, seconds apart.
    "ICMP Flood": [
        {
            **_NON_IP,
            "w": 0.8,
            "match": lambda d: ~_from_lan(d),
            "src": "public_any",
            "dst": [
                ("192.168.1.168", 0.6),
                ("192.168.1.25", 0.2),
                ("192.168.1.183", 0.1),
                ("192.168.1.212", 0.1),
            ],
            "n_fwd": [2, 2, 2, 2, 2, 2, 2, 2, 2, 3],
            "n_bwd": [0],
            "dur": [5.6, 6.3, 6.7, 7.0, 7.2, 7.5],
            "wireless": 1.0,
        },
        {
            # Echo replies from the victims to the spoofed sources.
            **_NON_IP,
            "w": 0.2,
            "match": None,
            "src": [("192.168.1.168", 0.5), ("192.168.1.211", 0.5)],
            "dst": "public_any",
            "n_fwd": [2],
            "n_bwd": [0],
            "dur": [5.6, 6.5, 6.9, 7.2, 7.5],
            "wireless": 0.0,
        },
    ],
    # DNS queries for one name from 192.168.1.211 to the resolver: 28-byte
    # query, 101-byte answer, one or two transactions per flow.
    "DNS Flood": [
        {
            **_UDP,
            "w": 0.8,
            "match": lambda d: d[N_FWD] == 1,
            "src": [("192.168.1.211", 1.0)],
            "sport": "ephemeral",
            "dst": [("192.168.1.1", 1.0)],
            "dport": 53,
            "n_fwd": [1],
            "n_bwd": [1],
            "dur": [3.75, 3.85, 3.9, 3.95, 4.1, 4.9],
            "fwd": {"first": -1, "p": 1.0, "size": [1.447]},
            "bwd": {"first": -1, "p": 1.0, "size": [2.004]},
            "wireless": 0.0,
        },
        {
            **_UDP,
            "w": 0.2,
            "match": None,
            "src": [("192.168.1.211", 1.0)],
            "sport": "ephemeral",
            "dst": [("192.168.1.1", 1.0)],
            "dport": 53,
            "n_fwd": [2],
            "n_bwd": [2],
            "dur": [4.5, 5.0, 5.8, 6.5, 6.8],
            "reply": 1e-3,
            "fwd": {"first": -1, "p": 1.0, "size": [1.447]},
            "bwd": {"first": -1, "p": 1.0, "size": [2.004]},
            "wireless": 0.0,
        },
    ],
    # SYN flood on port 80 of two servers from spoofed addresses. The flows
    # the tool records are the servers' SYN-ACKs, retransmitted with
    # exponential backoff (1 s, 2 s, 4 s ...) to the spoofed address.
    "SYN Flood": [
        {
            "w": 1.0,
            "match": None,
            "proto": 6,
            "src": [("192.168.1.21", 0.4), ("192.168.1.25", 0.6)],
            "sport": 80,
            "dst": "public_any",
            "dport": "any",
            "n_fwd": [2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 4, 5, 5],
            "n_bwd": [0],
            "dur": "backoff",
            "fwd": {"first": 2, "p": 1.0, "size": [0.301]},
            "bwd": {"first": 0},
            "hdr": (24, 24, 20, 20),
            "flags": (SYN | ACK, SYN | ACK, ACK, ACK),
            "win_fwd": [(29200, 1.0)],
            "win_bwd": [(0, 1.0)],
            "wireless": 0.0,
        }
    ],
    # slowloris: many connections to port 80 that send a partial HTTP header
    # and then a few bytes every few seconds; some flows are the connection
    # tails or resets.
    "Slowloris": [
        {
            **_TCP_SESSION,
            "w": 0.4,
            "match": lambda d: _from_attacker(d) & d[N_FWD].between(3, 8),
            "src": [(ATTACKER, 1.0)],
            "sport": "ephemeral",
            "dst": "slowloris_victims",
            "dport": 80,
            "n_fwd": [4, 4, 4, 4, 5, 6],
            "n_bwd": [2, 3, 3, 4, 4, 5],
            "dur": [3.9, 4.05, 4.2, 4.35, 5.5, 6.1],
            "fwd": {"first": 0, "p": 0.5, "size": [1.3, 2.225, 2.225, 2.225]},
            "bwd": {"first": 0, "p": 0.0},
            "win_bwd": [(972, 0.5), (3650, 0.2), (0, 0.3)],
            "fin": 0.2,
            "wireless": 1.0,
        },
        {
            **_TCP_SESSION,
            "w": 0.15,
            "match": lambda d: _from_attacker(d) & (d[N_FWD] > 8),
            "src": [(ATTACKER, 1.0)],
            "sport": "ephemeral",
            "dst": "slowloris_victims",
            "dport": 80,
            "n_fwd": [12, 20, 30, 37, 45],
            "n_bwd": [11, 19, 29, 36, 44],
            "dur": [7.0, 7.3, 7.5, 7.6, 7.7],
            "alpha": 4.0,
            "fwd": {"first": 0, "p": 0.08, "size": [1.0, 1.2, 2.225]},
            "bwd": {"first": 0, "p": 0.0},
            "win_bwd": [(470, 1.0)],
            "fin": 0.0,
            "wireless": 1.0,
        },
        {
            **_TCP_MIDFLOW,
            "w": 0.35,
            "match": lambda d: _from_attacker(d) & (d[N_FWD] <= 2),
            "src": [(ATTACKER, 1.0)],
            "sport": "ephemeral",
            "dst": "slowloris_victims",
            "dport": 80,
            "n_fwd": [1, 1, 2, 2, 2],
            "n_bwd": [0, 0, 0, 1, 1],
            "dur": [4.0, 4.3, 5.3, 5.4, 6.9],
            "fwd": {"first": -1, "p": 0.5, "size": [1.041, 1.041]},
            "bwd": {"first": 0},
            "win_fwd": [(502, 1.0)],
            "win_bwd": [(0, 1.0)],
            "rst": 0.4,
            "fin": 0.5,
            "wireless": 1.0,
        },
        {
            # The victim's side of a slow connection, seen as its own flow.
            **_TCP_MIDFLOW,
            "w": 0.1,
            "match": None,
            "src": "slowloris_victims",
            "sport": 80,
            "dst": [(ATTACKER, 1.0)],
            "dport": "ephemeral",
            "n_fwd": [10, 15, 21, 30],
            "n_bwd": [9, 14, 20, 29],
            "dur": [7.0, 7.3, 7.43, 7.6],
            "alpha": 4.0,
            "fwd": {"first": 0, "p": 0.0},
            "bwd": {"first": 0, "p": 0.05, "size": [1.0]},
            "win_fwd": [(470, 1.0)],
            "win_bwd": [(502, 1.0)],
            "wireless": 1.0,
        },
    ],
    # SSH password guessing against two hosts: many short connections
    # that fail early, and full SSH sessions with key exchange (packets up
    # to about 1 kB).
    "Dictionary Attack": [
        {
            **_TCP_MIDFLOW,
            "w": 0.5,
            "match": lambda d: _from_attacker(d) & (d[N_FWD] <= 2),
            "src": [(ATTACKER, 1.0)],
            "sport": "ephemeral",
            "dst": [("192.168.1.211", 0.6), ("192.168.1.212", 0.4)],
            "dport": 22,
            "n_fwd": [1, 1, 1, 2, 2],
            "n_bwd": [1],
            "dur": [3.3, 3.4, 3.5, 3.6, 3.7],
            "fwd": {"first": 0, "p": 0.0},
            "bwd": {"first": 0, "p": 0.2, "size": [1.88]},
            "hdr": (44, 32, 32, 32),
            "win_fwd": [(501, 1.0)],
            "win_bwd": [(503, 1.0)],
            "fin": 0.5,
            "wireless": 1.0,
        },
        {
            # The server's half-closed side, source port 22.
            **_TCP_MIDFLOW,
            "w": 0.2,
            "match": lambda d: d["Src Port"] == 22,
            "src": [("192.168.1.211", 0.5), ("192.168.1.212", 0.5)],
            "sport": 22,
            "dst": [(ATTACKER, 1.0)],
            "dport": "ephemeral",
            "n_fwd": [2, 2, 2, 6],
            "n_bwd": [1, 1, 1, 2],
            "dur": [2.1, 2.3, 2.5, 6.9],
            "fwd": {"first": 0, "p": 0.3, "size": [1.5, 1.88]},
            "bwd": {"first": 0, "p": 0.5, "size": [1.92]},
            "win_fwd": [(503, 0.7), (501, 0.3)],
            "win_bwd": [(501, 1.0)],
            "fin": 1.0,
            "wireless": 1.0,
        },
        {
            **_TCP_SESSION,
            "w": 0.3,
            "match": None,
            "src": [(ATTACKER, 1.0)],
            "sport": "ephemeral",
            "dst": [("192.168.1.211", 0.6), ("192.168.1.212", 0.4)],
            "dport": 22,
            "n_fwd": [12, 14, 17, 19, 21],
            "n_bwd": [13, 15, 22, 28, 30],
            "dur": [6.5, 6.66, 7.0, 7.3, 7.4],
            "fwd": {"first": 0, "p": 0.65, "size": [1.3, 1.6, 1.9, 2.9]},
            "bwd": {"first": 0, "p": 0.85, "size": [1.4, 1.7, 2.0, 3.0]},
            "win_bwd": [(503, 1.0)],
            "fin": 0.7,
            "wireless": 1.0,
        },
    ],
    # UDP flood: 500-byte datagrams from 192.168.1.168 to random addresses;
    # the capture window also held DNS look-ups shaped like the DNS Flood
    # ones, a broadcast service on UDP 6667 and protocol-0 frames shaped
    # like ARP Spoofing, which is why UDP Flood is the weakest real class.
    "UDP Flood": [
        {
            **_UDP,
            "w": 0.25,
            "match": lambda d: d["Src IP"] == "192.168.1.168",
            "src": [("192.168.1.168", 1.0)],
            "sport": "any",
            "dst": "public_any",
            "dport": 0,
            "n_fwd": [2, 2, 2, 3],
            "n_bwd": [0],
            "dur": [5.9, 6.05, 6.1, 6.13, 6.3],
            "fwd": {"first": -1, "p": 1.0, "size": [2.699]},
            "bwd": {"first": 0},
            "wireless": 0.0,
        },
        {
            **_UDP,
            "w": 0.35,
            "match": lambda d: d["Dst Port"] == 53,
            "src": [("192.168.1.211", 1.0)],
            "sport": "ephemeral",
            "dst": [("192.168.1.1", 1.0)],
            "dport": 53,
            "n_fwd": [1],
            "n_bwd": [1],
            "dur": [3.2, 3.5, 3.76, 3.8, 4.0],
            "fwd": {"first": -1, "p": 1.0, "size": [1.447, 1.6, 1.68]},
            "bwd": {"first": -1, "p": 1.0, "size": [1.6, 1.9, 2.004, 2.33]},
            "wireless": 0.0,
        },
        {
            **_UDP,
            "w": 0.15,
            "match": lambda d: d["Dst IP"] == "255.255.255.255",
            "src": [("192.168.1.183", 1.0)],
            "sport": 49154,
            "dst": [("255.255.255.255", 1.0)],
            "dport": 6667,
            "n_fwd": [4, 6, 9, 12, 14],
            "n_bwd": [0],
            "dur": [7.5, 7.7, 7.72, 7.74, 7.8],
            "alpha": 3.0,
            "fwd": {"first": -1, "p": 1.0, "size": [2.274]},
            "bwd": {"first": 0},
            "wireless": 0.0,
        },
        {
            **_TCP_MIDFLOW,
            "w": 0.15,
            "match": lambda d: d["Protocol"] == 6,
            "src": [("192.168.1.183", 0.5), ("100.21.156.247", 0.5)],
            "sport": [(6372, 0.5), (8886, 0.5)],
            "dst": [("100.21.156.247", 0.5), ("192.168.1.183", 0.5)],
            "dport": [(8886, 0.5), (47919, 0.5)],
            "n_fwd": [1, 1, 2, 2],
            "n_bwd": [1, 1, 4, 6],
            "dur": [5.8, 5.9, 6.5, 7.14],
            "hdr": (20, 20, 20, 20),
            "fwd": {"first": -1, "p": 1.0, "size": [1.8, 2.17]},
            "bwd": {"first": 0, "p": 0.8, "size": [0.78, 2.17]},
            "win_fwd": [(65535, 0.5), (4380, 0.5)],
            "win_bwd": [(4380, 0.5), (65535, 0.5)],
            "rst": 0.5,
            "wireless": 0.0,
        },
        {
            **_NON_IP,
            "w": 0.1,
            "match": None,
            "src": "lan",
            "dst": "lan",
            "n_fwd": [2, 2, 3],
            "n_bwd": [0, 0, 3],
            "dur": [2.9, 3.5, 4.3],
            "wireless": 0.5,
        },
    ],
    # ARP cache poisoning: gratuitous ARP replies between the gateway and
    # two victims, in bursts of a few frames.
    "ARP Spoofing": [
        {
            **_NON_IP,
            "w": 1.0,
            "match": None,
            "src": [("192.168.1.1", 0.5), ("192.168.1.129", 0.5)],
            "dst": [("192.168.1.7", 0.5), ("192.168.1.108", 0.5)],
            "n_fwd": [2, 2, 3, 3],
            "n_bwd": [0, 0, 3, 3],
            "dur": [2.9, 3.3, 3.9, 4.25],
            "wireless": 1.0,
        }
    ],
    "Benign": [
        {
            # DNS look-ups to the router or a public resolver.
            **_UDP,
            "w": 0.26,
            "match": lambda d: (d["Protocol"] == 17) & (d["Dst Port"] == 53),
            "src": [("192.168.1.211", 0.5), ("192.168.1.214", 0.5)],
            "sport": "ephemeral",
            "dst": [("192.168.1.1", 0.5), ("8.8.8.8", 0.5)],
            "dport": 53,
            "n_fwd": [1],
            "n_bwd": [1],
            "dur": [3.65, 3.7, 3.74, 3.86, 3.9, 4.7],
            "fwd": {"first": -1, "p": 1.0, "size": [1.477, 1.61, 1.62, 1.7]},
            "bwd": {"first": -1, "p": 1.0, "size": [1.61, 1.68, 2.22, 2.47]},
            "wireless": 0.0,
        },
        {
            # HTTPS sessions of IoT devices to cloud services.
            **_TCP_SESSION,
            "w": 0.12,
            "match": lambda d: (
                (d["Protocol"] == 6) & (d["Dst Port"] == 443) & (d[N_FWD] >= 3)
            ),
            "src": _LAN_CLIENTS,
            "sport": "ephemeral",
            "dst": _CLOUD,
            "dport": 443,
            "n_fwd": [3, 5, 8, 10, 12, 30],
            "n_bwd": [2, 4, 8, 10, 12, 32],
            "dur": [4.5, 5.0, 5.3, 6.5, 7.2, 7.6],
            "fwd": {"first": 0, "p": 0.45, "size": [1.5, 2.0, 2.4, 2.8, 3.15]},
            "bwd": {"first": 0, "p": 0.6, "size": [1.6, 2.4, 2.9, 3.3, 3.6]},
            "wireless": 0.0,
        },
        {
            # Tails of HTTPS connections: a request and its answer, or ACKs.
            **_TCP_MIDFLOW,
            "w": 0.2,
            "match": lambda d: (
                (d["Protocol"] == 6) & (d["Dst Port"] == 443) & _from_lan(d)
            ),
            "src": _LAN_CLIENTS,
            "sport": "ephemeral",
            "dst": _CLOUD,
            "dport": 443,
            "n_fwd": [1, 1, 1, 2, 2, 2],
            "n_bwd": [1],
            "dur": [3.6, 3.8, 4.0, 4.1, 4.25],
            "fwd": {"first": -1, "p": 1.0, "size": [-1.0, 1.0, 1.5, 3.2]},
            "bwd": {"first": -1, "p": 1.0, "size": [-1.0, 1.0, 1.5, 2.9]},
            "wireless": 0.0,
        },
        {
            # Inbound connections from a remote service on port 30001 or 443.
            **_TCP_MIDFLOW,
            "w": 0.06,
            "match": lambda d: ~_from_lan(d),
            "src": [("209.206.49.216", 0.6), ("3.217.147.217", 0.4)],
            "sport": [(30001, 0.6), (443, 0.4)],
            "dst": [("192.168.1.87", 0.6), ("192.168.1.43", 0.4)],
            "dport": "ephemeral",
            "n_fwd": [2, 2, 2, 4],
            "n_bwd": [1, 1, 1, 3],
            "dur": [4.85, 4.88, 4.9, 7.48],
            "fwd": {"first": -1, "p": 0.3, "size": [1.66, 1.845]},
            "bwd": {"first": -1, "p": 0.6, "size": [1.66, 2.29]},
            "wireless": 0.0,
        },
        {
            # mDNS and SSDP announcements to multicast groups.
            **_UDP,
            "w": 0.08,
            "match": lambda d: (
                (d["Protocol"] == 17) & d["Dst IP"].str.match(r"2(24|39)\.")
            ),
            "src": [("192.168.1.181", 0.5), ("192.168.1.11", 0.5)],
            "sport": [(5353, 0.5), (1900, 0.5)],
            "dst": [("224.0.0.251", 0.5), ("239.255.255.250", 0.5)],
            "dport": [(5353, 0.5), (1900, 0.5)],
            "n_fwd": [2, 4, 5, 6, 8],
            "n_bwd": [0],
            "dur": [5.0, 5.5, 6.3, 7.1, 7.3],
            "fwd": {"first": -1, "p": 1.0, "size": [2.1, 2.3, 2.45, 2.5]},
            "bwd": {"first": 0},
            "wireless": 1.0,
        },
        {
            # Protocol-0 frames (ICMP and ARP) on the LAN, repeated every
            # 15 to 30 s.
            **_NON_IP,
            "w": 0.1,
            "match": lambda d: d["Protocol"] == 0,
            "src": [
                ("192.168.1.108", 0.4),
                ("192.168.1.181", 0.3),
                ("192.168.1.1", 0.3),
            ],
            "dst": [("192.168.1.1", 0.5), ("224.0.0.251", 0.3), ("192.168.1.108", 0.2)],
            "n_fwd": [1, 2, 2, 3, 3],
            "n_bwd": [0, 0, 0, 3, 3],
            "dur": [6.0, 7.2, 7.5, 7.6, 7.75],
            "reply": 1e-6,
            "wireless": 0.5,
        },
        {
            # A local web service polled every 15 s with 6-byte requests.
            **_TCP_MIDFLOW,
            "w": 0.08,
            "match": lambda d: d["Src Port"] == 8080,
            "src": [("192.168.1.9", 1.0)],
            "sport": 8080,
            "dst": [("192.168.1.1", 1.0)],
            "dport": "ephemeral",
            "n_fwd": [1, 2, 4, 4, 4],
            "n_bwd": [1, 2, 4, 4, 4],
            "dur": [6.7, 7.3, 7.64, 7.655, 7.66],
            "reply": 1e-6,
            "hdr": (20, 20, 32, 32),
            "fwd": {"first": -1, "p": 1.0, "size": [0.778]},
            "bwd": {"first": 0, "p": 0.0},
            "win_fwd": [(2048, 1.0)],
            "win_bwd": [(123, 1.0)],
            "fin": 0.0,
            "wireless": 0.0,
        },
        {
            # Outbound TCP retries of a device whose server does not answer.
            **_TCP_SESSION,
            "w": 0.08,
            "match": lambda d: (d["Protocol"] == 6) & (d[N_BWD] == 0),
            "src": [("192.168.1.108", 0.5), ("192.168.1.21", 0.5)],
            "sport": "ephemeral",
            "dst": "public",
            "dport": "any",
            "n_fwd": [2, 3, 4, 5],
            "n_bwd": [0],
            "dur": "backoff",
            "fwd": {"first": 0, "p": 1.0, "size": [0.301]},
            "bwd": {"first": 0},
            "hdr": (24, 24, 20, 20),
            "flags": (SYN, SYN, ACK, ACK),
            "fin": 0.0,
            "win_fwd": [(29200, 1.0)],
            "wireless": 0.0,
        },
        {
            # 1 in 50 Benign flows come from the attack host: probes shaped
            # like the scans, which only the capture time tells apart.
            **_SCAN_PROBE,
            "w": 0.02,
            "match": lambda d: _from_attacker(d),
            "src": [(ATTACKER, 1.0)],
            "sport": "ephemeral",
            "dst": "lan_targets",
            "wireless": 1.0,
        },
    ],
}

#: Extra host pools named in the specifications above.
HOST_POOLS: dict[str, list[tuple[str, float]]] = {
    "lan_targets": [(f"192.168.1.{i}", 1.0) for i in range(1, 255)],
    "slowloris_victims": [
        ("192.168.1.168", 0.4),
        ("192.168.1.27", 0.4),
        ("192.168.1.11", 0.2),
    ],
}

assert set(MODES) == set(LABELS)
for _label, _modes in MODES.items():
    assert abs(sum(mode["w"] for mode in _modes) - 1.0) < 1e-9, _label
