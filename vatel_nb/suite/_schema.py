"""The suite file: TOML parsed into frozen dataclasses, with errors that name the offending key.

The schema is documented in ``docs/suites.md``; :data:`EXPECT_KINDS` lists the expectation kinds.
Everything here is pure (no I/O but reading the file), so a suite is validated before any call.
"""

from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = [
    "EXPECT_KINDS",
    "Budget",
    "Expectation",
    "Line",
    "Scenario",
    "Suite",
    "SuiteError",
    "load_suite",
    "parse_budget",
    "parse_suite",
]

#: Expectation kinds: the key that names the kind in an ``[[scenario.expect]]`` table.
EXPECT_KINDS = ("tool_call", "agent_says", "agent_matches", "outcome", "call_ends")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_OUTCOMES = ("responded", "interrupted", "silent", "agent-initiated", "talked-over", "cut-off-by-end")


class SuiteError(ValueError):
    """The suite file (or a ``--budget``) is invalid; the message names the key and what to write."""


@dataclass(frozen=True)
class Budget:
    """A latency budget: the ``percentile`` (0–100; 100 = max) of ``metric`` (a latency column of
    :func:`vatel_nb.analysis.turns`, ms) over all turns of all repeats of a scenario must be
    ≤ ``max_ms``."""

    metric: str
    percentile: float
    max_ms: float

    @property
    def label(self) -> str:
        """``v2v_ms p95 <= 1500 ms``."""
        return f"{self.metric} {pctl_label(self.percentile)} <= {self.max_ms:g} ms"


@dataclass(frozen=True)
class Line:
    """One utterance: ``text`` spoken by the voice, or ``wav`` (a path, resolved against the suite
    file's folder) whose words are ``text`` when given. ``think``: seconds of silence after the
    agent's reply finished before speaking; ``barge_in``: instead, start this many seconds after
    the agent's next reply starts playing (talking over it)."""

    text: str | None
    wav: Path | None = None
    think: float = 0.6
    barge_in: float | None = None

    @property
    def transcript(self) -> str:
        """What the simulator's scripted recognizer hears for this line."""
        return self.text if self.text else f"[{self.wav.name if self.wav else ''}]"


@dataclass(frozen=True)
class Expectation:
    """One behaviour check of every call of a scenario. ``kind`` is one of :data:`EXPECT_KINDS`;
    ``value`` is the table's value for that key; ``arguments`` (tool_call: a subset the call's
    arguments must contain); ``turn`` (1-based user utterance the check is restricted to)."""

    kind: str
    value: Any
    arguments: dict[str, Any] | None = None
    turn: int | None = None

    @property
    def label(self) -> str:
        """A short human description, used in JUnit names and the report."""
        where = f" (turn {self.turn})" if self.turn else ""
        if self.kind == "tool_call":
            args = f" {self.arguments}" if self.arguments else ""
            return f"tool_call {self.value}{args}{where}"
        if self.kind == "call_ends":
            return "the agent ends the call" if self.value else "the agent does not end the call"
        return f"{self.kind} {self.value!r}{where}"


@dataclass(frozen=True)
class Scenario:
    """A conversation replayed ``repeats`` times: its ``lines``, expectations and budgets."""

    name: str
    lines: tuple[Line, ...]
    repeats: int
    expect: tuple[Expectation, ...] = ()
    budgets: tuple[Budget, ...] = ()
    description: str = ""
    wait_greeting: bool = True


