"""``CallView``: the interactive call timeline widget (anywidget) and its live refresher.

Synced traits: ``timeline`` (dict, see :mod:`vatel_nb.view._data`) and ``envelopes`` (bytes —
sent as the comm message's binary buffer, never base64). The recording is not sent when the view
opens: the page asks for windows of it (``audio-request`` → ``audio`` + a WAV buffer, see
:mod:`vatel_nb.view._messages`). On a session whose call has not ended, a daemon thread rebuilds
the view while the call runs (when the log grew; at most every ``refresh_s``, and never spending
more than ~1/3 of the time rebuilding), once more when it ends, then stops.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from .._audio import wav_bytes
from ..log import SAMPLE_RATE
from ..widget._bundle import widget_esm
from ._data import AudioView, ViewData, build_audio, build_view_data
from ._html import VIEW_ENTRY, write_html
from ._messages import audio_error, audio_window, parse_request
from ._source import CallSource, resolve_source

__all__ = ["AUDIO_WINDOW_S", "CallView"]

#: Length (s) of the recording windows the page fetches (≈ 96 kB per second of stereo PCM16).
AUDIO_WINDOW_S = 60.0


class CallView(anywidget.AnyWidget):
    """The call on one time axis: both channels' waveforms, speech, turns, tool calls and
    interruptions, the latency waterfall of each turn, and the stereo recording with a cursor.

    ``source``: a :class:`~vatel_nb.session.VatelSession` (its current call, followed live — and the
    next one when it starts — or call ``call``), a :class:`~vatel_nb.log.Recording`, an
    :class:`~vatel_nb.log.EventLog`, or a saved folder (``call`` = the call number, default the last;
    for a folder of saved sessions such as a suite's output, a folder name or number).
    ``refresh_s``: live refresh period (s).

    In the page: click to play from there, click a turn to play it, drag or shift+wheel to pan,
    wheel or +/− to zoom, space play/pause, ← → previous/next turn, 0 whole call.
    """

    _esm = widget_esm(VIEW_ENTRY)

    timeline = traitlets.Dict(help="the view's data (turns, intervals, markers, levels), JSON").tag(sync=True)
    envelopes = traitlets.Bytes(b"", help="waveform envelopes, int8 min/max per bucket").tag(sync=True)

    def __init__(self, source: Any, call: Any = None, *, refresh_s: float = 1.0, **kwargs: Any) -> None:
        self._source: CallSource = resolve_source(source, call)
        self._lock = threading.Lock()
        self._data: ViewData | None = None
        self._audio: AudioView | None = None
        self._ready = threading.Event()
        self._audio_ready = threading.Event()
        self.error: BaseException | None = None
        self.refresh_s = float(refresh_s)
        self.build_s = 0.0
        super().__init__(**kwargs)
        self.on_msg(self._on_custom)
        self._stop = threading.Event()
        # built in the background: the cell returns at once, the page shows the waveforms as soon
        # as they are computed and the turns when the analysis is done (then follows a live call)
        self._thread = threading.Thread(target=self._run, name="vatel-call-view", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ data

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the view's data is complete (turns included); False on timeout."""
        return self._ready.wait(timeout)

    @property
    def data(self) -> ViewData:
        """What the view shows now (timeline, envelopes, stereo recording, turns frame); waits for
        the first build. Raises what the build raised, if it failed."""
        self._ready.wait()
        if self._data is None:
            raise RuntimeError(f"the call view could not be built: {self.error}") from self.error
        return self._data

    @property
    def log(self) -> Any:
        """The event log shown."""
        return self._source.log

    def refresh(self) -> ViewData:
        """Rebuild the view from the log now (the live thread calls this) and update the page."""
        src = self._source
        log, title, live = src.log, src.title, src.live
        t = time.perf_counter()
        audio = build_audio(log)
        with self._lock:
            self._audio = audio
        self._audio_ready.set()
        if self._data is None:  # first build: the waveforms now, the turns when analysed
            with self.hold_sync():
                self.timeline = audio.skeleton(title, live)
                self.envelopes = audio.envelopes
        data = build_view_data(log, title=title, live=live, audio=audio)
        self.build_s = time.perf_counter() - t
        with self._lock:
            self._data = data
        with self.hold_sync():
            self.timeline = data.timeline
            self.envelopes = data.envelopes
        return data

    def _run(self) -> None:
        try:
            self.refresh()
        except Exception as e:
            self.error = e
            self.timeline = {"error": f"the call view could not be built: {e}"}
            return
        finally:
            self._ready.set()
            self._audio_ready.set()
        src = self._source
        if not src.may_change:
            return
        seen = (src.log, len(src.log), src.live)
        while not self._stop.wait(max(self.refresh_s, 3.0 * self.build_s)):
            going = src.may_change
            now = (src.log, len(src.log), src.live)  # a new call of the session is a new log
            if now[0] is not seen[0] or now[1:] != seen[1:] or not going:
                seen = now
                try:
                    self.refresh()
                except Exception:  # keep following: the next tick retries
                    continue
            if not going:  # the call ended: that was the last refresh
                return

    def close(self) -> None:
        """Stop following the call and close the widget."""
        self._stop.set()
        super().close()

    # ------------------------------------------------------------------ page → kernel

    def _on_custom(self, _widget: Any, content: Any, buffers: Any) -> None:
        req = parse_request(content)
        if req is None:
            return
        req_id, start = req
        self._audio_ready.wait(60.0)
        with self._lock:
            audio = self._audio
        try:
            stereo = audio.stereo if audio is not None else None
            if stereo is None or not len(stereo):
                raise ValueError("the call has no audio yet")
            a = min(round(start * SAMPLE_RATE), max(0, len(stereo) - 1))
            b = min(len(stereo), a + round(AUDIO_WINDOW_S * SAMPLE_RATE))
            wav = wav_bytes(stereo[a:b])
            self.send(
                audio_window(req_id, a / SAMPLE_RATE, (b - a) / SAMPLE_RATE, len(stereo) / SAMPLE_RATE), [wav]
            )
        except Exception as e:
            self.send(audio_error(req_id, f"{e}"))

    # ------------------------------------------------------------------ export

    def to_html(self, path: str | os.PathLike, *, audio: bool = True) -> Path:
        """Write the view as ONE self-contained HTML file (recording embedded; opens from disk with no
        server and no network; ≈ 7.7 MB per minute of call, ``audio=False``: waveforms only, a few
        hundred kB). Returns the path."""
        return write_html(self.data, path, audio=audio)
