"""What a pane's body says while its server has never answered: what was tried, why it failed, what to do.

A new user who starts ebtop on a machine without Cilium or Tetragon must not face an empty list and a
raw gRPC error cut off at the right edge of the status line. Until the first item arrives, the pane's
body explains, in full and wrapped: the address tried, the whole reason, and the next steps (the flag,
the port-forward that makes the cluster's server reachable, `--demo`). It goes away with the first
item, and comes back only if nothing ever arrived.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static

from tui.render.glyphs import glyphs
from tui.render.safe import escape_control
from tui.sources.base import Source, SourceState, SourceStatus

WAITING_STATES = {SourceState.RETRYING, SourceState.FAILED}
CONNECTING_GRACE_SECONDS = 2.0  # a server that answers at once (the demo) never shows the notice


@dataclass(frozen=True)
class ServerAdvice:
    """How a user makes one kind of server reachable."""

    server: str  # "Hubble"
    flag: str  # "--hubble-server ADDR"
    port_forward: str  # the kubectl line that exposes the cluster's server on the default port
    forwarded: str  # what the port-forward makes reachable, and where
    default_note: str  # where ebtop looks when no flag is given


HUBBLE = ServerAdvice(
    server="Hubble",
    flag="--hubble-server ADDR (env HUBBLE_SERVER), e.g. --hubble-server localhost:4245",
    port_forward="kubectl -n kube-system port-forward svc/hubble-relay 4245:80",
    forwarded="Relay to localhost:4245",
    default_note="without --hubble-server ebtop tries the agent's socket unix:///var/run/cilium/hubble.sock, "
                 "else Relay on localhost:4245",
)
TETRAGON = ServerAdvice(
    server="Tetragon",
    flag="--tetragon-server ADDR, e.g. --tetragon-server localhost:54321",
    port_forward="kubectl -n kube-system port-forward ds/tetragon 54321:54321",
    forwarded="an agent to localhost:54321",
    default_note="without --tetragon-server ebtop tries unix:///var/run/tetragon/tetragon.sock, "
                 "else the address in /var/run/tetragon/tetragon-info.json, else localhost:54321",
)


Attempt = tuple[str, SourceStatus]
"""What was tried (a source's label, or one agent's address) and how it stands (Source.attempts)."""


def waiting_attempts(sources: list[Source[object]], received: int, now: float | None = None,
                     shown: bool = False) -> list[Attempt]:
    """The attempts to explain: none once anything arrived, else those retrying, failed, or connecting
    for longer than a server that is there takes to answer (any connecting one once `shown`: a retry
    passes through connecting again, and the notice must not blink)."""
    if received:
        return []
    now = time.monotonic() if now is None else now
    waiting = []
    for source in sources:
        for label, status in source.attempts():
            if status.state in WAITING_STATES or (status.state is SourceState.CONNECTING and (
                    shown or now - status.changed_at >= CONNECTING_GRACE_SECONDS)):
                waiting.append((label, status))
    return waiting


def notice_text(advice: ServerAdvice, attempts: list[Attempt], last_errors: dict[str, str] | None = None
                ) -> Text:
    """The whole explanation, one block per attempt (server-supplied reasons escaped); while one
    connects again, `last_errors` (by label) gives the reason its last try failed."""
    text = Text()
    for label, status in attempts:
        reason = status.reason
        if status.state is SourceState.CONNECTING:
            reason = (last_errors or {}).get(label, "")
        if text:
            text.append("\n")
        # No countdown here (the status line has it): a text that changes every second would
        # re-lay out the pane every second, the biggest part of an idle ebtop's CPU.
        text.append(f"{advice.server}: no answer yet (retrying)\n" if status.state is not SourceState.FAILED
                    else f"{advice.server}: failed\n", style="bold")
        text.append("  tried:  ", style="dim")
        text.append(escape_control(label) + "\n")
        if reason:
            text.append("  reason: ", style="dim")
            text.append(escape_control(reason) + "\n")
    text.append("\nNext steps:\n", style="bold")
    text.append(f"  {glyphs().dot} point ebtop at the server: {advice.flag}\n")
    text.append(f"  {glyphs().dot} or forward {advice.forwarded} (ebtop keeps retrying, no restart needed): "
                f"{advice.port_forward}\n")
    text.append(f"  {glyphs().dot} no cluster here: ebtop --demo shows every pane on a simulated one\n")
    text.append(f"\n({advice.default_note}.)", style="dim")
    return text


class NoSourceNotice(Static):
    """The explanation, shown in place of an empty view while nothing has arrived."""

    DEFAULT_CSS = """
    NoSourceNotice { height: auto; max-height: 100%; padding: 1 2; display: none; }
    """

    def __init__(self, advice: ServerAdvice, **kwargs: object) -> None:
        super().__init__("", markup=False, **kwargs)  # type: ignore[arg-type]
        self.advice = advice
        self._shown = ""
        self._last_errors: dict[str, str] = {}

    def show_for(self, sources: list[Source[object]], received: int) -> bool:
        """Show (or update) the explanation for `sources`, or hide it; True while shown."""
        if not received:  # once anything arrived (every tick of a working pane) nothing is read
            for source in sources:
                for label, status in source.attempts():
                    if status.state in WAITING_STATES and status.reason:
                        self._last_errors[label] = status.reason
        waiting = waiting_attempts(sources, received, shown=bool(self.display))
        if not waiting:
            if self.display:
                self.display = False
                self._shown = ""
            return False
        text = notice_text(self.advice, waiting, self._last_errors)
        if text.plain != self._shown:  # a new attempt or reason: redraw only then
            self._shown = text.plain
            self.update(text)
        if not self.display:
            self.display = True
        return True
