"""Query suite results without loading them: DuckDB relations over the Parquet dataset.

``open(DIR)`` takes a run's output folder (``vatel-nb suite run --out DIR``), its ``dataset/``
folder, or any folder holding several (runs copied side by side, from many machines): every
``calls|turns|expectations/**/*.parquet`` below it is one table, with the hive partition columns
``suite``, ``run`` and ``scenario``. Example::

    ds = vatel_nb.dataset.open("runs/")
    ds.turns.filter("scenario = 'time'").aggregate("run, quantile_cont(v2v_ms, 0.5) AS p50", "run")
    td = ds.frame("turns", "scenario = 'barge-in' AND repeat < 5")   # a pandas subset
    vatel_nb.summary(td)                                              # the ordinary analysis

Needs the ``suite`` extra (``pip install 'vatel-nb[suite]'``: pyarrow and duckdb).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["TABLES", "Dataset", "open"]

TABLES = ("calls", "turns", "expectations")


def _duckdb() -> Any:
    try:
        import duckdb
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("vatel_nb.dataset needs duckdb: pip install 'vatel-nb[suite]'") from None
    return duckdb


def _files(root: Path, table: str) -> list[str]:
    return sorted(str(p) for p in root.rglob("*.parquet") if table in p.relative_to(root).parts)


@dataclass
class Dataset:
    """The tables of a suite dataset as DuckDB relations (lazy: nothing is read until queried).

    ``calls``: one row per call; ``turns``: one row per turn (the columns of
    :func:`vatel_nb.analysis.turns` plus ``repeat``, ``call_id``); ``expectations``: one row per
    expectation result. All carry ``suite``, ``run``, ``scenario``. ``con`` is the connection —
    the tables are also registered in it as views, for SQL: ``ds.sql("select … from turns")``.
    """

    root: Path
    con: Any = field(repr=False)
    tables: dict[str, Any] = field(default_factory=dict, repr=False)

    def __getattr__(self, name: str) -> Any:
        tables = self.__dict__.get("tables", {})
        if name in TABLES:
            if name not in tables:
                raise LookupError(
                    f"{self.__dict__.get('root')} holds no {name} files (no *.parquet under {name}/)"
                )
            return tables[name]
        raise AttributeError(name)

    def sql(self, query: str) -> Any:
        """A DuckDB relation for ``query`` (the tables are views named calls, turns, expectations)."""
        return self.con.sql(query)

    def frame(self, table: str, where: str | None = None) -> Any:
        """``table`` (optionally filtered by the SQL condition ``where``) as a pandas DataFrame,
        sorted by run, scenario, repeat (and turn): the subset the DataFrame analysis works on."""
        rel = getattr(self, table)
        if where:
            rel = rel.filter(where)
        cols = rel.columns
        order = [c for c in ("run", "scenario", "repeat", "turn", "expectation") if c in cols]
        return rel.order(", ".join(order)).df() if order else rel.df()


def open(path: str | Path) -> Dataset:
    """Open the suite dataset under ``path`` (see the module doc). Raises FileNotFoundError when
    there is no Parquet file below it."""
    duckdb = _duckdb()
    root = Path(path)
    if not root.exists():
        raise FileNotFoundError(f"{root} does not exist; give a suite run folder (vatel-nb suite run --out)")
    con = duckdb.connect()
    tables: dict[str, Any] = {}
    for table in TABLES:
        files = _files(root, table)
        if files:
            rel = con.read_parquet(files, hive_partitioning=True, union_by_name=True)
            rel.create_view(table, replace=True)
            tables[table] = con.table(table)
    if not tables:
        raise FileNotFoundError(f"no suite Parquet files under {root} (expected calls/turns/expectations/**)")
    return Dataset(root, con, tables)
