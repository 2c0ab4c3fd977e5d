"""Which run endings become desktop notifications, and how a burst is folded into one summary.

Rules (pure; the clock is passed in):
- failures always notify (status failed or interrupted); a kill does not: the user asked for it;
- completions notify when the run took longer than a threshold, or the user watches the run;
- every notification waits a short coalescing window; what arrives in it is shown together:
  one ending as itself, several as one summary ("100 runs failed"); after a notification the
  next one waits out a quiet gap, so a steady stream of failures gives a summary per gap,
  never a pop-up per run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

FAILED_STATUSES = frozenset({"failed", "interrupted"})
COMPLETION_AFTER_S_DEFAULT = 60  # completions of runs at least this long notify
COALESCE_MS = 1_500  # endings this close together are shown as one
MIN_GAP_MS = 10_000  # at most one notification per this much time


@dataclass(frozen=True, slots=True)
class RunEnding:
    """A run that ended, as the rules need it."""

    run_id: str
    status: str  # completed | failed | killed | interrupted
    duration_ms: int | None = None
    agent_name: str | None = None
    error: str | None = None  # error class or message, for the text


@dataclass(frozen=True, slots=True)
class NotifyPolicy:
    completion_after_s: float = COMPLETION_AFTER_S_DEFAULT
    coalesce_ms: int = COALESCE_MS
    min_gap_ms: int = MIN_GAP_MS


@dataclass(frozen=True, slots=True)
class Notification:
    """What to show. run_id is set for a single run; a summary opens the Runs page instead
    (filtered to failures when any failed)."""

    title: str
    body: str
    kind: str  # "failure" | "completion" | "summary"
    run_id: str | None = None
    run_ids: tuple[str, ...] = ()
    failures: int = 0

    @property
    def is_summary(self) -> bool:
        return self.kind == "summary"


def notify_kind(ending: RunEnding, policy: NotifyPolicy, *, watched: bool = False) -> str | None:
    """'failure', 'completion' or None (not worth a notification)."""
    if ending.status in FAILED_STATUSES:
        return "failure"
    if ending.status != "completed":
        return None
    if watched:
        return "completion"
    duration = ending.duration_ms
    if duration is not None and duration >= policy.completion_after_s * 1000:
        return "completion"
    return None


def _who(ending: RunEnding) -> str:
    return f"@{ending.agent_name}" if ending.agent_name else f"Run {ending.run_id[-8:]}"


def _duration(ms: int | None) -> str:
    if ms is None:
        return ""
    seconds = ms // 1000
    if seconds < 60:
        return f" in {seconds} s"
    minutes, sec = divmod(seconds, 60)
    return f" in {minutes} m {sec:02d} s"


def single(ending: RunEnding, kind: str) -> Notification:
    """The notification of one ending."""
    who = _who(ending)
    if kind == "failure":
        verb = "was interrupted" if ending.status == "interrupted" else "failed"
        return Notification(
            f"{who} {verb}",
            ending.error or "Open the run to see what happened.",
            "failure",
            ending.run_id,
            (ending.run_id,),
            failures=1,
        )
    return Notification(
        f"{who} completed",
        f"Finished{_duration(ending.duration_ms)}.",
        "completion",
        ending.run_id,
        (ending.run_id,),
    )


def summary(batch: list[tuple[RunEnding, str]]) -> Notification:
    """Several endings as one notification."""
    failures = [e for e, kind in batch if kind == "failure"]
    completions = [e for e, kind in batch if kind == "completion"]
    parts = []
    if failures:
        parts.append(f"{len(failures)} run{'s' if len(failures) != 1 else ''} failed")
    if completions:
        parts.append(f"{len(completions)} completed")
    agents = sorted({e.agent_name for e in failures or completions if e.agent_name})
    body = "Agents: " + ", ".join(f"@{a}" for a in agents[:5]) if agents else ""
    if len(agents) > 5:
        body += f" and {len(agents) - 5} more"
    body = (body + ". " if body else "") + (
        "Click to see the failures." if failures else "Click to see the runs."
    )
    return Notification(
        ", ".join(parts),
        body,
        "summary",
        None,
        tuple(e.run_id for e, _ in batch),
        failures=len(failures),
    )


@dataclass
class NotifyBatcher:
    """Collects endings and says when (and what) to show. Time is passed in (ms)."""

    policy: NotifyPolicy = field(default_factory=NotifyPolicy)
    watched: set[str] = field(default_factory=set)
    _pending: list[tuple[RunEnding, str]] = field(default_factory=list)
    _due_at: int | None = None
    _last_shown_at: int | None = None

    def watch(self, run_id: str) -> None:
        self.watched.add(run_id)

    def unwatch(self, run_id: str) -> None:
        self.watched.discard(run_id)

    def offer(self, ending: RunEnding, now_ms: int) -> int | None:
        """Take an ending; returns when to call flush() (ms), or None when nothing is pending."""
        kind = notify_kind(ending, self.policy, watched=ending.run_id in self.watched)
        self.watched.discard(ending.run_id)
        if kind is not None:
            self._pending.append((ending, kind))
            if self._due_at is None:
                due = now_ms + self.policy.coalesce_ms
                if self._last_shown_at is not None:
                    due = max(due, self._last_shown_at + self.policy.min_gap_ms)
                self._due_at = due
        return self._due_at

    @property
    def due_at(self) -> int | None:
        return self._due_at

    @property
    def pending(self) -> int:
        return len(self._pending)

    def flush(self, now_ms: int) -> Notification | None:
        """The notification to show now (one ending, or a summary), or None if not yet due."""
        if self._due_at is None or now_ms < self._due_at or not self._pending:
            return None
        batch, self._pending, self._due_at = self._pending, [], None
        self._last_shown_at = now_ms
        if len(batch) == 1:
            ending, kind = batch[0]
            return single(ending, kind)
        return summary(batch)
