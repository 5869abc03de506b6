"""Regression suites and load tests for voice agents (``vatel-nb suite``; schema in docs/suites.md).

- :func:`load_suite` reads a suite file (TOML); :func:`init_suite` writes the example.
- :func:`run` runs it (locally, in ``workers`` processes, or on Dask) and returns a
  :class:`SuiteResult` with the ``calls``, ``turns`` and ``expectations`` DataFrames; the output
  folder holds each call's session folder, a Parquet dataset (:func:`vatel_nb.dataset.open`),
  JUnit and a report.
- :func:`compare` tells a regression from noise between two runs (bootstrap intervals).

Needs the ``suite`` extra (pyarrow, duckdb); ``--engine dask`` the ``dask`` extra.
"""

from ._call import CallResult, CallSpec, Target, get_time, pacing_ms
from ._compare import compare, load_run_turns
from ._example import EXAMPLE_SUITE, init_suite
from ._run import SuiteResult, new_run_id, run
from ._schema import (
    EXPECT_KINDS,
    Budget,
    Expectation,
    Line,
    Scenario,
    Suite,
    SuiteError,
    load_suite,
    parse_budget,
    parse_suite,
)

__all__ = [
    "EXAMPLE_SUITE",
    "EXPECT_KINDS",
    "Budget",
    "CallResult",
    "CallSpec",
    "Expectation",
    "Line",
    "Scenario",
    "Suite",
    "SuiteError",
    "SuiteResult",
    "Target",
    "compare",
    "get_time",
    "init_suite",
    "load_run_turns",
    "load_suite",
    "new_run_id",
    "pacing_ms",
    "parse_budget",
    "parse_suite",
    "run",
]