@dataclass(frozen=True)
class Suite:
    """A parsed suite file. ``tools`` maps a tool name to ``"module:function"`` or a fixed output
    string (``{output = "…"}`` in TOML); ``path`` is the file it came from (or None)."""

    name: str
    scenarios: tuple[Scenario, ...]
    description: str = ""
    concurrency: int = 4
    agent_id: str | None = None
    reply_timeout: float = 10.0
    max_duration: float = 120.0
    tail: float = 2.0
    tools: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def scenario(self, name: str) -> Scenario:
        for s in self.scenarios:
            if s.name == name:
                return s
        raise KeyError(
            f"no scenario {name!r} in suite {self.name!r}; it has {[s.name for s in self.scenarios]}"
        )

    def with_budgets(self, budgets: list[Budget]) -> Suite:
        """This suite with ``budgets`` added to every scenario, replacing a budget on the same
        metric and percentile (what ``--budget`` does)."""
        if not budgets:
            return self
        out = []
        for s in self.scenarios:
            keep = [
                b
                for b in s.budgets
                if all((b.metric, b.percentile) != (n.metric, n.percentile) for n in budgets)
            ]
            out.append(replace(s, budgets=(*keep, *budgets)))
        return replace(self, scenarios=tuple(out))

    def with_repeats(self, repeats: int) -> Suite:
        """Every scenario repeated ``repeats`` times."""
        return replace(self, scenarios=tuple(replace(s, repeats=int(repeats)) for s in self.scenarios))


def pctl_label(p: float) -> str:
    """``95`` → ``p95``, ``100`` → ``max``."""
    return "max" if p >= 100 else f"p{p:g}"


def _percentile(value: Any, where: str) -> float:
    if isinstance(value, str):
        v = value.strip().lower()
        if v == "max":
            return 100.0
        if v == "median":
            return 50.0
        value = v[1:] if v.startswith("p") else v
    try:
        p = float(value)
    except (TypeError, ValueError):
        raise SuiteError(f"{where}: percentile must be like p50, p95, 99 or max, got {value!r}") from None
    if not 0 <= p <= 100:
        raise SuiteError(f"{where}: percentile must be within 0..100, got {p:g}")
    return p


def _metric(name: Any, where: str) -> str:
    from ..analysis import LATENCY_COLUMNS

    if name not in LATENCY_COLUMNS:
        raise SuiteError(f"{where}: unknown metric {name!r}; use one of {', '.join(LATENCY_COLUMNS)}")
    return str(name)


def _ms(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value) or value < 0:
        raise SuiteError(f"{where}: max_ms must be a number of milliseconds >= 0, got {value!r}")
    return float(value)


def parse_budget(spec: str) -> Budget:
    """``"METRIC:PCTL:MS"`` (e.g. ``v2v_ms:p95:1500``) → :class:`Budget` (the ``--budget`` syntax)."""
    parts = str(spec).split(":")
    if len(parts) != 3:
        raise SuiteError(f"--budget {spec!r}: write METRIC:PERCENTILE:MS, e.g. v2v_ms:p95:1500")
    where = f"--budget {spec}"
    try:
        ms = float(parts[2])
    except ValueError:
        raise SuiteError(f"{where}: MS must be a number of milliseconds, got {parts[2]!r}") from None
    return Budget(_metric(parts[0], where), _percentile(parts[1], where), _ms(ms, where))


def _budget(table: Any, where: str) -> Budget:
    if not isinstance(table, dict):
        raise SuiteError(f"{where}: a budget is a table {{metric, percentile, max_ms}}, got {table!r}")
    _known(table, {"metric", "percentile", "max_ms"}, where)
    for k in ("metric", "max_ms"):
        if k not in table:
            raise SuiteError(f"{where}: missing {k!r} (a budget needs metric, percentile, max_ms)")
    return Budget(
        _metric(table["metric"], where),
        _percentile(table.get("percentile", 50), where),
        _ms(table["max_ms"], where),
    )


def _known(table: dict, allowed: set[str], where: str) -> None:
    extra = sorted(set(table) - allowed)
    if extra:
        raise SuiteError(f"{where}: unknown key(s) {', '.join(extra)}; allowed: {', '.join(sorted(allowed))}")


def _seconds(value: Any, where: str, key: str, *, allow_none: bool = False) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise SuiteError(f"{where}: {key} must be seconds >= 0, got {value!r}")
    return float(value)


