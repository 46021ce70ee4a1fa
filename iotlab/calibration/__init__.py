"""Calibration figures of the offline twin and the script that derives them."""
