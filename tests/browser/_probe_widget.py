"""A tiny anywidget that proves the Jupyter ↔ Chromium ↔ fake-mic plumbing, independent of vatel_nb.

It speaks a subset of the widget envelope (docs/architecture.md): the page captures the microphone
(processing off) through an AudioWorklet at 24 kHz and sends ``mic`` frames (20 ms PCM16 in one
buffer); the kernel sends ``audio`` chunks that the page plays and answers with ``playback``
started / stopped / flushed; ``interrupt`` flushes. The kernel side records every envelope with
the name of the thread that handled it (subshell or main). This file is imported *inside the
kernel* of the generated notebook.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import anywidget
import numpy as np
import traitlets

_ESM = r"""
const WORKLET = `
class Cap extends AudioWorkletProcessor {
  constructor() { super(); this.buf = new Int16Array(480); this.n = 0; }
  process(inputs) {
    const ch = inputs[0] && inputs[0][0];
    if (ch) for (let i = 0; i < ch.length; i++) {
      const v = Math.max(-1, Math.min(1, ch[i]));
      this.buf[this.n++] = v < 0 ? v * 32768 : v * 32767;
      if (this.n === 480) {
        this.port.postMessage({pcm: this.buf.buffer, end: currentTime}, [this.buf.buffer]);
        this.buf = new Int16Array(480); this.n = 0;
      }
    }
    return true;
  }
}
registerProcessor('vatel-probe-capture', Cap);`;