def _line(item: Any, where: str, base: Path, think: float) -> Line:
    if isinstance(item, str):
        return Line(text=item, think=think)
    if not isinstance(item, dict):
        raise SuiteError(f"{where}: a line is a string or a table {{text | wav, think, barge_in}}")
    _known(item, {"text", "wav", "think", "barge_in"}, where)
    text, wav = item.get("text"), item.get("wav")
    if (text is None or not str(text).strip()) and wav is None:
        raise SuiteError(f'{where}: give text = "…" (spoken by the voice) or wav = "file.wav"')
    path = None
    if wav is not None:
        path = Path(str(wav))
        path = path if path.is_absolute() else base / path
        if not path.is_file():
            raise SuiteError(f"{where}: wav file {path} not found (paths are relative to the suite file)")
    return Line(
        text=None if text is None else str(text),
        wav=path,
        think=_seconds(item.get("think", think), where, "think") or 0.0,
        barge_in=_seconds(item.get("barge_in"), where, "barge_in", allow_none=True),
    )


def _expectation(table: Any, where: str, n_lines: int) -> Expectation:
    if not isinstance(table, dict):
        raise SuiteError(f"{where}: an expectation is a table with one of {', '.join(EXPECT_KINDS)}")
    kinds = [k for k in EXPECT_KINDS if k in table]
    if len(kinds) != 1:
        raise SuiteError(f"{where}: give exactly one of {', '.join(EXPECT_KINDS)} (got {kinds or 'none'})")
    kind = kinds[0]
    _known(table, {kind, "arguments", "turn"}, where)
    value, args, turn = table[kind], table.get("arguments"), table.get("turn")
    if turn is not None and (isinstance(turn, bool) or not isinstance(turn, int) or not 1 <= turn <= n_lines):
        raise SuiteError(f"{where}: turn must be a user line number 1..{n_lines}, got {turn!r}")
    if args is not None and (kind != "tool_call" or not isinstance(args, dict)):
        raise SuiteError(f"{where}: arguments = {{…}} goes with tool_call only, as a table")
    if kind == "call_ends":
        if not isinstance(value, bool) or turn is not None:
            raise SuiteError(f"{where}: call_ends takes true or false (and no turn)")
    elif not isinstance(value, str) or not value:
        raise SuiteError(f"{where}: {kind} takes a non-empty string")
    if kind == "agent_matches":
        try:
            re.compile(value)
        except re.error as e:
            raise SuiteError(f"{where}: agent_matches {value!r} is not a valid regex: {e}") from None
    if kind == "outcome" and value not in _OUTCOMES:
        raise SuiteError(f"{where}: outcome must be one of {', '.join(_OUTCOMES)}, got {value!r}")
    return Expectation(kind, value, dict(args) if args else None, turn)


def _scenario(table: Any, i: int, suite: dict, base: Path, budgets: list[Budget]) -> Scenario:
    where = f"[[scenario]] #{i + 1}"
    if not isinstance(table, dict):
        raise SuiteError(f"{where}: a scenario is a table")
    _known(
        table, {"name", "description", "repeats", "think", "wait_greeting", "say", "expect", "budget"}, where
    )
    name = table.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise SuiteError(f"{where}: name must be letters, digits, '.', '_' or '-' (≤ 64), got {name!r}")
    where = f"scenario {name!r}"
    think = _seconds(table.get("think", suite.get("think", 0.6)), where, "think") or 0.0
    say = table.get("say")
    if not isinstance(say, list) or not say:
        raise SuiteError(f'{where}: say = ["…", …] (or [[scenario.say]] tables) must list what the user says')
    lines = tuple(_line(x, f"{where} say #{j + 1}", base, think) for j, x in enumerate(say))
    if lines[0].barge_in is not None:
        raise SuiteError(f"{where}: the first line cannot barge in (there is no reply to talk over yet)")
    repeats = table.get("repeats", suite.get("repeats", 1))
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise SuiteError(f"{where}: repeats must be an integer >= 1, got {repeats!r}")
    expect = tuple(
        _expectation(t, f"{where} expect #{j + 1}", len(lines)) for j, t in enumerate(table.get("expect", []))
    )
    own = [_budget(t, f"{where} budget #{j + 1}") for j, t in enumerate(table.get("budget", []))]
    merged = [b for b in budgets if all((b.metric, b.percentile) != (o.metric, o.percentile) for o in own)]
    wait = table.get("wait_greeting", True)
    if not isinstance(wait, bool):
        raise SuiteError(f"{where}: wait_greeting must be true or false")
    return Scenario(name, lines, repeats, expect, (*merged, *own), str(table.get("description", "")), wait)


