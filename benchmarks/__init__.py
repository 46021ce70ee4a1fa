"""Benchmarks of iotlab: loading, preprocessing, training and whole runs.

``python -m benchmarks.run --help`` lists the stages; ``docs/benchmarks.md``
records a full-size run.
"""
