#!/usr/bin/env python
"""Fetch ACI-IoT-2023.csv and cache it as data/aci-iot-2023.parquet.

Examples::

    python data_fetch.py --source kaggle
    python data_fetch.py --source url --url https://mirror.example/ACI-IoT-2023.csv
    python data_fetch.py --source file --path ~/Downloads/ACI-IoT-2023.csv
    python data_fetch.py --source file --path sample.csv --subset
    python data_fetch.py --source twin --rows 50000 --seed 0
    python data_fetch.py --status

Run ``python data_fetch.py --help`` for every option. The work is done by
``iotlab.fetch.main``.
"""

import sys

from iotlab.fetch import main

if __name__ == "__main__":
    sys.exit(main())
