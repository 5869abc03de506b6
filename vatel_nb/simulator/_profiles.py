"""Wire profiles: how the simulator's messages look on the wire, and what its REST routes accept.

- ``vendor`` (the default): what the real Vatel service is shown to do (evidence in
  ``docs/compatibility.md``): ``data: null`` on the field-less messages (``speech_stopped``,
  ``interruption``, ``session_ended``), explicit JSON ``null`` accepted as "absent" in
  ``POST /v1/session-token``, ``response_audio`` chunks of mixed sizes (20–120 ms), and TTS audio
  produced faster than real time, in bursts.
- ``spec``: exactly the shapes of Vatel's ``openapi.json``: ``data: {}``, nulls refused (400),
  fixed ``chunk_ms`` chunks paced in real time.

Both send every message built with :mod:`vatel_nb.protocol` (:func:`~vatel_nb.protocol.serialize`).
"""

from __future__ import annotations

import math
import os
import random
from dataclasses import dataclass

from ..protocol import SAMPLE_RATE, ServerMessage, serialize

__all__ = ["ENV_PROFILE", "PROFILES", "WireProfile", "resolve_profile"]

#: Environment variable naming the default profile (``vendor`` when unset).
ENV_PROFILE = "VATEL_NB_SIM_PROFILE"


@dataclass(frozen=True)
class WireProfile:
    """One wire profile (see the module docstring). Durations in seconds, sizes in ms.

    ``chunk_ms``: the sizes ``response_audio`` chunks are drawn from (None: the simulator's fixed
    ``chunk_ms``). ``burst_s``: seconds of audio produced at once (0: each chunk on its own
    real-time slot); ``speed``: how much faster than real time the bursts come.
    """

    name: str
    null_empty_data: bool
    null_token_fields: bool
    chunk_ms: tuple[int, ...] | None
    burst_s: float
    speed: float

    def encode(self, message: ServerMessage) -> str:
        """The message's wire text under this profile."""
        return serialize(message, null_empty_data=self.null_empty_data)

    def chunk_sizes(self, n_samples: int, fixed_ms: int, rng: random.Random) -> list[int]:
        """Samples per chunk for an utterance of ``n_samples`` (the last chunk may be shorter)."""
        sizes: list[int] = []
        left = n_samples
        while left > 0:
            ms = fixed_ms if self.chunk_ms is None else rng.choice(self.chunk_ms)
            size = min(left, SAMPLE_RATE * ms // 1000)
            sizes.append(size)
            left -= size
        return sizes

    def offset_s(self, audio_s: float, audio_burst: float) -> float:
        """Seconds after the response's first audio at which audio position ``audio_s`` is sent.

        ``audio_burst`` (``Latency.audio_burst``): seconds sent at once before any pacing.
        """
        if self.burst_s <= 0:
            return max(0.0, audio_s - audio_burst)
        start = math.floor(audio_s / self.burst_s) * self.burst_s  # the burst holding this chunk
        return max(0.0, start / self.speed - audio_burst)


PROFILES: dict[str, WireProfile] = {
    "vendor": WireProfile(
        "vendor",
        null_empty_data=True,
        null_token_fields=True,
        chunk_ms=(20, 40, 60, 80, 100, 120),
        burst_s=0.48,
        speed=1.5,
    ),
    "spec": WireProfile(
        "spec", null_empty_data=False, null_token_fields=False, chunk_ms=None, burst_s=0.0, speed=1.0
    ),
}


def resolve_profile(profile: str | WireProfile | None) -> WireProfile:
    """``profile`` by name (or as is); None → ``$VATEL_NB_SIM_PROFILE``, else ``vendor``."""
    if isinstance(profile, WireProfile):
        return profile
    name = profile if profile is not None else (os.environ.get(ENV_PROFILE, "").strip() or "vendor")
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(
            f"unknown simulator profile {name!r}: use 'vendor' (what the real service does) or 'spec' "
            f"(openapi.json exactly){' — check ' + ENV_PROFILE if profile is None else ''}"
        ) from None
