"""Analysis of a call: turns and latency components, summary statistics, plots, comparisons."""

from ._calls import call_entries, join_call_record
from ._columns import LATENCY_COLUMNS, OUTCOMES, TURN_COLUMNS
from ._compare import compare_sessions
from ._live import LatencyReading, last_turn_latency_ms
from ._plots import WATERFALL_COMPONENTS, plot_chronogram, plot_fto_hist, plot_v2v_ecdf, plot_waterfall
from ._summary import floor_transfers, speech_intervals, summary
from ._synthetic import SyntheticCall
from ._turns import turns
from ._vad import VadSettings, frame_levels_db, leading_silence_samples, speech_segments

__all__ = [
    "LATENCY_COLUMNS",
    "OUTCOMES",
    "TURN_COLUMNS",
    "WATERFALL_COMPONENTS",
    "LatencyReading",
    "SyntheticCall",
    "VadSettings",
    "call_entries",
    "compare_sessions",
    "floor_transfers",
    "frame_levels_db",
    "join_call_record",
    "last_turn_latency_ms",
    "leading_silence_samples",
    "plot_chronogram",
    "plot_fto_hist",
    "plot_v2v_ecdf",
    "plot_waterfall",
    "speech_intervals",
    "speech_segments",
    "summary",
    "turns",
]
