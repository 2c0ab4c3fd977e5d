"""The demo workspace: a month of realistic agent runs, deterministic for a seed, clearly marked.

`build_demo_workspace` writes it, `remove_demo_workspace` takes it out again. Every row is marked
`is_demo`; ids, timestamps, prompts, tokens and outcomes all come from RNGs seeded by the seed,
and the month ends at a fixed "now" (the caller's, or the current hour), so the same seed and
the same now give the very same rows, ids included.

What is in it:

* five agents on the three runtimes (claude-sonnet-5, claude-haiku-4-5, gpt-5, gpt-5-mini and
  llama3.1:8b / qwen2.5:14b on an OpenAI-compatible server at http://localhost:11434/v1), each
  created before the month, four of them changed during it;
* ONE change that made an agent worse: `support-triage` version 3 (a system prompt rewrite that
  asks for exhaustive answers, with max_tokens raised from 1024 to 8192). After it the agent makes
  more tool calls and longer answers: failures rise from about 4% to about 25% (timeouts, rate
  limits, stalls, prompts too long), the median run takes 3.5 times as long (p95: 17 s -> 5
  min) and costs almost twice as much. Every other change is harmless or better (code-reviewer
  moves to gpt-5-mini: half the latency, a fifth of the cost);
* runs over 30 days with a working-hours rhythm, agent loops (call_llm turns and search_docs /
  read_file / run_sql / lookup_ticket / git_log tools with JSON inputs and outputs), every failure
  class (auth, rate_limit, timeout, stalled, stream_interrupted, server_error, bad_request, and
  network for the local server), killed and interrupted runs, costs from the PriceBook
  (estimated; unknown for the unpriced local model), a 90-minute burst of auth failures on the
  codex runtime (a rotated key), weekday cron runs, git-hook runs, evals and replays;
* chat threads with messages, linked to their runs (run.thread_id, message.run_id).

With `actions` given (the benchmark workspace: 1,000,000 runs and 10,000,000 actions), agent
runs make longer tool loops so the whole log holds about that many actions; each version keeps
its own habits (the regressed version still calls more tools than the others).
"""

from __future__ import annotations

import bisect
import itertools
import json
import math
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ato_desktop.core.models import (
    AgentConfig,
    CostSource,
    ErrorClass,
    Outcome,
    RunStatus,
    RuntimeName,
    TokenUsage,
    Trigger,
)
from ato_desktop.core.pricing import PriceBook
from ato_desktop.core.records import NewAction, NewRun, RunEnd
from ato_desktop.store.demo_data import (
    DemoAgent,
    DemoCatalog,
    DemoCounts,
    DemoMessage,
    DemoThread,
    DemoVersion,
    agent_names,
    has_demo_data,
    remove_demo_data,
    write_catalog,
)
from ato_desktop.store.execution_log import ExecutionLog
from ato_desktop.store.insights_queries import fold_run_rollups

__all__ = [
    "DEFAULT_RUNS",
    "DEFAULT_SEED",
    "GENERATOR_VERSION",
    "MAX_ACTIONS_PER_RUN",
    "MAX_RUNS",
    "MIN_RUNS",
    "REGRESSED_AGENT",
    "DemoCancelledError",
    "DemoExistsError",
    "DemoGenerator",
    "DemoSummary",
    "build_demo_workspace",
    "check_actions",
    "demo_now_ms",
    "remove_demo_workspace",
]

DEFAULT_RUNS = 2_000
DEFAULT_SEED = 7
MIN_RUNS = 100
MAX_RUNS = 10_000_000
MAX_ACTIONS_PER_RUN = 40
"""The most actions per run `actions` may ask for on average (a tool loop that long is rare)."""
GENERATOR_VERSION = 2
"""Bumped whenever the same seed and sizes would give different rows (caches key on it)."""
DAYS = 30
BATCH_RUNS = 2_000
"""Runs per ingest job; at most two jobs are in flight, so memory stays bounded at any size."""

REGRESSED_AGENT = "support-triage"
"""The agent whose version 3 made it worse (what regression detection must find)."""

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
MS = 1_000_000  # ns per ms
LOCAL_BASE_URL = "http://localhost:11434/v1"

Progress = Callable[[int, int], None]
RunItem = tuple[NewRun, RunEnd, list[NewAction]]


class DemoExistsError(Exception):
    """The log already holds a demo workspace."""


class DemoCancelledError(Exception):
    """The build was cancelled; whatever it had written was removed again."""


@dataclass(frozen=True, slots=True)
class DemoSummary:
    """What a build wrote."""

    runs: int
    actions: int
    agents: int
    threads: int
    messages: int
    seed: int
    start_ms: int
    end_ms: int
    seconds: float


