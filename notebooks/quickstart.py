import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium")


@app.cell
def _(get_time):
    from vatel_nb import VatelSession

    session = VatelSession(tools={"get_time": get_time})
    session.widget()
    return (session,)


@app.cell(hide_code=True)
def _():
    import marimo as mo

    mo.md(r"""
    # vatel_nb quickstart (marimo): talk to an agent, then measure the call

    Click **Start call** above, allow the microphone and talk. With no `VATEL_API_KEY` set, the
    session uses the **embedded simulator** and its demo agent, offline. It understands greetings,
    *"what time is it?"* and *"what's the time in Tokyo?"* (it calls the `get_time` tool below),
    *"tell me a long story"* (interrupt it to see a barge-in), *"stop"* and *"goodbye"*.
    To talk to your real agent, set `VATEL_API_KEY` and `VATEL_AGENT_ID` (and `VATEL_BASE_URL` if
    not `https://api.vatel.ai`) before starting marimo.

    Click **End call** when you are done, then **Analyse** below.
    """)
    return (mo,)


@app.cell
def _():
    import datetime as dt
    from zoneinfo import ZoneInfo

    def get_time(timezone: str = "UTC") -> str:
        """The tool the agent calls: the time now in an IANA time zone."""
        return dt.datetime.now(ZoneInfo(timezone)).strftime("%H:%M")

    return dt, get_time


@app.cell
def _(mo):
    analyse = mo.ui.run_button(label="Analyse the calls")
    analyse
    return (analyse,)


@app.cell
def _(analyse, mo, session):
    # Runs again at each click: every call so far, the one in progress included.
    mo.stop(not analyse.value or not len(session.recording), mo.md("*Make a call, then click Analyse.*"))
    events = session.events
    turns = session.turns()
    return events, turns


@app.cell
def _(events, mo):
    mo.vstack(
        [
            mo.md("## The event log\nOne row per event on one clock (kernel seconds since the call started)."),
            events.groupby(["source", "type"], observed=True).size().rename("rows").reset_index(),
        ]
    )
    return


@app.cell
def _(mo, turns):
    mo.vstack(
        [
            mo.md("## Turns: who spoke when, and how long the agent took to answer (ms)"),
            turns[["call", "turn", "outcome", "transcript", "agent_text", "v2v_ms", "server_e2e_ms", "barge_in"]],
        ]
    )
    return


@app.cell
def _(events, turns):
    from vatel_nb.analysis import summary

    summary(turns, events).loc[["v2v_ms", "server_e2e_ms", "eou_ms", "turns", "responded", "interrupted"], ["n", "p50", "p90", "value", "unit"]]
    return


@app.cell
def _(events, turns):
    from vatel_nb.analysis import plot_chronogram

    plot_chronogram(turns, events)
    return


@app.cell
def _(turns):
    from vatel_nb.analysis import plot_v2v_ecdf

    plot_v2v_ecdf(turns)
    return


@app.cell
def _(mo, turns):
    save = mo.ui.run_button(label="Save the calls")
    mo.vstack(
        [
            mo.md(
                "Save every call (events, both audio tracks, clock samples) into `calls/` next to this "
                "notebook; load it back with `vatel_nb.log.load_session(folder)`, or run "
                "`vatel-nb report folder`."
            ),
            save,
        ]
    )
    return (save,)


@app.cell
def _(dt, mo, save, session):
    mo.stop(not save.value)
    folder = session.save(f"calls/quickstart-{dt.datetime.now():%Y%m%d-%H%M%S}")
    mo.md(f"Saved to `{folder}`")
    return


if __name__ == "__main__":
    app.run()