export default {
  async render({ model, el }) {
    const label = document.createElement('div');
    label.className = 'vatel-probe';
    label.textContent = 'probe: starting microphone';
    el.appendChild(label);
    const send = (env, buffers) => model.send(env, undefined, buffers || []);
    try {
      const ctx = new AudioContext({ sampleRate: 24000 });
      const stream = await navigator.mediaDevices.getUserMedia({ audio: {
        echoCancellation: false, noiseSuppression: false, autoGainControl: false } });
      const url = URL.createObjectURL(new Blob([WORKLET], { type: 'application/javascript' }));
      await ctx.audioWorklet.addModule(url);
      const node = new AudioWorkletNode(ctx, 'vatel-probe-capture');
      const mute = ctx.createGain(); mute.gain.value = 0;
      ctx.createMediaStreamSource(stream).connect(node); node.connect(mute); mute.connect(ctx.destination);
      let seq = 0;
      // chromium's own account of audio glitches: render-thread underruns (they zero-fill the
      // mic input) and capture frames it did not deliver; null where the browser lacks the API
      const track = stream.getAudioTracks()[0];
      // counted from the first mic frame on (a starting context underruns before capture begins)
      const rawStats = () => {
        const p = ctx.playbackStats, t = track.stats;
        return {
          underrun_events: p ? p.underrunEvents : null,
          underrun_ms: p ? p.underrunDuration * 1000 : null,
          undelivered_ms: t ? t.totalFramesDuration - t.deliveredFramesDuration : null,
        };
      };
      let base = null;
      const audioStats = () => {
        const now = rawStats(), out = {};
        for (const k of Object.keys(now)) out[k] = now[k] === null || !base ? now[k] : now[k] - base[k];
        return out;
      };
      const toPerf = (ctxTime) => {
        const ts = ctx.getOutputTimestamp();
        return ts.performanceTime + (ctxTime - ts.contextTime) * 1000;
      };
      // the first 1.5 s of the fake microphone are not a measurement of the plumbing: in CI it
      // zero-filled and shifted parts of the first utterance there (corr 0.58, 0.78) while the page
      // was still settling, with no glitch in chromium's stats. Frames are sent from then on.
      let warmup = 75;
      node.port.onmessage = (e) => {
        if (warmup > 0) { warmup--; return; }
        if (base === null) base = rawStats();
        const t = toPerf(e.data.end - 480 / 24000);
        send({ kind: 'mic', seq: seq++, t_browser: t, samples: 480 }, [e.data.pcm]);
        if (seq % 50 === 0) label.textContent = `probe: live, ${seq / 50} s of microphone sent`;
      };
      const turns = new Map();   // turn_id -> {sources, samples, next, started}
      let next = 0;
      model.on('msg:custom', (msg, buffers) => {
        if (msg.kind === 'ping') { send({ kind: 'pong', id: msg.id, t_browser: performance.now() }); return; }
        if (msg.kind === 'interrupt') {
          const turn = turns.get(msg.turn_id);
          if (!turn) return;
          let played = 0, dropped = 0;
          for (const s of turn.sources) { try { s.node.stop(); } catch (err) {} }
          const now = ctx.currentTime;
          for (const s of turn.sources) {
            const p = Math.max(0, Math.min(s.n, Math.round((now - s.at) * 24000)));
            played += p; dropped += s.n - p;
          }
          turns.delete(msg.turn_id); next = now;
          send({ kind: 'playback', event: 'flushed', turn_id: msg.turn_id, t_browser: performance.now(),
                 samples: played, dropped_samples: dropped, audio_stats: audioStats() });
          return;
        }
        if (msg.kind !== 'audio') return;
        const pcm = new Int16Array(buffers[0].buffer, buffers[0].byteOffset, buffers[0].byteLength / 2);
        const buf = ctx.createBuffer(1, pcm.length, 24000);
        const data = buf.getChannelData(0);
        for (let i = 0; i < pcm.length; i++) data[i] = pcm[i] / 32768;
        let turn = turns.get(msg.turn_id);
        if (!turn) { turn = { sources: [], samples: 0 }; turns.set(msg.turn_id, turn); }
        const at = Math.max(ctx.currentTime + 0.03, next);
        const node = ctx.createBufferSource(); node.buffer = buf;
        node.connect(ctx.destination); node.start(at);
        next = at + pcm.length / 24000;
        turn.sources.push({ node, at, n: pcm.length });
        turn.samples += pcm.length;
        if (turn.sources.length === 1) {
          setTimeout(() => send({ kind: 'playback', event: 'started', turn_id: msg.turn_id,
            t_browser: toPerf(at), output_latency_ms: (ctx.outputLatency || 0) * 1000 }),
            Math.max(0, (at - ctx.currentTime) * 1000));
        }
        if (msg.final) node.onended = () => {
          if (turns.get(msg.turn_id) !== turn) return;
          turns.delete(msg.turn_id);
          send({ kind: 'playback', event: 'stopped', turn_id: msg.turn_id, t_browser: toPerf(next),
                 samples: turn.samples });
        };
      });
      send({ kind: 'ready', sample_rate: 24000, context_rate: ctx.sampleRate,
             base_latency_ms: (ctx.baseLatency || 0) * 1000,
             output_latency_ms: (ctx.outputLatency || 0) * 1000,
             user_agent: navigator.userAgent, processing: false });
      label.textContent = 'probe: live';
    } catch (err) {
      label.textContent = 'probe error: ' + err;
      send({ kind: 'status', state: 'error', error: String(err) });
    }
  },
};
"""


class ProbeWidget(anywidget.AnyWidget):
    """Records every browser envelope (with handler thread and kernel time) and plays PCM on request."""

    _esm = _ESM
    label = traitlets.Unicode("probe").tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.t0 = time.perf_counter()
        self.envelopes: list[dict[str, Any]] = []
        self.mic: list[bytes] = []
        self.threads: set[str] = set()
        self.on_msg(self._on_msg)

    def _on_msg(self, _widget: Any, content: dict[str, Any], buffers: list[Any]) -> None:
        # may run on a kernel subshell thread: only append (atomic under the GIL)
        self.threads.add(threading.current_thread().name)
        row = dict(content, t_kernel=time.perf_counter() - self.t0)
        if content.get("kind") == "mic":
            self.mic.append(bytes(buffers[0]))
        else:
            self.envelopes.append(row)

    def play(self, turn_id: str, pcm: np.ndarray, chunk: int = 480) -> None:
        """Send ``pcm`` (int16, 24 kHz) as ``audio`` chunks of ``chunk`` samples; the last is final."""
        n = max(1, -(-pcm.size // chunk))
        for i in range(n):
            part = np.ascontiguousarray(pcm[i * chunk : (i + 1) * chunk], dtype="<i2")
            self.send({"kind": "audio", "turn_id": turn_id, "seq": i, "final": i == n - 1}, [part.tobytes()])

    def interrupt(self, turn_id: str) -> None:
        self.send({"kind": "interrupt", "turn_id": turn_id})

    def seconds_captured(self) -> float:
        return len(self.mic) * 480 / 24000

    def dump(self, out: Path | str) -> None:
        """Write ``<out>.pcm`` (captured PCM16) and ``<out>`` (JSON summary), atomically."""
        out = Path(out)
        Path(str(out) + ".pcm").write_bytes(b"".join(self.mic))
        data = {"envelopes": self.envelopes, "mic_frames": len(self.mic), "threads": sorted(self.threads)}
        tmp = out.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        tmp.replace(out)