def demo_now_ms(now_ms: int | None = None) -> int:
    """The demo's "now": the given time (default: the clock) rounded down to the hour."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    return ms - ms % HOUR_MS


# =============================================================================================
# Building and removing


def build_demo_workspace(
    store: ExecutionLog,
    prices: PriceBook,
    *,
    runs: int = DEFAULT_RUNS,
    actions: int | None = None,
    seed: int = DEFAULT_SEED,
    now_ms: int | None = None,
    batch_runs: int = BATCH_RUNS,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> DemoSummary:
    """Write the demo workspace; blocks, so call it from a worker thread (or the CLI).

    runs: how many runs (MIN_RUNS..MAX_RUNS), ending at demo_now_ms(now_ms) and starting 30 days
    before. actions: about how many actions in all (runs..runs * MAX_ACTIONS_PER_RUN; default:
    what the agents' usual loops give, about 3.4 a run). They stream through `store.ingest` in
    batches of batch_runs with at most two batches in flight, so a million runs need no more
    memory than two thousand. progress(done, total)
    is called from this thread after each batch commits. Raises DemoExistsError when demo data
    is already there, and DemoCancelledError when cancel is set (the partial demo is removed).
    """
    if not MIN_RUNS <= runs <= MAX_RUNS:
        raise ValueError(f"the demo workspace has {MIN_RUNS:,} to {MAX_RUNS:,} runs, not {runs:,}")
    check_actions(runs, actions)
    if has_demo_data(store):
        raise DemoExistsError(
            "The demo workspace is already loaded. Remove it first "
            "(`ato-desktop demo --remove`, or Remove demo data in the app)."
        )
    started = time.perf_counter()
    generator = DemoGenerator(
        prices,
        runs=runs,
        actions=actions,
        seed=seed,
        now_ms=now_ms,
        taken_names=agent_names(store),
    )
    catalog = generator.catalog()
    write_catalog(store, catalog).result()
    if progress is not None:
        progress(0, runs)
    done = actions = 0
    pending: list[tuple[Future[int], int, int]] = []
    try:
        for batch in _batches(generator.runs(), batch_runs):
            if cancel is not None and cancel.is_set():
                raise DemoCancelledError("the demo build was cancelled")
            pending.append((store.ingest(batch), len(batch), sum(len(a) for _, _, a in batch)))
            del batch  # the writer holds the only reference now
            if len(pending) >= 2:
                done, actions = _settle(pending.pop(0), done, actions, runs, progress)
        while pending:
            done, actions = _settle(pending.pop(0), done, actions, runs, progress)
    except BaseException:
        for future, _, _ in pending:
            future.cancel()
        for future, _, _ in pending:
            if not future.cancelled():
                future.exception()  # wait: removal must see every committed batch
        remove_demo_data(store)
        raise
    fold_run_rollups(store)  # the month's runs into the rollups Insights reads
    return DemoSummary(
        runs=done,
        actions=actions,
        agents=len(catalog.agents),
        threads=len(catalog.threads),
        messages=sum(len(t.messages) for t in catalog.threads),
        seed=seed,
        start_ms=generator.start_ms,
        end_ms=generator.end_ms,
        seconds=time.perf_counter() - started,
    )


def check_actions(runs: int, actions: int | None) -> None:
    """Raise ValueError unless actions is None or within runs..runs * MAX_ACTIONS_PER_RUN."""
    if actions is not None and not runs <= actions <= runs * MAX_ACTIONS_PER_RUN:
        raise ValueError(
            f"{runs:,} demo runs hold {runs:,} to {runs * MAX_ACTIONS_PER_RUN:,} actions, "
            f"not {actions:,}"
        )


def _settle(
    item: tuple[Future[int], int, int],
    done: int,
    actions: int,
    total: int,
    progress: Progress | None,
) -> tuple[int, int]:
    future, _count, action_count = item
    done += future.result()
    actions += action_count
    if progress is not None:
        progress(done, total)
    return done, actions


def _batches(items: Iterator[RunItem], size: int) -> Iterator[list[RunItem]]:
    while True:
        batch = list(itertools.islice(items, size))
        if not batch:
            return
        yield batch


def remove_demo_workspace(
    store: ExecutionLog, *, progress: Progress | None = None, cancel: threading.Event | None = None
) -> DemoCounts:
    """Remove every demo row (runs with their actions, agents, threads); returns the counts.

    Blocks: call it from a worker thread. Rows that are not demo stay.
    """
    return remove_demo_data(store, progress=progress, cancel=cancel)


# =============================================================================================
# The cast: agents, their versions and how each version behaves


@dataclass(frozen=True, slots=True)
class _Behaviour:
    """How runs of one config version go."""

    fail_rate: float
    latency: float = 1.0  # multiplies TTFT and generation time
    tool_calls: tuple[int, int] = (0, 0)  # min, max per run
    answer_tokens: tuple[int, int] = (250, 700)
    failures: tuple[tuple[str, float], ...] = ()  # error class -> weight


_USUAL_FAILURES: tuple[tuple[str, float], ...] = (
    (ErrorClass.RATE_LIMIT, 30),
    (ErrorClass.SERVER_ERROR, 25),
    (ErrorClass.STREAM_INTERRUPTED, 15),
    (ErrorClass.TIMEOUT, 10),
    (ErrorClass.BAD_REQUEST, 10),
    (ErrorClass.STALLED, 6),
    (ErrorClass.AUTH, 4),
)
_LOCAL_FAILURES: tuple[tuple[str, float], ...] = (
    (ErrorClass.NETWORK, 35),
    (ErrorClass.SERVER_ERROR, 25),
    (ErrorClass.TIMEOUT, 15),
    (ErrorClass.STALLED, 15),
    (ErrorClass.BAD_REQUEST, 10),
)
# The regression: exhaustive answers and many tool calls hit every limit there is.
_OVERLOADED_FAILURES: tuple[tuple[str, float], ...] = (
    (ErrorClass.TIMEOUT, 34),
    (ErrorClass.RATE_LIMIT, 26),
    (ErrorClass.STALLED, 18),
    (ErrorClass.BAD_REQUEST, 12),
    (ErrorClass.STREAM_INTERRUPTED, 10),
)


@dataclass(frozen=True, slots=True)
class _VersionSpec:
    day: float  # days after the month starts; negative: before it
    config: AgentConfig
    behaviour: _Behaviour
    change_source: str = "ui"


@dataclass(frozen=True, slots=True)
class _AgentSpec:
    name: str
    weight: float
    triggers: tuple[tuple[str, float], ...]
    tools: tuple[str, ...]
    versions: tuple[_VersionSpec, ...]
    topic: str  # key into _PROMPTS / _ANSWERS


@dataclass(frozen=True, slots=True)
class _ModelSpeed:
    ttft_ms: float  # median time to first token
    tokens_per_s: float
    reasoning: tuple[float, float] = (0.0, 0.0)  # share of output tokens spent reasoning


_SPEEDS: dict[str, _ModelSpeed] = {
    "claude-sonnet-5": _ModelSpeed(720, 62),
    "claude-haiku-4-5": _ModelSpeed(380, 125),
    "gpt-5": _ModelSpeed(1_650, 74, (0.35, 0.65)),
    "gpt-5-mini": _ModelSpeed(820, 118, (0.25, 0.5)),
    "llama3.1:8b": _ModelSpeed(260, 48),
    "qwen2.5:14b": _ModelSpeed(310, 41),
}

_TRIAGE_PROMPT_V1 = (
    "You triage customer support tickets for Acme Cloud. Classify each ticket (billing, bug, "
    "how-to, outage, account), set a priority from P1 to P4, and draft a short, friendly reply. "
    "Use search_docs to cite the help centre when it helps. Never promise refunds; route refund "
    "requests to billing."
)
_TRIAGE_PROMPT_V3 = (
    "You are Acme Cloud's senior support engineer. For EVERY ticket: search the documentation "
    "for each product, feature and error message mentioned (call search_docs once per term), "
    "look up the customer's recent tickets with lookup_ticket, and write a complete, exhaustive "
    "answer that quotes every relevant document in full. Be thorough rather than brief."
)
_REVIEW_PROMPT = (
    "You review pull requests for a Python and TypeScript monorepo. Point out bugs, missing "
    "tests and risky changes first, style last. Quote the line you mean. Reply in Markdown with "
    "at most 8 bullets; say LGTM when there is nothing to fix."
)
_ANALYST_PROMPT = (
    "You answer questions about the analytics warehouse (Postgres). Write one read-only SQL "
    "query at a time with run_sql, check the result, then answer in two or three sentences with "
    "the numbers. Never modify data."
)
_NOTES_PROMPT_V1 = (
    "Turn a list of merged pull requests into release notes for customers: group them under "
    "Features, Fixes and Internal, one line each, in plain language."
)
_NOTES_PROMPT_V2 = _NOTES_PROMPT_V1 + " Leave PR numbers out of Features; keep them in Fixes."
_SUMMARY_PROMPT = (
    "Summarise the document in at most five bullet points. Keep names, dates and numbers "
    "exact. No preamble."
)

_STEADY = _Behaviour(0.04, 1.0, (1, 2), (220, 520), _USUAL_FAILURES)

_AGENTS: tuple[_AgentSpec, ...] = (
    _AgentSpec(
        name=REGRESSED_AGENT,
        weight=0.30,
        triggers=(
            (Trigger.UI, 55),
            (Trigger.HOOK, 25),
            (Trigger.CLI, 12),
            (Trigger.EVAL, 6),
            (Trigger.REPLAY, 2),
        ),
        tools=("search_docs", "lookup_ticket"),
        topic="triage",
        versions=(
            _VersionSpec(
                -12,
                AgentConfig(
                    "claude",
                    "claude-sonnet-5",
                    _TRIAGE_PROMPT_V1,
                    params={"temperature": 0.2, "max_tokens": 1024},
                ),
                _STEADY,
                "cli",
            ),
            _VersionSpec(
                8.4,
                AgentConfig(
                    "claude",
                    "claude-sonnet-5",
                    _TRIAGE_PROMPT_V1,
                    params={"temperature": 0.3, "max_tokens": 1024},
                ),
                _STEADY,
            ),
            # The change that made it worse (day 21 of 30, about nine days before "now").
            _VersionSpec(
                21.45,
                AgentConfig(
                    "claude",
                    "claude-sonnet-5",
                    _TRIAGE_PROMPT_V3,
                    params={"temperature": 0.3, "max_tokens": 8192},
                ),
                _Behaviour(0.25, 1.6, (2, 4), (600, 1_400), _OVERLOADED_FAILURES),
            ),
        ),
    ),
    _AgentSpec(
        name="code-reviewer",
        weight=0.20,
        triggers=((Trigger.HOOK, 70), (Trigger.CLI, 20), (Trigger.UI, 8), (Trigger.REPLAY, 2)),
        tools=("read_file",),
        topic="review",
        versions=(
            _VersionSpec(
                -20,
                AgentConfig(
                    "codex", "gpt-5", _REVIEW_PROMPT, params={"reasoning_effort": "medium"}
                ),
                _Behaviour(0.035, 1.0, (1, 3), (180, 600), _USUAL_FAILURES),
                "cli",
            ),
            # Cheaper model, same quality: a good change (cost drops, latency too).
            _VersionSpec(
                15.6,
                AgentConfig(
                    "codex", "gpt-5-mini", _REVIEW_PROMPT, params={"reasoning_effort": "medium"}
                ),
                _Behaviour(0.035, 1.0, (1, 3), (180, 600), _USUAL_FAILURES),
            ),
        ),
    ),
    _AgentSpec(
        name="data-analyst",
        weight=0.12,
        triggers=((Trigger.UI, 50), (Trigger.CLI, 35), (Trigger.EVAL, 15)),
        tools=("run_sql",),
        topic="analyst",
        versions=(
            _VersionSpec(
                -8,
                AgentConfig("codex", "gpt-5", _ANALYST_PROMPT, params={"reasoning_effort": "high"}),
                _Behaviour(0.045, 1.0, (1, 3), (120, 380), _USUAL_FAILURES),
                "cli",
            ),
        ),
    ),
    _AgentSpec(
        name="release-notes",
        weight=0.06,
        triggers=((Trigger.UI, 60), (Trigger.CLI, 40)),
        tools=("git_log",),
        topic="notes",
        versions=(
            _VersionSpec(
                -25,
                AgentConfig(
                    "claude", "claude-haiku-4-5", _NOTES_PROMPT_V1, params={"temperature": 0.4}
                ),
                _Behaviour(0.03, 1.0, (1, 1), (260, 620), _USUAL_FAILURES),
                "cli",
            ),
            _VersionSpec(
                25.3,
                AgentConfig(
                    "claude", "claude-haiku-4-5", _NOTES_PROMPT_V2, params={"temperature": 0.4}
                ),
                _Behaviour(0.03, 1.0, (1, 1), (260, 620), _USUAL_FAILURES),
            ),
        ),
    ),
    _AgentSpec(
        name="local-summarizer",
        weight=0.17,
        triggers=((Trigger.CLI, 55), (Trigger.HOOK, 30), (Trigger.UI, 15)),
        tools=("read_file",),
        topic="summary",
        versions=(
            _VersionSpec(
                -15,
                AgentConfig(
                    "openai-compatible",
                    "llama3.1:8b",
                    _SUMMARY_PROMPT,
                    params={"temperature": 0.1, "num_ctx": 8192},
                    base_url=LOCAL_BASE_URL,
                ),
                _Behaviour(0.05, 1.0, (0, 1), (140, 360), _LOCAL_FAILURES),
                "cli",
            ),
            # A bigger local model: nobody priced it, so its cost is unknown (never $0).
            _VersionSpec(
                11.7,
                AgentConfig(
                    "openai-compatible",
                    "qwen2.5:14b",
                    _SUMMARY_PROMPT,
                    params={"temperature": 0.1, "num_ctx": 8192},
                    base_url=LOCAL_BASE_URL,
                ),
                _Behaviour(0.05, 0.95, (0, 1), (140, 360), _LOCAL_FAILURES),
            ),
        ),
    ),
)

# Runs without an agent: the chat's default runtime and model (Settings > Defaults).
_DIRECT_TARGETS: tuple[tuple[AgentConfig, float], ...] = (
    (AgentConfig("claude", "claude-sonnet-5"), 45),
    (AgentConfig("codex", "gpt-5-mini"), 30),
    (AgentConfig("claude", "claude-haiku-4-5"), 15),
    (AgentConfig("openai-compatible", "llama3.1:8b", base_url=LOCAL_BASE_URL), 10),
)
_DIRECT_WEIGHT = 0.15
_DIRECT_BEHAVIOUR = _Behaviour(0.035, 1.0, (0, 0), (150, 650), _USUAL_FAILURES)

# The 90 minutes after someone rotated the OpenAI key and the old one was still configured.
_AUTH_INCIDENT = (12.0 + 10 / 24, 12.0 + 11.5 / 24)  # days after the month starts

# What every run's outcome can be; each appears at least once in any build.
_REQUIRED_OUTCOMES: tuple[tuple[str, str | None], ...] = (
    (RunStatus.FAILED, ErrorClass.AUTH),
    (RunStatus.FAILED, ErrorClass.RATE_LIMIT),
    (RunStatus.FAILED, ErrorClass.TIMEOUT),
    (RunStatus.FAILED, ErrorClass.STALLED),
    (RunStatus.FAILED, ErrorClass.STREAM_INTERRUPTED),
    (RunStatus.FAILED, ErrorClass.SERVER_ERROR),
    (RunStatus.FAILED, ErrorClass.BAD_REQUEST),
    (RunStatus.KILLED, ErrorClass.KILLED),
    (RunStatus.INTERRUPTED, ErrorClass.INTERRUPTED),
)
_KILL_RATE = 0.012
_INTERRUPT_RATE = 0.004

# =============================================================================================
# Words: prompts, answers, tool calls


_CUSTOMERS = (
    ("Priya Raman", "Northwind Labs", "Team"),
    ("Jonas Weber", "Kessel GmbH", "Business"),
    ("Aiko Tanaka", "Sora Studio", "Starter"),
    ("Marcus Bell", "Bell & Co", "Business"),
    ("Lucía Ortega", "Ortega Logistics", "Enterprise"),
    ("Tom Okafor", "Brightpath Schools", "Team"),
    ("Hannah Kim", "Kimchi Analytics", "Starter"),
    ("Oliver Grant", "Grant Legal", "Enterprise"),
    ("Sofia Rossi", "Rossi Design", "Team"),
    ("Wei Zhang", "Lotus Freight", "Business"),
)
_TICKETS = (
    (
        "billing",
        "P2",
        "We were charged twice for March. Invoice INV-20931 and INV-20977 are "
        "identical. Please fix this before our finance close on Friday.",
    ),
    (
        "bug",
        "P1",
        "Since this morning every deploy fails with 'ERR_BUILD_CACHE_CORRUPT'. Our "
        "production release is blocked.",
    ),
    (
        "how-to",
        "P4",
        "How do I give a contractor read-only access to one project without "
        "adding them to the whole workspace?",
    ),
    (
        "outage",
        "P1",
        "The EU dashboard returns 502 errors for all of our users. Status page "
        "says everything is operational.",
    ),
    (
        "account",
        "P3",
        "Our admin left the company. How can we transfer ownership of the workspace to me?",
    ),
    (
        "billing",
        "P3",
        "Can we switch from monthly to annual billing mid-cycle and get the "
        "remaining days credited?",
    ),
    (
        "bug",
        "P2",
        "Webhook deliveries to our endpoint stopped on Tuesday. We see no attempts "
        "in our logs, but your UI shows them as delivered.",
    ),
    ("how-to", "P4", "Is there a way to export audit logs to S3 every night?"),
    (
        "account",
        "P2",
        "SSO login loops back to the sign-in page for everyone on Okta since we "
        "rotated our certificate.",
    ),
    ("bug", "P3", "CSV export cuts off at 10,000 rows even though the table has 42,000."),
)
_DOCS = (
    (
        "billing/duplicate-charges.md",
        "Duplicate charges are refunded automatically within 5 "
        "business days once billing confirms them.",
    ),
    (
        "deploys/build-cache.md",
        "Clear the build cache from Settings > Builds > Clear cache, or "
        "pass --no-cache to the CLI.",
    ),
    (
        "access/project-roles.md",
        "Project-level roles (Viewer, Editor) can be granted to guests without a workspace seat.",
    ),
    (
        "status/regional-incidents.md",
        "Regional incidents are posted to status.acme.cloud/eu within 10 minutes.",
    ),
    (
        "account/ownership-transfer.md",
        "Ownership can be transferred by any admin; if none is "
        "left, support verifies the domain owner.",
    ),
    (
        "billing/plan-changes.md",
        "Switching to annual billing applies a prorated credit for the unused part of the month.",
    ),
    (
        "integrations/webhooks.md",
        "Deliveries are retried 8 times over 24 hours; endpoints returning 410 are disabled.",
    ),
    (
        "security/audit-export.md",
        "Audit logs can be streamed to S3, GCS or Azure Blob with a nightly schedule.",
    ),
    (
        "security/sso-okta.md",
        "After rotating an IdP certificate, upload the new one under "
        "Security > SSO before the old one expires.",
    ),
    ("data/exports.md", "Exports above 10,000 rows run in the background and arrive by email."),
)
_TRIAGE_REPLIES = {
    "billing": "Thanks for flagging this, {first}. I can see both invoices and have asked our "
    "billing team to confirm the duplicate; confirmed duplicates are refunded automatically "
    "within 5 business days (see {doc}). You'll get an email as soon as it is processed.",
    "bug": "Sorry about the disruption, {first}. This matches a known issue; as a workaround, "
    "clear the build cache (Settings > Builds > Clear cache) and redeploy, as described in "
    "{doc}. I've linked your ticket to the engineering incident so you get updates.",
    "how-to": "Good question, {first}! You can invite the contractor as a guest and give them "
    "the Viewer role on that one project only; they won't need a workspace seat. Step by step: "
    "{doc}.",
    "outage": "Thanks for the report, {first}, and sorry for the trouble. We're seeing elevated "
    "502s in the EU region and the on-call team is investigating; follow {doc} for updates. "
    "I've marked your ticket P1 and will update you within 30 minutes.",
    "account": "Happy to help, {first}. Any remaining admin can transfer ownership; if nobody "
    "is left, we verify the domain owner instead. The steps are in {doc}; reply here with the "
    "new owner's email and I'll start the verification.",
}
_REVIEWS = (
    (
        "Add retry with backoff to the invoice sync job",
        "src/billing/sync.py",
        "- **Bug**: `retry()` catches `Exception`, which also swallows `KeyboardInterrupt` in "
        "Python < 3.8 code paths; catch `httpx.TransportError` only (line 48).\n- **Missing "
        "test**: no test covers the give-up path after the last attempt.\n- The backoff cap "
        "(`max_delay=600`) is longer than the job's 5-minute timeout, so the last retry never "
        "runs.\n- Nit: `attempts` is shadowed inside the loop.",
    ),
    (
        "Migrate the settings form to react-hook-form",
        "web/src/settings/Form.tsx",
        "- **Bug**: `defaultValues` is computed before `user` loads, so the form shows empty "
        "fields on a slow network (line 27); pass `values` instead.\n- The submit handler no "
        "longer disables the button, so double submits are possible.\n- LGTM otherwise; nice "
        "removal of the manual state.",
    ),
    (
        "Cache price lookups per request",
        "src/pricing/lookup.py",
        "- **Risk**: the cache key ignores the currency, so EUR and USD prices collide "
        "(line 112).\n- `functools.lru_cache` on a method keeps `self` alive; use a module-level "
        "cache or `cachetools` with a TTL.\n- **Missing test**: a second currency in the same "
        "request.",
    ),
    (
        "Bump pydantic to 2.9",
        "pyproject.toml",
        "LGTM. The changelog has no breaking change for the validators we use, and CI is green.",
    ),
    (
        "Stream large CSV exports",
        "src/exports/csv_writer.py",
        "- **Bug**: the generator closes the DB cursor before the last chunk is flushed "
        "(line 73); wrap it in `contextlib.closing`.\n- Set `Content-Disposition` so browsers "
        "download instead of rendering.\n- **Missing test**: an export over 10,000 rows.",
    ),
    (
        "Add rate limiting to the public API",
        "src/api/middleware/ratelimit.ts",
        "- **Bug**: the limiter keys on `req.ip`, which is the load balancer behind our proxy; "
        "use `X-Forwarded-For` with the trusted proxy list (line 19).\n- Return `Retry-After` "
        "with the 429.\n- Nit: the magic number 120 deserves a named constant.",
    ),
)
_QUESTIONS = (
    (
        "Which regions had monthly churn above 5% last quarter?",
        "SELECT region, round(100.0 * sum(churned) / sum(active), 2) AS churn_pct FROM "
        "monthly_accounts WHERE month >= date '2026-07-01' GROUP BY region HAVING 100.0 * "
        "sum(churned) / sum(active) > 5 ORDER BY churn_pct DESC",
        ["region", "churn_pct"],
        [["LATAM", 7.41], ["APAC-South", 5.86]],
        "Two regions were above 5% last quarter: LATAM at 7.41% and APAC-South at 5.86%. "
        "Every other region stayed between 2.1% and 4.3%.",
    ),
    (
        "What was our average order value by plan in October?",
        "SELECT plan, round(avg(amount_usd), 2) AS aov FROM orders WHERE created_at >= "
        "'2026-10-01' AND created_at < '2026-11-01' GROUP BY plan ORDER BY aov DESC",
        ["plan", "aov"],
        [["Enterprise", 1840.12], ["Business", 412.5], ["Team", 96.3]],
        "In October the average order was $1,840.12 on Enterprise, $412.50 on Business and "
        "$96.30 on Team. Starter had no paid orders.",
    ),
    (
        "How many trials converted to paid in the last 30 days?",
        "SELECT count(*) FILTER (WHERE converted) AS converted, count(*) AS trials FROM trials "
        "WHERE started_at >= now() - interval '30 days'",
        ["converted", "trials"],
        [[318, 2140]],
        "318 of 2,140 trials converted in the last 30 days, a 14.9% conversion rate, up from "
        "12.2% in the 30 days before.",
    ),
    (
        "Which five customers grew their usage the most this month?",
        "SELECT account, usage_now - usage_prev AS growth FROM usage_month_over_month ORDER BY "
        "growth DESC LIMIT 5",
        ["account", "growth"],
        [["Lotus Freight", 91230], ["Grant Legal", 55012], ["Northwind Labs", 40118]],
        "Lotus Freight grew the most (+91,230 API calls), then Grant Legal (+55,012) and "
        "Northwind Labs (+40,118). The other two were below +20,000.",
    ),
    (
        "What share of support tickets were P1 last week?",
        "SELECT round(100.0 * count(*) FILTER (WHERE priority = 'P1') / count(*), 1) AS p1_pct "
        "FROM tickets WHERE created_at >= date_trunc('week', now()) - interval '7 days'",
        ["p1_pct"],
        [[6.8]],
        "6.8% of last week's tickets were P1, about twice the usual 3–4%, mostly from the EU "
        "dashboard incident on Wednesday.",
    ),
)
_RELEASE_ITEMS = (
    "feat: project-level guest roles",
    "fix: CSV export stopped at 10,000 rows",
    "feat: nightly audit-log export to S3",
    "fix: SSO loop after IdP certificate rotation",
    "chore: bump pydantic to 2.9",
    "feat: dark mode for the dashboard",
    "fix: webhook retries marked delivered too early",
    "perf: cache price lookups per request",
    "fix: EU dashboard 502s under load",
    "feat: annual billing with prorated credit",
)
_DOCUMENTS = (
    (
        "notes/2026-11-03-planning.md",
        "Q1 planning meeting",
        "- Ship guest roles by 15 January (owner: Priya).\n- Freeze the billing schema until the "
        "annual plan launch.\n- Hire two support engineers for the EU shift.\n- Budget: $48k for "
        "load testing.\n- Next review: 17 November.",
    ),
    (
        "notes/incident-eu-502.md",
        "EU 502 incident review",
        "- 41 minutes of elevated 502s on 12 November, 09:14–09:55 UTC.\n- Cause: a connection "
        "pool limit of 200 on the EU gateway.\n- Fix: limit raised to 800, alert at 70%.\n- 312 "
        "tickets, 9 from Enterprise customers.\n- Follow-up: status page automation (Jonas).",
    ),
    (
        "docs/rfc-0042-streaming-exports.md",
        "RFC 42: streaming exports",
        "- Replace in-memory CSV building with a streamed response.\n- Memory per export drops "
        "from ~1.2 GB to under 50 MB.\n- Exports over 10,000 rows stay in the background queue.\n"
        "- Rollout behind the flag `exports.streaming`.\n- Decision needed by 20 November.",
    ),
    (
        "notes/customer-call-lotus.md",
        "Call with Lotus Freight",
        "- Usage up 91k API calls this month; they expect 3x by March.\n- Asked for a 99.95% SLA "
        "and a dedicated EU region.\n- Pain point: webhook delays during peaks.\n- Next step: "
        "Enterprise quote by Friday (Wei, Oliver).",
    ),
)
_CHAT_PAIRS = (
    (
        "Explain the difference between a mutex and a semaphore in two short paragraphs.",
        "A mutex is a lock with an owner: one thread acquires it, and only that thread may release "
        "it. It protects a critical section so that exactly one thread runs it at a time.\n\nA "
        "semaphore is a counter of permits. Any thread may signal it, and up to N threads can hold "
        "a permit at once, which makes it suited to limiting access to a pool of resources, such "
        "as 10 database connections.",
    ),
    (
        "Write a regex that matches ISO 8601 dates like 2026-11-21.",
        "`^\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])$` matches the form YYYY-MM-DD with a "
        "valid month and a day from 01 to 31. It does not check month lengths (it accepts "
        "2026-02-30); parse with `datetime.date.fromisoformat` if you need that.",
    ),
    (
        "What is a write-ahead log?",
        "A write-ahead log (WAL) records every change before it is applied to the main data "
        "files. After a crash, the database replays the log to reach a consistent state, and "
        "readers can keep reading the old pages while a writer appends to the log.",
    ),
    (
        "Draft a polite reminder to a vendor whose invoice is 30 days overdue on our side.",
        "Subject: Invoice INV-4471: payment update\n\nHi Dana,\n\nApologies: invoice INV-4471 is "
        "30 days past due on our side. It is approved and scheduled for this Thursday's payment "
        "run; you should see it by Monday. Thanks for your patience.\n\nBest,\nSam",
    ),
    (
        "Summarise the CAP theorem for a product manager.",
        "When the network between servers breaks, a distributed database must choose: keep "
        "answering (availability) and risk showing slightly stale data, or refuse some requests "
        "until the servers agree again (consistency). You can't have both during a network "
        "split; the choice depends on which mistake hurts users more.",
    ),
    (
        "Give me three names for an internal tool that watches LLM agent costs.",
        "1. **Meter**: short and says what it does.\n2. **Ledger**: every token, accounted "
        "for.\n3. **Tally**: friendly, and easy to say in a stand-up.",
    ),
)

# Multi-turn conversations for the chat threads: (agent name or None, [(user, answer), ...]).
_CONVERSATIONS: tuple[tuple[str | None, tuple[tuple[str, str], ...]], ...] = (
    (
        REGRESSED_AGENT,
        (
            (
                "Ticket T-48213 from Priya Raman (Northwind Labs, Team plan): we were charged "
                "twice "
                "for March. Classify and draft a reply.",
                "Category: billing · Priority: P2\n\nHi Priya, thanks for flagging this. I can see "
                "both invoices and have asked billing to confirm the duplicate; confirmed "
                "duplicates "
                "are refunded within 5 business days (billing/duplicate-charges.md).",
            ),
            (
                "Make the reply a bit warmer and mention the invoice numbers.",
                "Hi Priya,\n\nThank you for catching this, and sorry for the hassle! Invoices "
                "INV-20931 and INV-20977 are indeed identical. I've asked our billing team to "
                "confirm "
                "the duplicate; once confirmed, the refund is automatic and arrives within 5 "
                "business "
                "days. I'll keep an eye on it for you.",
            ),
            (
                "Perfect. What priority would you give it if their finance close is tomorrow?",
                "P2 still fits: money is involved but nothing is blocked. If they need the refund "
                "before the close, raise it to P1 and ask billing for a manual credit note today.",
            ),
        ),
    ),
    (
        None,
        (
            (
                "What is a write-ahead log?",
                "A write-ahead log records every change before it is applied to the main data "
                "files, "
                "so after a crash the database replays it to a consistent state.",
            ),
            (
                "How does SQLite's WAL mode differ from its rollback journal?",
                "The rollback journal copies the original pages aside before changing the "
                "database; "
                "WAL appends the new pages to a separate -wal file instead. With WAL, readers "
                "don't "
                "block the writer and the writer doesn't block readers, and commits are usually "
                "faster because they are sequential appends.",
            ),
            (
                "When would I still pick the rollback journal?",
                "When the database sits on a network filesystem (WAL needs shared memory on one "
                "host), when you need a single-file database at all times, or on very old SQLite "
                "versions. For a local app with concurrent reads, WAL is the better default.",
            ),
            (
                "And what does synchronous=NORMAL risk in WAL mode?",
                "A power loss can roll back the last few transactions, but the database is never "
                "corrupted. An application crash loses nothing: the OS still has the writes.",
            ),
        ),
    ),
    (
        "data-analyst",
        (
            (
                "How many trials converted to paid in the last 30 days?",
                "318 of 2,140 trials converted in the last 30 days, a 14.9% conversion rate, up "
                "from "
                "12.2% in the 30 days before.",
            ),
            (
                "Break that down by acquisition channel.",
                "Organic search converted best (19.8%, 121 of 611), then partner referrals "
                "(17.2%), "
                "paid social (11.4%) and paid search (9.6%). Paid search brought the most trials "
                "(702) "
                "but the fewest conversions per trial.",
            ),
            (
                "Is the paid search drop significant?",
                "Compared with the previous 30 days (12.9%, 88 of 682), the drop to 9.6% gives a "
                "two-proportion z of about 2.0 (p ≈ 0.045): borderline. I'd wait one more month "
                "before "
                "cutting the budget.",
            ),
        ),
    ),
    (
        "local-summarizer",
        (
            (
                "Summarise notes/incident-eu-502.md",
                "- 41 minutes of elevated 502s on 12 November, 09:14–09:55 UTC.\n- Cause: a "
                "connection pool limit of 200 on the EU gateway.\n- Fix: limit raised to 800, "
                "alert "
                "at 70%.\n- 312 tickets, 9 from Enterprise customers.",
            ),
            (
                "Who owns the follow-ups?",
                "- Jonas: status page automation.\n- No owner is named for the 70% pool alert; the "
                "notes only say it was added.",
            ),
        ),
    ),
    (
        "code-reviewer",
        (
            (
                "Review PR #1842: Add rate limiting to the public API",
                "- **Bug**: the limiter keys on `req.ip`, which is the load balancer behind our "
                "proxy; use `X-Forwarded-For` with the trusted proxy list.\n- Return `Retry-After` "
                "with the 429.",
            ),
            (
                "Can you suggest the fix for the first point?",
                "```ts\nconst clientIp = (req: Request) =>\n  proxyaddr(req, trustedProxies) ?? "
                "req.ip;\nlimiter.key = clientIp;\n```\nWith `trustedProxies` set to the load "
                "balancer's CIDR, spoofed `X-Forwarded-For` headers from the internet are ignored.",
            ),
        ),
    ),
    (
        None,
        (
            (
                "Give me three names for an internal tool that watches LLM agent costs.",
                "1. **Meter**: short and says what it does.\n2. **Ledger**: every token, accounted "
                "for.\n3. **Tally**: friendly, and easy to say in a stand-up.",
            ),
            ("Something less finance-sounding?", "1. **Lookout**\n2. **Pulse**\n3. **Compass**"),
            (
                "Pulse it is. Write a one-line description.",
                "Pulse: see what every agent run costs, how long it takes, and when it starts to "
                "go "
                "wrong.",
            ),
        ),
    ),
)

_ERROR_MESSAGES: dict[str, dict[str, tuple[tuple[str, int | None], ...]]] = {
    RuntimeName.CLAUDE: {
        ErrorClass.AUTH: (("401 authentication_error: invalid x-api-key", 401),),
        ErrorClass.RATE_LIMIT: (
            (
                "429 rate_limit_error: This request would exceed your organization's rate limit of "
                "80,000 input tokens per minute (gave up after 2 retries)",
                429,
            ),
        ),
        ErrorClass.SERVER_ERROR: (
            ("529 overloaded_error: Overloaded", 529),
            ("500 api_error: Internal server error", 500),
        ),
        ErrorClass.BAD_REQUEST: (
            (
                "400 invalid_request_error: prompt is too long: 214,311 tokens > 200,000 maximum",
                400,
            ),
        ),
    },
    RuntimeName.CODEX: {
        ErrorClass.AUTH: (
            (
                "401 invalid_api_key: Incorrect API key provided. You can find your API key at "
                "https://platform.openai.com/account/api-keys.",
                401,
            ),
        ),
        ErrorClass.RATE_LIMIT: (
            (
                "429 rate_limit_exceeded: Rate limit reached on tokens per min (TPM): Limit "
                "500000, Used 498211, Requested 9102. Please try again in 1.1s.",
                429,
            ),
        ),
        ErrorClass.SERVER_ERROR: (
            (
                "500 server_error: The server had an error while processing your request. Sorry "
                "about that!",
                500,
            ),
            ("503 Service Unavailable", 503),
        ),
        ErrorClass.BAD_REQUEST: (
            (
                "400 context_length_exceeded: Your input exceeds the context window of this model.",
                400,
            ),
        ),
    },
    RuntimeName.OPENAI_COMPATIBLE: {
        ErrorClass.AUTH: (("401 Unauthorized: the server expects an API key", 401),),
        ErrorClass.RATE_LIMIT: (("429 Too Many Requests: server busy, retry later", 429),),
        ErrorClass.SERVER_ERROR: (
            ("500: model requires more system memory (11.2 GiB) than is available (9.8 GiB)", 500),
        ),
        ErrorClass.BAD_REQUEST: (('400: model "{model}" not found, try pulling it first', 400),),
        ErrorClass.NETWORK: (
            (f"Connection refused: {LOCAL_BASE_URL} (is the server running?)", None),
        ),
    },
}
_GENERIC_ERRORS: dict[str, str] = {
    ErrorClass.TIMEOUT: "Request timed out after {seconds} s",
    ErrorClass.STALLED: "No data from the stream for 60 s; gave up (stall timeout)",
    ErrorClass.STREAM_INTERRUPTED: "The connection closed before the response was complete "
    "(peer closed connection without sending complete message body)",
    ErrorClass.NETWORK: "Could not connect to the API: connection reset by peer",
}
_KILLED_MESSAGE = "Killed by the user; the output streamed so far was kept."
_INTERRUPTED_MESSAGE = (
    "The process running this dispatch ended before it finished (a crash, kill -9 or power "
    "loss). The output streamed until its last checkpoint was kept."
)

# =============================================================================================
# The generator


@dataclass(slots=True)
class _Agent:
    spec: _AgentSpec
    record: DemoAgent
    starts: list[int]  # each version's creation time, for bisect
    recent: list[str] = field(default_factory=list)  # recent run ids, for replays


@dataclass(slots=True)
class _Turn:
    """A planned run: its time is known before the stream reaches it (threads, cron)."""

    started_at: int
    item: RunItem


@dataclass(slots=True)
class _Outcome:
    status: str
    error_class: str | None = None


class DemoGenerator:
    """Generates the demo rows; pure apart from reading the price book.

    catalog(): agents, versions, threads and messages. runs(): every run, oldest first, as
    (NewRun, RunEnd, actions) for ExecutionLog.ingest; a fresh iterator gives the same runs.
    """

    def __init__(
        self,
        prices: PriceBook,
        *,
        runs: int = DEFAULT_RUNS,
        actions: int | None = None,
        seed: int = DEFAULT_SEED,
        now_ms: int | None = None,
        taken_names: set[str] | frozenset[str] = frozenset(),
    ) -> None:
        self.prices = prices
        self.total = runs
        self.target_actions = actions
        self.seed = seed
        self.end_ms = demo_now_ms(now_ms)
        self.start_ms = self.end_ms - DAYS * DAY_MS
        self._taken = {name.lower() for name in taken_names}
        self._agents = self._make_agents()
        self._by_name = {a.spec.name: a for a in self._agents}
        self._agent_cum = list(
            itertools.accumulate([a.spec.weight for a in self._agents] + [_DIRECT_WEIGHT])
        )
        self._direct_cum = list(itertools.accumulate(w for _, w in _DIRECT_TARGETS))
        self._threads, planned = self._plan_threads()
        planned.extend(self._plan_cron())
        planned.sort(key=lambda t: t.started_at)
        self._planned = planned

    # -- ids and randomness -----------------------------------------------------------------

    def _rng(self, purpose: str) -> random.Random:
        return random.Random(f"ato-demo:{self.seed}:{purpose}")

    @staticmethod
    def _id(ms: int, rng: random.Random) -> str:
        """A UUIDv7 for time ms whose random bits come from rng (so: reproducible)."""
        bits = rng.getrandbits(74)
        value = (ms & ((1 << 48) - 1)) << 80
        value |= 0x7 << 76
        value |= (bits >> 62) << 64
        value |= 0b10 << 62
        value |= bits & ((1 << 62) - 1)
        return uuid.UUID(int=value).hex

    def _at(self, day: float) -> int:
        return self.start_ms + int(day * DAY_MS)

    # -- catalogue -------------------------------------------------------------------------

    def catalog(self) -> DemoCatalog:
        return DemoCatalog(tuple(a.record for a in self._agents), tuple(self._threads))

    def _make_agents(self) -> list[_Agent]:
        rng = self._rng("agents")
        agents = []
        for spec in _AGENTS:
            name = spec.name
            if name.lower() in self._taken:  # the user has an agent of that name: keep theirs
                name = f"{name}-demo"
            versions = []
            for number, version in enumerate(spec.versions, 1):
                # Changes land in working hours, a few minutes past something.
                at = self._at(version.day) + _between(rng, 0, 50) * 60_000
                versions.append(
                    DemoVersion(
                        self._id(at, rng), number, at, version.config, version.change_source
                    )
                )
            record = DemoAgent(self._id(versions[0].created_at, rng), name, tuple(versions))
            agents.append(_Agent(spec, record, [v.created_at for v in versions]))
        return agents

    def _version(self, agent: _Agent, at: int) -> tuple[DemoVersion, _VersionSpec]:
        index = max(0, bisect.bisect_right(agent.starts, at) - 1)
        return agent.record.versions[index], agent.spec.versions[index]

    # -- planned runs: chat threads and the daily cron ------------------------------------

    def _plan_threads(self) -> tuple[list[DemoThread], list[_Turn]]:
        rng = self._rng("threads")
        count = max(4, min(120, self.total // 40))
        threads: list[DemoThread] = []
        turns: list[_Turn] = []
        for index in range(count):
            agent_name, script = _CONVERSATIONS[index % len(_CONVERSATIONS)]
            agent = self._by_name.get(agent_name) if agent_name else None
            # Spread over the month, in working hours, never past "now".
            day = (index + rng.random()) * (DAYS - 1) / count
            at = self.start_ms + int(day) * DAY_MS + _between(rng, 8 * 60, 18 * 60) * 60_000
            if agent is not None:
                version, vspec = self._version(agent, at)
                config, behaviour = version.config, vspec.behaviour
            else:
                config = _DIRECT_TARGETS[index % 2][0]
                behaviour = _DIRECT_BEHAVIOUR
            thread_id = self._id(at, rng)
            history: list[dict[str, str]] = []
            messages: list[DemoMessage] = []
            t = at
            # Now and then the second turn goes wrong: killed (the answer was going the wrong
            # way) or rate-limited, and the user asks again.
            plan = [
                (question, answer, _Outcome(RunStatus.COMPLETED)) for question, answer in script
            ]
            if len(plan) > 1 and index % 5 == 3:
                plan[1] = (plan[1][0], plan[1][1], _Outcome(RunStatus.KILLED, ErrorClass.KILLED))
            elif len(plan) > 1 and index % 7 == 5:
                plan.insert(
                    1, (plan[1][0], plan[1][1], _Outcome(RunStatus.FAILED, ErrorClass.RATE_LIMIT))
                )
            for question, answer, outcome in plan:
                run_id = self._id(t, rng)
                item, text = self._make_run(
                    rng,
                    run_id,
                    t,
                    agent,
                    config,
                    behaviour,
                    Trigger.UI,
                    outcome,
                    prompt=question,
                    answer=answer,
                    history=history,
                    tool_calls=0,
                    thread_id=thread_id,
                )
                messages.append(DemoMessage("user", question, t, run_id))
                end = item[1]
                if text:
                    messages.append(DemoMessage("assistant", text, end.ended_at, run_id))
                turns.append(_Turn(t, item))
                history = [*history, {"role": "user", "content": question}]
                if text:
                    history.append({"role": "assistant", "content": text})
                # The next turn: after reading the answer, a minute or a few.
                t = end.ended_at + _between(rng, 20_000, 6 * 60_000)
                if t >= self.end_ms:
                    break
            threads.append(
                DemoThread(
                    thread_id,
                    " ".join(script[0][0].split())[:120],
                    at,
                    agent.record.id if agent else None,
                    config.runtime,
                    config.model,
                    tuple(messages),
                )
            )
        return threads, turns

    def _plan_cron(self) -> list[_Turn]:
        """release-notes runs every weekday at 09:00 from the scheduler."""
        agent = self._by_name["release-notes"]
        rng = self._rng("cron")
        turns: list[_Turn] = []
        budget = self.total // 6  # small builds: leave room for everything else
        for day in range(DAYS):
            at = self.start_ms + day * DAY_MS + 9 * HOUR_MS + _between(rng, 0, 4_000)
            if at >= self.end_ms or len(turns) >= budget:
                break
            if datetime.fromtimestamp(at / 1000, UTC).weekday() >= 5:
                continue
            version, vspec = self._version(agent, at)
            run_id = self._id(at, rng)
            item, _text = self._make_run(
                rng,
                run_id,
                at,
                agent,
                version.config,
                vspec.behaviour,
                Trigger.CRON,
                self._pick_outcome(rng, vspec.behaviour, version.config, at),
                tags={"schedule": "release-notes-daily", "cron": "0 9 * * 1-5"},
            )
            turns.append(_Turn(at, item))
        return turns

    # -- the stream ------------------------------------------------------------------------

    def runs(self) -> Iterator[RunItem]:
        """Every run, oldest first: the generated ones merged with the planned ones."""
        planned = iter(self._planned)
        upcoming = next(planned, None)
        for started_at, item in self._stream(self.total - len(self._planned)):
            while upcoming is not None and upcoming.started_at <= started_at:
                yield upcoming.item
                upcoming = next(planned, None)
            yield item
        while upcoming is not None:
            yield upcoming.item
            upcoming = next(planned, None)

    def _stream(self, count: int) -> Iterator[tuple[int, RunItem]]:
        rng = self._rng("runs")
        hours, cumulative = self._hour_weights()
        total_weight = cumulative[-1]
        forced = self._forced_outcomes(rng, count)
        for each in self._agents:
            each.recent.clear()
        last = self.start_ms
        # With a target number of actions, the stream makes up what the planned runs (chat
        # turns, cron) and tool-less runs do not: each agent run's tool loop is sized from the
        # shortfall so far, so the total lands on the target whatever the failures cut short.
        per_run = made = 0.0
        if self.target_actions is not None and count:
            planned_actions = sum(len(turn.item[2]) for turn in self._planned)
            per_run = max(1.0, (self.target_actions - planned_actions) / count)
        for i in range(count):
            # Stratified: run i falls in the i-th slice of the month's traffic, so times ascend.
            target = (i + rng.random()) / count * total_weight
            h = min(bisect.bisect_left(cumulative, target), len(hours) - 1)
            before = cumulative[h - 1] if h else 0.0
            share = (target - before) / (cumulative[h] - before)
            started = max(last, self.start_ms + h * HOUR_MS + int(share * HOUR_MS))
            last = started
            force = forced.get(i)
            agent = self._pick_agent(rng, force)
            if agent is not None:
                version, vspec = self._version(agent, started)
                config, behaviour = version.config, vspec.behaviour
                trigger = _weighted(rng, agent.spec.triggers)
            else:
                pick = bisect.bisect(self._direct_cum, rng.random() * self._direct_cum[-1])
                if force is not None:  # an auth failure on codex, the rest on claude
                    pick = 1 if force[1] == ErrorClass.AUTH else 0
                config = _DIRECT_TARGETS[pick][0]
                behaviour = _DIRECT_BEHAVIOUR
                trigger = Trigger.UI if rng.random() < 0.7 else Trigger.CLI
            if force is not None:
                outcome = _Outcome(*force)
            else:
                outcome = self._pick_outcome(rng, behaviour, config, started)
            replay_of = None
            if trigger == Trigger.REPLAY:
                if agent is not None and agent.recent:
                    replay_of = rng.choice(agent.recent)
                else:
                    trigger = Trigger.CLI
            tags: dict[str, str] = {}
            if trigger == Trigger.EVAL:
                tags = {
                    "eval": f"{agent.spec.name if agent else 'chat'}-golden",
                    "case": f"c-{_between(rng, 1, 60):03d}",
                }
            elif trigger == Trigger.HOOK:
                tags = {
                    "hook": "pre-push" if rng.random() < 0.6 else "pull_request",
                    "repo": "acme/monorepo",
                }
            run_id = self._id(started, rng)
            tool_calls = None
            if per_run and agent is not None and agent.spec.tools:
                low, high = behaviour.tool_calls
                usual = _between(rng, low, high + 1)
                # 2 actions per tool call (the call, then the model reading its result) + 1.
                wanted = ((i + 1) * per_run - made - 1) / 2
                # Beyond the steady agents' usual loop: a version with longer loops keeps them.
                extra = wanted * rng.uniform(0.5, 1.5) - sum(_STEADY.tool_calls) / 2
                tool_calls = usual + min(max(0, round(extra)), int(2 * per_run))
            item, _ = self._make_run(
                rng,
                run_id,
                started,
                agent,
                config,
                behaviour,
                trigger,
                outcome,
                replay_of=replay_of,
                tags=tags,
                tool_calls=tool_calls,
            )
            made += len(item[2])
            if agent is not None:
                agent.recent.append(run_id)
                if len(agent.recent) > 32:
                    del agent.recent[0]
            yield started, item

    def _hour_weights(self) -> tuple[list[float], list[float]]:
        """Traffic per hour of the month: working hours, quieter weekends, slowly growing."""
        by_hour = (
            0.12,
            0.1,
            0.08,
            0.08,
            0.1,
            0.15,
            0.3,
            0.55,
            0.85,
            1.0,
            1.0,
            1.0,
            0.8,
            0.9,
            1.0,
            1.0,
            0.95,
            0.8,
            0.6,
            0.45,
            0.35,
            0.3,
            0.22,
            0.16,
        )
        weights = []
        for h in range(DAYS * 24):
            at = self.start_ms + h * HOUR_MS
            moment = datetime.fromtimestamp(at / 1000, UTC)
            weekend = 0.35 if moment.weekday() >= 5 else 1.0
            growth = 0.8 + 0.4 * h / (DAYS * 24)
            weights.append(by_hour[moment.hour] * weekend * growth)
        return weights, list(itertools.accumulate(weights))

    def _forced_outcomes(self, rng: random.Random, count: int) -> dict[int, tuple[str, str]]:
        """A few runs that make sure every status and failure class appears in every build."""
        slots = rng.sample(range(count), len(_REQUIRED_OUTCOMES))
        return {
            slot: (str(status), str(error))
            for slot, (status, error) in zip(slots, _REQUIRED_OUTCOMES, strict=True)
        }

    def _pick_agent(self, rng: random.Random, force: tuple[str, str] | None) -> _Agent | None:
        if force is not None:
            return None  # no agent, no config version: forced outcomes never fake a regression
        index = bisect.bisect(self._agent_cum, rng.random() * self._agent_cum[-1])
        return self._agents[index] if index < len(self._agents) else None

    def _pick_outcome(
        self, rng: random.Random, behaviour: _Behaviour, config: AgentConfig, at: int
    ) -> _Outcome:
        day = (at - self.start_ms) / DAY_MS
        if config.runtime == RuntimeName.CODEX and _AUTH_INCIDENT[0] <= day < _AUTH_INCIDENT[1]:
            return _Outcome(RunStatus.FAILED, ErrorClass.AUTH)
        roll = rng.random()
        if roll < behaviour.fail_rate:
            return _Outcome(RunStatus.FAILED, _weighted(rng, behaviour.failures))
        roll -= behaviour.fail_rate
        if roll < _KILL_RATE:
            return _Outcome(RunStatus.KILLED, ErrorClass.KILLED)
        if roll - _KILL_RATE < _INTERRUPT_RATE:
            return _Outcome(RunStatus.INTERRUPTED, ErrorClass.INTERRUPTED)
        return _Outcome(RunStatus.COMPLETED)

    # -- one run ---------------------------------------------------------------------------

    def _make_run(
        self,
        rng: random.Random,
        run_id: str,
        started: int,
        agent: _Agent | None,
        config: AgentConfig,
        behaviour: _Behaviour,
        trigger: str,
        outcome: _Outcome,
        *,
        prompt: str | None = None,
        answer: str | None = None,
        history: Sequence[dict[str, str]] = (),
        tool_calls: int | None = None,
        thread_id: str | None = None,
        replay_of: str | None = None,
        tags: dict[str, str] | None = None,
    ) -> tuple[RunItem, str]:
        """One run with its actions; returns it and the answer text the user saw (or "")."""
        topic = agent.spec.topic if agent else "chat"
        tools = agent.spec.tools if agent else ()
        if prompt is None or answer is None:
            prompt, answer, tool_steps = _content(rng, topic)
        else:
            tool_steps = []
        if tool_calls is None:
            low, high = behaviour.tool_calls
            tool_calls = _between(rng, low, high + 1) if tools else 0
        steps = _tool_plan(rng, topic, tools, tool_steps, tool_calls)
        speed = _SPEEDS[config.model]
        messages: list[dict[str, Any]] = [*history, {"role": "user", "content": prompt}]
        # Where the run stops early: failures and kills hit one of its LLM calls.
        llm_calls = len(steps) + 1
        stop_at = llm_calls - 1
        if outcome.status != RunStatus.COMPLETED:
            stop_at = _between(rng, 0, llm_calls) if llm_calls > 1 else 0
        actions: list[NewAction] = []
        t = started + _between(rng, 3, 40)
        first_ttft: int | None = None
        cached = context = 0
        text = ""
        for call in range(llm_calls):
            last_call = call == stop_at
            is_final = call == llm_calls - 1
            status = outcome.status if last_call else RunStatus.COMPLETED
            planned_text = answer if is_final else _tool_call_text(steps[call])
            action, text, cached = self._llm_action(
                rng,
                t,
                config,
                behaviour,
                speed,
                messages,
                planned_text,
                is_final,
                status,
                outcome.error_class if last_call else None,
                call,
                cached,
                context,
            )
            actions.append(action)
            if first_ttft is None and action.ttft_ns is not None:
                first_ttft = action.ttft_ns
            t = (action.ended_at or t) + _between(rng, 2, 25)
            if last_call:
                break
            name, inputs, outputs = steps[call]
            tool, tokens = _tool_action(rng, t, name, inputs, outputs)
            context += tokens
            actions.append(tool)
            t = (tool.ended_at or t) + _between(rng, 2, 25)
            messages = [
                *messages,
                {"role": "assistant", "content": planned_text},
                {"role": "tool", "content": _short_json(tool.outputs)},
            ]
        ended = t
        end = RunEnd(
            status=outcome.status,
            ended_at=ended,
            duration_ns=(ended - started) * MS + _between(rng, 0, MS),
            ttft_ns=first_ttft,
            error_class=actions[-1].error_class if outcome.status != RunStatus.COMPLETED else None,
            error_message=actions[-1].error_message
            if outcome.status != RunStatus.COMPLETED
            else None,
        )
        new = NewRun(
            runtime=config.runtime,
            model=config.model,
            trigger=str(trigger),
            started_at=started,
            agent_id=agent.record.id if agent else None,
            agent_version_id=self._version(agent, started)[0].id if agent else None,
            thread_id=thread_id,
            replay_of=replay_of,
            tags=tags or {},
            is_demo=True,
            id=run_id,
        )
        shown = text if outcome.status in (RunStatus.COMPLETED, RunStatus.KILLED) else ""
        return (new, end, actions), shown

    def _llm_action(
        self,
        rng: random.Random,
        t: int,
        config: AgentConfig,
        behaviour: _Behaviour,
        speed: _ModelSpeed,
        messages: list[dict[str, Any]],
        planned_text: str,
        is_final: bool,
        status: str,
        error_class: str | None,
        call: int,
        cached: int,
        context: int,
    ) -> tuple[NewAction, str, int]:
        runtime = config.runtime
        system = config.system_prompt
        # Prompt size: the system prompt, the conversation so far, tool results (~4 chars/token).
        # What tools returned is in the prompt in full; the log keeps a summary of it.
        prompt_tokens = 40 + context + sum(len(str(m["content"])) for m in messages) // 4
        if system:
            # Tool schemas and the few-shot examples agents carry with their instructions.
            prompt_tokens += len(system) // 4 + 2_200
        prompt_tokens = int(prompt_tokens * rng.uniform(1.0, 1.35))
        if is_final:
            low, high = behaviour.answer_tokens
            out_tokens = _between(rng, low, high + 1)
        else:
            out_tokens = _between(rng, 35, 140 + 1)
        reasoning = 0
        if speed.reasoning[1]:
            share = rng.uniform(*speed.reasoning)
            reasoning = int(out_tokens * share / (1 - share))
            out_tokens += reasoning
        cache_read = cache_write = 0
        if runtime == RuntimeName.CLAUDE and system:
            # Prompt caching: the first call writes the prefix, later calls read it.
            if call == 0:
                cache_write = min(prompt_tokens, len(system) // 4 + 2_200)
            else:
                cache_read = min(cached, prompt_tokens)
                cache_write = max(0, prompt_tokens - cache_read) // 2
        elif runtime == RuntimeName.CODEX and call > 0 and cached >= 1024:
            cache_read = min(prompt_tokens, cached - cached % 128)
        jitter = math.exp(rng.gauss(0, 0.3))
        ttft_ms = speed.ttft_ms * behaviour.latency * jitter * (1 + prompt_tokens / 40_000)
        gen_ms = out_tokens / speed.tokens_per_s * 1000 * behaviour.latency * jitter
        inputs: dict[str, Any] = {"runtime": runtime, "model": config.model, "messages": messages}
        if system and call == 0:
            inputs["system"] = system
        if config.params and call == 0:
            inputs["params"] = dict(config.params)
        meta: dict[str, Any] = {"response_model": config.model}
        if config.base_url:
            meta["base_url"] = config.base_url
        text = planned_text
        usage: TokenUsage | None = TokenUsage(
            prompt_tokens, out_tokens, cache_read, cache_write, reasoning
        )
        estimated = False
        outcome = Outcome.SUCCESS
        message: str | None = None
        finish = "stop" if is_final else "tool_calls"
        ttft_ns: int | None = int(ttft_ms * MS)
        duration_ms = ttft_ms + gen_ms
        if status == RunStatus.COMPLETED:
            meta["response_id"] = _response_id(rng, runtime)
        else:
            outcome = Outcome.ERROR
            finish = ""
            assert error_class is not None
            message, code = _error_message(rng, runtime, error_class, config.model)
            if code is not None:
                meta["status_code"] = code
            if error_class in (
                ErrorClass.KILLED,
                ErrorClass.INTERRUPTED,
                ErrorClass.STALLED,
                ErrorClass.STREAM_INTERRUPTED,
            ):
                # Part of the answer streamed, then it stopped: no usage from the provider, so
                # the tokens are estimated.
                part = rng.uniform(0.15, 0.8)
                text = _cut(planned_text, part)
                usage = TokenUsage(prompt_tokens, max(1, int(out_tokens * part)))
                estimated = True
                duration_ms = ttft_ms + gen_ms * part
                if error_class == ErrorClass.STALLED:
                    duration_ms += 60_000
            else:
                # Never reached the model, or it refused before answering: nothing spent.
                text, usage, ttft_ns = "", None, None
                waits: dict[str, float] = {
                    ErrorClass.AUTH: rng.uniform(140, 420),
                    ErrorClass.RATE_LIMIT: rng.uniform(2_500, 9_000),  # after the SDK's retries
                    ErrorClass.TIMEOUT: rng.uniform(120_000, 600_000),
                    ErrorClass.BAD_REQUEST: rng.uniform(180, 900),
                    ErrorClass.NETWORK: rng.uniform(3, 40),
                }
                duration_ms = waits.get(error_class, rng.uniform(600, 4_000))
                if error_class == ErrorClass.TIMEOUT:
                    message = _GENERIC_ERRORS[ErrorClass.TIMEOUT].format(
                        seconds=int(duration_ms / 1000)
                    )
        outputs: dict[str, Any] = {"text": text}
        if finish:
            outputs["finish_reason"] = finish
        if status != RunStatus.COMPLETED and text:
            outputs["partial"] = True
        if not is_final and status == RunStatus.COMPLETED:
            outputs["tool_calls"] = 1
        cost_usd: float | None = None
        cost_source: CostSource | None = None
        if usage is not None:
            cost = self.prices.cost(
                runtime, config.model, usage, at=datetime.fromtimestamp(t / 1000, UTC)
            )
            cost_usd, cost_source = cost.usd, cost.source
        duration_ns = int(duration_ms * MS)
        action = NewAction(
            name="call_llm",
            kind="llm",
            outcome=outcome,
            started_at=t,
            ended_at=t + int(duration_ms),
            inputs=inputs,
            outputs=outputs,
            usage=usage,
            tokens_estimated=estimated,
            ttft_ns=ttft_ns,
            duration_ns=duration_ns,
            cost_usd=cost_usd,
            cost_source=cost_source,
            error_class=error_class if status != RunStatus.COMPLETED else None,
            error_message=message,
            meta=meta,
        )
        return action, text, prompt_tokens


# =============================================================================================
# Content helpers


def _between(rng: random.Random, low: int, high: int) -> int:
    """A random int in [low, high): random.randrange's result, at a third of its cost."""
    return low + int(rng.random() * (high - low))


def _weighted(rng: random.Random, choices: Sequence[tuple[Any, float]]) -> Any:
    total = sum(w for _, w in choices)
    roll = rng.random() * total
    for value, weight in choices:
        roll -= weight
        if roll < 0:
            return value
    return choices[-1][0]


ToolStep = tuple[str, dict[str, Any], dict[str, Any]]


def _content(rng: random.Random, topic: str) -> tuple[str, str, list[ToolStep]]:
    """A prompt, the final answer, and tool calls that fit them."""
    if topic == "triage":
        name, company, plan = rng.choice(_CUSTOMERS)
        index = _between(rng, 0, len(_TICKETS))
        category, priority, complaint = _TICKETS[index]
        doc, snippet = _DOCS[index]
        ticket = f"T-{_between(rng, 40_000, 60_000)}"
        prompt = (
            f"Ticket {ticket} from {name} ({company}, {plan} plan): {complaint}\n\nClassify it "
            "and draft a reply."
        )
        reply = _TRIAGE_REPLIES[category].format(first=name.split()[0], doc=doc)
        answer = f"Category: {category} · Priority: {priority}\n\n{reply}"
        steps: list[ToolStep] = [
            (
                "search_docs",
                {"query": complaint.split(".")[0][:80].lower(), "top_k": 5},
                {
                    "hits": [
                        {"doc": doc, "score": round(rng.uniform(0.71, 0.93), 2), "snippet": snippet}
                    ]
                },
            ),
            (
                "lookup_ticket",
                {"ticket_id": ticket, "customer": company},
                {
                    "plan": plan,
                    "open_tickets": _between(rng, 0, 4),
                    "last_contact_days": _between(rng, 1, 90),
                    "mrr_usd": rng.choice((49, 290, 1_200, 8_400)),
                },
            ),
        ]
        return prompt, answer, steps
    if topic == "review":
        title, path, review = rng.choice(_REVIEWS)
        number = _between(rng, 1_200, 2_400)
        start = _between(rng, 10, 140)
        prompt = (
            f"Review PR #{number}: {title}\n\nChanged: {path} (+{_between(rng, 8, 160)} "
            f"-{_between(rng, 0, 60)})"
        )
        steps = [
            (
                "read_file",
                {"path": path, "start_line": start, "end_line": start + 40},
                {"path": path, "lines": 40, "sha": f"{rng.getrandbits(28):07x}"},
            )
        ]
        return prompt, review, steps
    if topic == "analyst":
        question, sql, columns, rows, answer = rng.choice(_QUESTIONS)
        steps = [
            (
                "run_sql",
                {"sql": sql, "database": "analytics", "timeout_s": 30},
                {
                    "columns": columns,
                    "rows": rows,
                    "row_count": len(rows),
                    "elapsed_ms": _between(rng, 40, 2_400),
                },
            )
        ]
        return question, answer, steps
    if topic == "notes":
        minor = _between(rng, 10, 30)
        items = rng.sample(_RELEASE_ITEMS, 4)
        prompt = f"Write the release notes for v2.{minor}.0 from these merged PRs:\n" + "\n".join(
            f"- #{_between(rng, 1_200, 2_400)} {item}" for item in items
        )
        features = [i.split(": ", 1)[1] for i in items if i.startswith("feat")]
        fixes = [i.split(": ", 1)[1] for i in items if i.startswith(("fix", "perf"))]
        answer = (
            f"## Release 2.{minor}.0\n\n### Features\n"
            + ("\n".join(f"- {f[0].upper()}{f[1:]}." for f in features) or "- No new features.")
            + "\n\n### Fixes\n"
            + ("\n".join(f"- {f[0].upper()}{f[1:]}." for f in fixes) or "- No fixes.")
        )
        steps = [
            (
                "git_log",
                {"since": f"v2.{minor - 1}.0", "until": "HEAD", "merges_only": True},
                {"commits": len(items), "authors": _between(rng, 2, 7)},
            )
        ]
        return prompt, answer, steps
    if topic == "summary":
        path, title, bullets = rng.choice(_DOCUMENTS)
        prompt = f"Summarise {path} ({title})."
        steps = [
            (
                "read_file",
                {"path": path},
                {"path": path, "bytes": _between(rng, 2_000, 14_000), "title": title},
            )
        ]
        return prompt, bullets, steps
    question, answer = rng.choice(_CHAT_PAIRS)
    return question, answer, []


def _tool_plan(
    rng: random.Random,
    topic: str,
    tools: Sequence[str],
    steps: list[ToolStep],
    calls: int,
) -> list[ToolStep]:
    """calls tool steps: the ones the content suggested, then more searches of the same kind."""
    if not tools or calls <= 0:
        return []
    plan = list(steps[:calls])
    while len(plan) < calls:
        name, inputs, outputs = steps[len(plan) % len(steps)] if steps else (tools[0], {}, {})
        extra = dict(inputs)
        if name == "search_docs":
            term = rng.choice(
                ("billing", "sso", "webhooks", "exports", "limits", "regions", "audit", "roles")
            )
            extra = {"query": f"{inputs.get('query', '')} {term}".strip(), "top_k": 10}
        plan.append((name, extra, outputs))
    return plan


def _tool_call_text(step: ToolStep) -> str:
    name, inputs, _ = step
    return f"Calling {name} with {_short_json(inputs)}"


_TOOL_RESULT_TOKENS: dict[str, tuple[int, int]] = {
    "search_docs": (2_000, 5_500),  # five hits with their passages
    "lookup_ticket": (300, 900),
    "read_file": (1_200, 4_800),
    "run_sql": (150, 1_500),
    "git_log": (500, 2_400),
}


def _tool_action(
    rng: random.Random, t: int, name: str, inputs: dict[str, Any], outputs: dict[str, Any]
) -> tuple[NewAction, int]:
    """One tool call and the tokens its full result adds to the next prompt."""
    duration_ms = {
        "search_docs": rng.uniform(60, 420),
        "lookup_ticket": rng.uniform(30, 180),
        "read_file": rng.uniform(2, 25),
        "run_sql": rng.uniform(40, 2_400),
        "git_log": rng.uniform(15, 120),
    }.get(name, rng.uniform(20, 400))
    # Now and then a tool fails and the model carries on without it.
    if rng.random() < 0.02:
        failed = NewAction(
            name=name,
            kind="tool",
            outcome=Outcome.ERROR,
            started_at=t,
            ended_at=t + int(duration_ms),
            inputs=inputs,
            outputs={"error": "upstream returned 503; no results"},
            duration_ns=int(duration_ms * MS),
            error_class="tool_error",
            error_message=f"{name}: upstream returned 503",
        )
        return failed, 20
    low, high = _TOOL_RESULT_TOKENS.get(name, (200, 800))
    tokens = _between(rng, low, high) * max(1, int(inputs.get("top_k", 5))) // 5
    done = NewAction(
        name=name,
        kind="tool",
        outcome=Outcome.SUCCESS,
        started_at=t,
        ended_at=t + int(duration_ms),
        inputs=inputs,
        outputs={**outputs, "result_chars": tokens * 4},
        duration_ns=int(duration_ms * MS),
    )
    return done, tokens


def _error_message(
    rng: random.Random, runtime: str, error_class: str, model: str
) -> tuple[str, int | None]:
    if error_class == ErrorClass.KILLED:
        return _KILLED_MESSAGE, None
    if error_class == ErrorClass.INTERRUPTED:
        return _INTERRUPTED_MESSAGE, None
    options = _ERROR_MESSAGES.get(runtime, {}).get(error_class)
    if options:
        text, code = rng.choice(options)
        return text.replace("{model}", model), code
    return _GENERIC_ERRORS.get(error_class, error_class), None


def _response_id(rng: random.Random, runtime: str) -> str:
    if runtime == RuntimeName.CLAUDE:
        return f"msg_01{rng.getrandbits(120):030x}"[:30]
    if runtime == RuntimeName.CODEX:
        return f"resp_{rng.getrandbits(192):048x}"
    return f"chatcmpl-{_between(rng, 100, 999)}"


def _cut(text: str, share: float) -> str:
    cut = max(1, int(len(text) * share))
    space = text.rfind(" ", 0, cut)
    return text[: space if space > 0 else cut]


def _short_json(value: Any, limit: int = 240) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    return text if len(text) <= limit else text[: limit - 1] + "…"
