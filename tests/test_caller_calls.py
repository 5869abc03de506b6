"""Many calls on one session, and analysis that stays true when speech overlaps (embedded simulator).

- A scripted caller run twice on one session: two calls, each with its own clock starting near 0,
  `session.calls` with 2 rows, `turns()` / `summary()` covering both with a `call` column.
- Overlap: the simulator's transcription is delayed on purpose while the user pauses briefly
  and goes on talking, so the agent's reply starts over the user. No latency may be negative
  and the turn's outcome is `talked-over`, with the overlap measured.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from vatel_nb.analysis import LATENCY_COLUMNS, plot_v2v_ecdf
from vatel_nb.caller import ScriptedCaller, Utterance
from vatel_nb.session import VatelSession
from vatel_nb.simulator import Latency, Simulator, demo_reply

VAD = {"start_secs": 0.2, "stop_secs": 0.4}


@pytest.fixture(scope="module")
def two_calls():
    script = ["hello there", "what time is it"]
    with Simulator(asr="scripted", latency=Latency(text=0.05)) as sim:
        agent = sim.add_agent("Demo", first_message="Hi.", reply=demo_reply, vad_settings=VAD, script=script)

        async def main():
            s = VatelSession(agent, api_key=sim.api_key, base_url=sim.base_url)
            caller = ScriptedCaller(
                s, [Utterance.say(t, think=0.2) for t in script], reply_timeout=6, tail=0.3
            )
            spoken = [await caller.run(), await caller.run()]  # the same caller, twice
            return s, spoken

        return asyncio.run(main())


def test_a_scripted_caller_run_twice_gives_two_calls(two_calls):
    s, spoken = two_calls
    calls = s.calls
    assert calls["call"].tolist() == [1, 2] and calls["status"].tolist() == ["ended", "ended"]
    assert calls["end_reason"].tolist() == ["the scripted call is over"] * 2
    assert (calls["start"].diff().dropna() > np.timedelta64(0)).all() and calls["session_id"].nunique() == 2
    ev = s.events
    assert sorted(ev["call"].unique().tolist()) == [1, 2]
    for call in (1, 2):
        t = ev.loc[ev["call"] == call, "t"]
        assert (
            -0.5 < t.min() < 0.5
        )  # each call's t: s since that call started (the page's ready may precede it)
    td = s.turns()
    for call in (1, 2):
        users = td[(td["call"] == call) & (td["outcome"] != "agent-initiated")]
        assert users["outcome"].astype(str).tolist() == ["responded", "responded"]
        assert users["transcript"].tolist() == ["hello there", "what time is it"]
        assert users["user_start"].min() < 20.0  # near the call's own start, not the session's
    assert len(s.turns(call=2)) == len(td[td["call"] == 2]) and set(s.turns(call=1)["call"]) == {1}
    sm, sm2 = s.summary(), s.summary(call=2)
    assert sm.loc["turns", "value"] == 4 and sm2.loc["turns", "value"] == 2
    assert sm.loc["v2v_ms", "n"] == td["v2v_ms"].notna().sum()
    assert len(spoken[0]) == len(spoken[1]) == 2


@pytest.fixture(scope="module")
def overlap():
    # the user says A, pauses 0.6 s (> stop_secs: the server ends the turn) and goes on with B;
    # transcription is delayed 1.2 s, so the reply to A starts while B is being spoken: the agent
    # is told to talk over the user (the demo agent's default waits for the user to finish)
    script = ["hello there", "tell me a long story about the sea and the ships please"]
    with Simulator(asr="scripted", latency=Latency(transcription=1.2)) as sim:
        agent = sim.add_agent(
            "Demo",
            first_message=None,
            reply=demo_reply,
            vad_settings=VAD,
            script=script,
            talk_over_user=True,
        )

        async def main():
            s = VatelSession(agent, api_key=sim.api_key, base_url=sim.base_url)
            caller = ScriptedCaller(
                s,
                [Utterance.say(script[0]), Utterance.say(script[1], pause=0.6)],
                wait_greeting=False,
                reply_timeout=6,
                tail=0.5,
            )
            await caller.run()
            return s

        return asyncio.run(main())


def test_overlap_gives_no_negative_latency_and_the_talked_over_outcome(overlap):
    s = overlap
    td = s.turns()
    lat = td[list(LATENCY_COLUMNS)].to_numpy(dtype=float)
    assert not (lat < 0).any(), td[list(LATENCY_COLUMNS)]
    over = td[td["outcome"].astype(str) == "talked-over"]
    assert len(over) == 1, td[["outcome", "user_start", "user_end", "t_first_audio", "n_segments"]]
    row = over.iloc[0]
    assert row["overlap_ms"] > 0
    # its latency runs from the end of the speech it answers (A), so it is positive and known
    assert row["server_e2e_ms"] > 1000.0  # ≥ the injected 1.2 s transcription delay, roughly
    assert s.summary().loc["talked_over", "value"] == 1
    ax = plot_v2v_ecdf(td)
    (line,) = [ln for ln in ax.get_lines() if ln.get_label().startswith("ECDF")]
    assert (
        line.get_label() == f"ECDF (n={td.loc[td['outcome'] != 'agent-initiated', 'v2v_ms'].notna().sum()})"
    )
