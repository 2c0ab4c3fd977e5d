"""Start-up recovery: runs left `running` by a process that died become `interrupted`."""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import Any

from ato_desktop.core.models import ErrorClass, Outcome, RunStatus, RuntimeName
from ato_desktop.core.pricing import PriceBook
from ato_desktop.core.records import NewAction, RunEnd
from ato_desktop.engine.token_estimator import TokenEstimator
from ato_desktop.store.database import StoreError
from ato_desktop.store.execution_log import ExecutionLog
from ato_desktop.store.process_lease import owner_is_alive

log = logging.getLogger(__name__)

INTERRUPTED_MESSAGE = (
    "The process running this dispatch ended before it finished (a crash, kill -9 or power "
    "loss). The output streamed until its last checkpoint was kept."
)


def recover_orphaned_runs(
    store: ExecutionLog,
    prices: PriceBook,
    estimator: TokenEstimator,
    own_token: str,
    only: Collection[str] | None = None,
) -> list[str]:
    """Mark the running runs of dead owners interrupted, keeping their partial output (only:
    just these runs, e.g. the ones a user asked to kill)."""
    recovered: list[str] = []
    for owner, runs in store.running_owners().items():
        if only is not None:
            runs = [(run_id, run_no) for run_id, run_no in runs if run_id in only]
        if not runs or owner == own_token or owner_is_alive(store.paths.leases_dir, owner):
            continue
        for run_id, run_no in runs:
            try:
                ended = store.complete_run(
                    run_id, run_no, *_orphan_ending(store, run_id, run_no, prices, estimator)
                ).result()
            except StoreError as exc:
                # A full disk must not keep the user out of the log: the runs stay `running`
                # (their partial output kept) and the next start ends them.
                log.warning("left %s running for the next start: %s", run_id, exc)
                return recovered
            if ended:
                recovered.append(run_id)
    if recovered:
        log.warning("marked %d orphaned run(s) interrupted", len(recovered))
    return recovered


def _orphan_ending(
    store: ExecutionLog, run_id: str, run_no: int, prices: PriceBook, estimator: TokenEstimator
) -> tuple[NewAction | None, RunEnd]:
    run = store.get_run(run_id)
    ended = run.last_event_at or run.started_at
    duration_ns = max(0, ended - run.started_at) * 1_000_000
    end = RunEnd(
        status=RunStatus.INTERRUPTED.value,
        ended_at=ended,
        duration_ns=duration_ns,
        error_class=ErrorClass.INTERRUPTED.value,
        error_message=INTERRUPTED_MESSAGE,
    )
    pending = store.live_action(run_no)
    if pending is None:
        return None, end
    inputs = pending.get("inputs")
    partial = run.partial_output or ""
    reached = bool(partial) or bool(pending.get("accepted")) or _is_subprocess(run.runtime)
    if not reached:
        # The provider never accepted the call (a 429 wait, no headers yet): nothing was
        # spent, so the call is recorded with no usage and no cost, not as an estimate.
        return _unreached_action(pending, run.started_at, ended), end
    prompt_parts: list[str] = []
    if isinstance(inputs, dict):
        prompt_parts.append(str(inputs.get("system") or ""))
        for message in inputs.get("messages") or []:
            if isinstance(message, dict):
                prompt_parts.append(str(message.get("content") or ""))
    usage, _method = estimator.estimate_usage(prompt_parts, partial, run.model)
    cost = prices.cost(run.runtime, run.model, usage)
    started = int(pending.get("started_at") or run.started_at)
    action = NewAction(
        name=str(pending.get("name") or "call_llm"),
        kind=str(pending.get("kind") or "llm"),
        outcome=Outcome.ERROR.value,
        started_at=started,
        ended_at=ended,
        inputs=inputs,
        outputs={"text": partial, "partial": True},
        usage=usage,
        tokens_estimated=True,
        duration_ns=max(0, ended - started) * 1_000_000,
        cost_usd=cost.usd,
        cost_source=cost.source,
        error_class=ErrorClass.INTERRUPTED.value,
        error_message=INTERRUPTED_MESSAGE,
    )
    return action, end


def _is_subprocess(runtime: str) -> bool:
    try:
        return RuntimeName(runtime).is_subprocess
    except ValueError:
        return False


def _unreached_action(pending: dict[str, Any], run_started: int, ended: int) -> NewAction:
    started = int(pending.get("started_at") or run_started)
    return NewAction(
        name=str(pending.get("name") or "call_llm"),
        kind=str(pending.get("kind") or "llm"),
        outcome=Outcome.ERROR.value,
        started_at=started,
        ended_at=ended,
        inputs=pending.get("inputs"),
        outputs={"text": ""},
        duration_ns=max(0, ended - started) * 1_000_000,
        error_class=ErrorClass.INTERRUPTED.value,
        error_message=INTERRUPTED_MESSAGE,
    )