def parse_suite(data: dict[str, Any], base: Path | None = None, path: Path | None = None) -> Suite:
    """A suite from its parsed TOML ``data``; WAV paths resolve against ``base`` (default: cwd)."""
    base = base or Path.cwd()
    _known(data, {"suite", "scenario", "budget", "tools"}, "top level")
    suite = data.get("suite", {})
    if not isinstance(suite, dict):
        raise SuiteError("[suite] must be a table")
    _known(
        suite,
        {
            "name",
            "description",
            "repeats",
            "concurrency",
            "agent_id",
            "think",
            "reply_timeout",
            "max_duration",
            "tail",
        },
        "[suite]",
    )
    name = suite.get("name", path.stem if path else "suite")
    if not isinstance(name, str) or not _NAME.match(name):
        raise SuiteError(f"[suite] name must be letters, digits, '.', '_' or '-' (≤ 64), got {name!r}")
    budgets = [_budget(t, f"[[budget]] #{j + 1}") for j, t in enumerate(data.get("budget", []))]
    scenarios = data.get("scenario")
    if not isinstance(scenarios, list) or not scenarios:
        raise SuiteError("the suite has no [[scenario]] tables; add at least one (see docs/suites.md)")
    parsed = tuple(_scenario(t, i, suite, base, budgets) for i, t in enumerate(scenarios))
    names = [s.name for s in parsed]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise SuiteError(f"scenario names must be unique; repeated: {', '.join(dup)}")
    tools = data.get("tools", {})
    if not isinstance(tools, dict):
        raise SuiteError('[tools] must be a table of name = "module:function" or name = { output = "…" }')
    for tname, spec in tools.items():
        ok = (isinstance(spec, str) and ":" in spec) or (isinstance(spec, dict) and set(spec) == {"output"})
        if not ok:
            raise SuiteError(f'[tools] {tname}: write "module:function" or {{ output = "fixed text" }}')
    conc = suite.get("concurrency", 4)
    if isinstance(conc, bool) or not isinstance(conc, int) or conc < 1:
        raise SuiteError(f"[suite] concurrency must be an integer >= 1, got {conc!r}")
    agent = suite.get("agent_id")
    return Suite(
        name=name,
        scenarios=parsed,
        description=str(suite.get("description", "")),
        concurrency=conc,
        agent_id=str(agent) if agent else None,
        reply_timeout=_seconds(suite.get("reply_timeout", 10.0), "[suite]", "reply_timeout") or 10.0,
        max_duration=_seconds(suite.get("max_duration", 120.0), "[suite]", "max_duration") or 120.0,
        tail=float(_seconds(suite.get("tail", 2.0), "[suite]", "tail") or 0.0),
        tools=dict(tools),
        path=path,
    )


def load_suite(path: str | Path) -> Suite:
    """Read and validate a suite file (TOML). Raises :class:`SuiteError` saying what to fix."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise SuiteError(f"cannot read suite file {path}: {e.strerror or e}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise SuiteError(f"{path} is not valid TOML: {e}") from None
    return parse_suite(data, base=path.resolve().parent, path=path)
