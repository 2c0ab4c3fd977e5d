"""A deterministic synthetic workload: runs with actions, as the store's write API takes them."""

from __future__ import annotations

import random
from collections.abc import Iterator

from ato_desktop.core.models import CostSource, TokenUsage
from ato_desktop.core.records import NewAction, NewRun, RunEnd

DAY_MS = 86_400_000
STATUSES = ["completed"] * 8 + ["failed", "killed"]


def synthetic_runs(
    count: int,
    actions_per_run: int,
    agents: list[tuple[str, str]],
    *,
    now_ms: int,
    days: int = 30,
    seed: int = 7,
) -> Iterator[tuple[NewRun, RunEnd, list[NewAction]]]:
    """count runs spread over the last `days` days, each with actions_per_run actions.

    agents: (agent_id, agent_version_id) pairs to spread the runs over.
    """
    rng = random.Random(seed)
    span = days * DAY_MS
    for i in range(count):
        started = now_ms - span + (span * i) // count + rng.randrange(1000)
        agent_id, version_id = agents[i % len(agents)]
        status = STATUSES[rng.randrange(len(STATUSES))]
        actions = []
        t = started
        for seq in range(actions_per_run):
            duration_ms = rng.randrange(20, 4000)
            tokens_in, tokens_out = rng.randrange(50, 4000), rng.randrange(10, 800)
            is_llm = seq % 2 == 0
            actions.append(
                NewAction(
                    name="call_llm" if is_llm else "search_docs",
                    kind="llm" if is_llm else "tool",
                    outcome="error"
                    if status == "failed" and seq == actions_per_run - 1
                    else "success",
                    started_at=t,
                    ended_at=t + duration_ms,
                    inputs={"messages": [{"role": "user", "content": f"question {i}.{seq}"}]}
                    if is_llm
                    else {"query": f"topic {i % 977}"},
                    outputs={"text": f"answer {i}.{seq}", "finish_reason": "stop"}
                    if is_llm
                    else {"hits": [i % 13, i % 17]},
                    usage=TokenUsage(tokens_in, tokens_out, cache_read_tokens=tokens_in // 4)
                    if is_llm
                    else None,
                    ttft_ns=rng.randrange(100, 900) * 1_000_000 if is_llm else None,
                    duration_ns=duration_ms * 1_000_000,
                    cost_usd=(tokens_in * 3 + tokens_out * 15) / 1e6 if is_llm else None,
                    cost_source=CostSource.ESTIMATED if is_llm else None,
                )
            )
            t += duration_ms
        yield (
            NewRun(
                "claude",
                "claude-sonnet-5",
                "cli",
                started,
                agent_id=agent_id,
                agent_version_id=version_id,
            ),
            RunEnd(
                status,
                t,
                (t - started) * 1_000_000,
                error_class="server_error" if status == "failed" else None,
            ),
            actions,
        )
