"""Writing a run's rows as a Parquet dataset, hive-partitioned by suite, run and scenario.

Layout under a run's output folder (``docs/suites.md``)::

    dataset/calls/suite=S/run=R/scenario=X/<call_id>.parquet         one row per call
    dataset/turns/suite=S/run=R/scenario=X/<call_id>.parquet         its turns
    dataset/expectations/suite=S/run=R/scenario=X/<call_id>.parquet  its behaviour checks
    dataset/expectations/suite=S/run=R/scenario=X/budgets.parquet    the scenario's budgets

One file per call and table: nothing is rewritten, so calls from many processes or machines are
just more files, and two runs' ``dataset/`` folders copied into one folder are one dataset. The
partition keys live in the path only (read with ``hive_partitioning``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow  # noqa: F401 - imported up front (see _call.warm_audio); to_parquet needs it

__all__ = ["TABLES", "partition_dir", "write_rows"]

#: The dataset's tables.
TABLES = ("calls", "turns", "expectations")


def partition_dir(root: Path, table: str, suite: str, run: str, scenario: str) -> Path:
    """``root/table/suite=…/run=…/scenario=…``."""
    return Path(root) / table / f"suite={suite}" / f"run={run}" / f"scenario={scenario}"


def _normalize(df: pd.DataFrame) -> pd.DataFrame:
    """Parquet-friendly columns: object columns become nullable strings (lists/dicts as text)."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object:
            out[col] = (
                out[col].map(lambda v: v if v is None or isinstance(v, str) else str(v)).astype("string")
            )
        elif isinstance(out[col].dtype, pd.CategoricalDtype):
            out[col] = out[col].astype("string")
    return out.reset_index(drop=True)


def write_rows(root: Path, table: str, key: tuple[str, str, str], name: str, rows: Any) -> Path | None:
    """Write ``rows`` (a DataFrame or a list of dicts) as ``<partition>/<name>.parquet``; None when
    there are no rows. ``key`` = (suite, run, scenario)."""
    df = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    if df.empty:
        return None
    folder = partition_dir(root, table, *key)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.parquet"
    df = _normalize(df.drop(columns=[c for c in ("suite", "run", "scenario") if c in df.columns]))
    df.to_parquet(path, index=False, engine="pyarrow")
    return path
