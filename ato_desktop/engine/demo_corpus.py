"""The demo workspace's corpus: its cast (agents, their config versions and how each version
behaves) and its words (tickets, reviews, questions, documents, conversations, error messages).

Static data only; `engine.demo_generator` turns it into rows. Changing anything here changes the
rows a seed gives: bump `engine.demo.GENERATOR_VERSION` with it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ato_desktop.core.models import AgentConfig, ErrorClass, RunStatus, RuntimeName, Trigger

REGRESSED_AGENT = "support-triage"
"""The agent whose version 3 made it worse (what regression detection must find)."""

LOCAL_BASE_URL = "http://localhost:11434/v1"

# -- the cast: agents, their versions and how each version behaves ----------------------------


@dataclass(frozen=True, slots=True)
class Behaviour:
    """How runs of one config version go."""

    fail_rate: float
    latency: float = 1.0  # multiplies TTFT and generation time
    tool_calls: tuple[int, int] = (0, 0)  # min, max per run
    answer_tokens: tuple[int, int] = (250, 700)
    failures: tuple[tuple[str, float], ...] = ()  # error class -> weight


USUAL_FAILURES: tuple[tuple[str, float], ...] = (
    (ErrorClass.RATE_LIMIT, 30),
    (ErrorClass.SERVER_ERROR, 25),
    (ErrorClass.STREAM_INTERRUPTED, 15),
    (ErrorClass.TIMEOUT, 10),
    (ErrorClass.BAD_REQUEST, 10),
    (ErrorClass.STALLED, 6),
    (ErrorClass.AUTH, 4),
)
LOCAL_FAILURES: tuple[tuple[str, float], ...] = (
    (ErrorClass.NETWORK, 35),
    (ErrorClass.SERVER_ERROR, 25),
    (ErrorClass.TIMEOUT, 15),
    (ErrorClass.STALLED, 15),
    (ErrorClass.BAD_REQUEST, 10),
)
# The regression: exhaustive answers and many tool calls hit every limit there is.
OVERLOADED_FAILURES: tuple[tuple[str, float], ...] = (
    (ErrorClass.TIMEOUT, 34),
    (ErrorClass.RATE_LIMIT, 26),
    (ErrorClass.STALLED, 18),
    (ErrorClass.BAD_REQUEST, 12),
    (ErrorClass.STREAM_INTERRUPTED, 10),
)


@dataclass(frozen=True, slots=True)
class VersionSpec:
    day: float  # days after the month starts; negative: before it
    config: AgentConfig
    behaviour: Behaviour
    change_source: str = "ui"


@dataclass(frozen=True, slots=True)
class AgentSpec:
    name: str
    weight: float
    triggers: tuple[tuple[str, float], ...]
    tools: tuple[str, ...]
    versions: tuple[VersionSpec, ...]
    topic: str  # key into _PROMPTS / _ANSWERS


@dataclass(frozen=True, slots=True)
class ModelSpeed:
    ttft_ms: float  # median time to first token
    tokens_per_s: float
    reasoning: tuple[float, float] = (0.0, 0.0)  # share of output tokens spent reasoning


SPEEDS: dict[str, ModelSpeed] = {
    "claude-sonnet-5": ModelSpeed(720, 62),
    "claude-haiku-4-5": ModelSpeed(380, 125),
    "gpt-5": ModelSpeed(1_650, 74, (0.35, 0.65)),
    "gpt-5-mini": ModelSpeed(820, 118, (0.25, 0.5)),
    "llama3.1:8b": ModelSpeed(260, 48),
    "qwen2.5:14b": ModelSpeed(310, 41),
}

TRIAGE_PROMPT_V1 = (
    "You triage customer support tickets for Acme Cloud. Classify each ticket (billing, bug, "
    "how-to, outage, account), set a priority from P1 to P4, and draft a short, friendly reply. "
    "Use search_docs to cite the help centre when it helps. Never promise refunds; route refund "
    "requests to billing."
)
TRIAGE_PROMPT_V3 = (
    "You are Acme Cloud's senior support engineer. For EVERY ticket: search the documentation "
    "for each product, feature and error message mentioned (call search_docs once per term), "
    "look up the customer's recent tickets with lookup_ticket, and write a complete, exhaustive "
    "answer that quotes every relevant document in full. Be thorough rather than brief."
)
REVIEW_PROMPT = (
    "You review pull requests for a Python and TypeScript monorepo. Point out bugs, missing "
    "tests and risky changes first, style last. Quote the line you mean. Reply in Markdown with "
    "at most 8 bullets; say LGTM when there is nothing to fix."
)
ANALYST_PROMPT = (
    "You answer questions about the analytics warehouse (Postgres). Write one read-only SQL "
    "query at a time with run_sql, check the result, then answer in two or three sentences with "
    "the numbers. Never modify data."
)
NOTES_PROMPT_V1 = (
    "Turn a list of merged pull requests into release notes for customers: group them under "
    "Features, Fixes and Internal, one line each, in plain language."
)
NOTES_PROMPT_V2 = NOTES_PROMPT_V1 + " Leave PR numbers out of Features; keep them in Fixes."
SUMMARY_PROMPT = (
    "Summarise the document in at most five bullet points. Keep names, dates and numbers "
    "exact. No preamble."
)

STEADY = Behaviour(0.04, 1.0, (1, 2), (220, 520), USUAL_FAILURES)

AGENTS: tuple[AgentSpec, ...] = (
    AgentSpec(
        name=REGRESSED_AGENT,
        weight=0.30,
        triggers=(
            (Trigger.UI, 55),
            (Trigger.HOOK, 25),
            (Trigger.CLI, 18),
            (Trigger.REPLAY, 2),
        ),
        tools=("search_docs", "lookup_ticket"),
        topic="triage",
        versions=(
            VersionSpec(
                -12,
                AgentConfig(
                    "claude",
                    "claude-sonnet-5",
                    TRIAGE_PROMPT_V1,
                    params={"temperature": 0.2, "max_tokens": 1024},
                ),
                STEADY,
                "cli",
            ),
            VersionSpec(
                8.4,
                AgentConfig(
                    "claude",
                    "claude-sonnet-5",
                    TRIAGE_PROMPT_V1,
                    params={"temperature": 0.3, "max_tokens": 1024},
                ),
                STEADY,
            ),
            # The change that made it worse (day 21 of 30, about nine days before "now").
            VersionSpec(
                21.45,
                AgentConfig(
                    "claude",
                    "claude-sonnet-5",
                    TRIAGE_PROMPT_V3,
                    params={"temperature": 0.3, "max_tokens": 8192},
                ),
                Behaviour(0.25, 1.6, (2, 4), (600, 1_400), OVERLOADED_FAILURES),
            ),
        ),
    ),
    AgentSpec(
        name="code-reviewer",
        weight=0.20,
        triggers=((Trigger.HOOK, 70), (Trigger.CLI, 20), (Trigger.UI, 8), (Trigger.REPLAY, 2)),
        tools=("read_file",),
        topic="review",
        versions=(
            VersionSpec(
                -20,
                AgentConfig("codex", "gpt-5", REVIEW_PROMPT, params={"reasoning_effort": "medium"}),
                Behaviour(0.035, 1.0, (1, 3), (180, 600), USUAL_FAILURES),
                "cli",
            ),
            # Cheaper model, same quality: a good change (cost drops, latency too).
            VersionSpec(
                15.6,
                AgentConfig(
                    "codex", "gpt-5-mini", REVIEW_PROMPT, params={"reasoning_effort": "medium"}
                ),
                Behaviour(0.035, 1.0, (1, 3), (180, 600), USUAL_FAILURES),
            ),
        ),
    ),
    AgentSpec(
        name="data-analyst",
        weight=0.12,
        triggers=((Trigger.UI, 55), (Trigger.CLI, 45)),
        tools=("run_sql",),
        topic="analyst",
        versions=(
            VersionSpec(
                -8,
                AgentConfig("codex", "gpt-5", ANALYST_PROMPT, params={"reasoning_effort": "high"}),
                Behaviour(0.045, 1.0, (1, 3), (120, 380), USUAL_FAILURES),
                "cli",
            ),
        ),
    ),
    AgentSpec(
        name="release-notes",
        weight=0.06,
        triggers=((Trigger.UI, 60), (Trigger.CLI, 40)),
        tools=("git_log",),
        topic="notes",
        versions=(
            VersionSpec(
                -25,
                AgentConfig(
                    "claude", "claude-haiku-4-5", NOTES_PROMPT_V1, params={"temperature": 0.4}
                ),
                Behaviour(0.03, 1.0, (1, 1), (260, 620), USUAL_FAILURES),
                "cli",
            ),
            VersionSpec(
                25.3,
                AgentConfig(
                    "claude", "claude-haiku-4-5", NOTES_PROMPT_V2, params={"temperature": 0.4}
                ),
                Behaviour(0.03, 1.0, (1, 1), (260, 620), USUAL_FAILURES),
            ),
        ),
    ),
    AgentSpec(
        name="local-summarizer",
        weight=0.17,
        triggers=((Trigger.CLI, 55), (Trigger.HOOK, 30), (Trigger.UI, 15)),
        tools=("read_file",),
        topic="summary",
        versions=(
            VersionSpec(
                -15,
                AgentConfig(
                    "openai-compatible",
                    "llama3.1:8b",
                    SUMMARY_PROMPT,
                    params={"temperature": 0.1, "num_ctx": 8192},
                    base_url=LOCAL_BASE_URL,
                ),
                Behaviour(0.05, 1.0, (0, 1), (140, 360), LOCAL_FAILURES),
                "cli",
            ),
            # A bigger local model: nobody priced it, so its cost is unknown (never $0).
            VersionSpec(
                11.7,
                AgentConfig(
                    "openai-compatible",
                    "qwen2.5:14b",
                    SUMMARY_PROMPT,
                    params={"temperature": 0.1, "num_ctx": 8192},
                    base_url=LOCAL_BASE_URL,
                ),
                Behaviour(0.05, 0.95, (0, 1), (140, 360), LOCAL_FAILURES),
            ),
        ),
    ),
)

# Runs without an agent: the chat's default runtime and model (Settings > Defaults).
DIRECT_TARGETS: tuple[tuple[AgentConfig, float], ...] = (
    (AgentConfig("claude", "claude-sonnet-5"), 45),
    (AgentConfig("codex", "gpt-5-mini"), 30),
    (AgentConfig("claude", "claude-haiku-4-5"), 15),
    (AgentConfig("openai-compatible", "llama3.1:8b", base_url=LOCAL_BASE_URL), 10),
)
DIRECT_WEIGHT = 0.15
DIRECT_BEHAVIOUR = Behaviour(0.035, 1.0, (0, 0), (150, 650), USUAL_FAILURES)

# The 90 minutes after someone rotated the OpenAI key and the old one was still configured.
AUTH_INCIDENT = (12.0 + 10 / 24, 12.0 + 11.5 / 24)  # days after the month starts

# What every run's outcome can be; each appears at least once in any build.
REQUIRED_OUTCOMES: tuple[tuple[str, str | None], ...] = (
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
KILL_RATE = 0.012
INTERRUPT_RATE = 0.004

# -- words: prompts, answers, tool calls


CUSTOMERS = (
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
TICKETS = (
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
DOCS = (
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
TRIAGE_REPLIES = {
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
REVIEWS = (
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
QUESTIONS = (
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
RELEASE_ITEMS = (
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
DOCUMENTS = (
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
CHAT_PAIRS = (
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
CONVERSATIONS: tuple[tuple[str | None, tuple[tuple[str, str], ...]], ...] = (
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

ERROR_MESSAGES: dict[str, dict[str, tuple[tuple[str, int | None], ...]]] = {
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
GENERIC_ERRORS: dict[str, str] = {
    ErrorClass.TIMEOUT: "Request timed out after {seconds} s",
    ErrorClass.STALLED: "No data from the stream for 60 s; gave up (stall timeout)",
    ErrorClass.STREAM_INTERRUPTED: "The connection closed before the response was complete "
    "(peer closed connection without sending complete message body)",
    ErrorClass.NETWORK: "Could not connect to the API: connection reset by peer",
}
KILLED_MESSAGE = "Killed by the user; the output streamed so far was kept."
INTERRUPTED_MESSAGE = (
    "The process running this dispatch ended before it finished (a crash, kill -9 or power "
    "loss). The output streamed until its last checkpoint was kept."
)

TOOL_RESULT_TOKENS: dict[str, tuple[int, int]] = {
    "search_docs": (2_000, 5_500),  # five hits with their passages
    "lookup_ticket": (300, 900),
    "read_file": (1_200, 4_800),
    "run_sql": (150, 1_500),
    "git_log": (500, 2_400),
}


# -- automations: groups, a skill flow, schedules, hooks ------------------------------------
# Agent names are the cast's; the generator swaps in a "-demo" twin where the user has an agent
# of that name.

RELEASE_TRAIN = "release-train"
RELEASE_TRAIN_DESCRIPTION = "Review what a release holds, write its notes, post a summary."
# (stage name, agent, template, timeout s, on failure, retries)
RELEASE_TRAIN_STAGES: tuple[tuple[str, str, str, float | None, str, int], ...] = (
    (
        "review",
        "code-reviewer",
        "Review the changes going into {input}. List anything that should block the release.",
        300.0,
        "stop",
        0,
    ),
    (
        "notes",
        "release-notes",
        "Write the release notes for {input} from this review:\n\n{previous}",
        None,
        "retry",
        1,
    ),
    (
        "summary",
        "local-summarizer",
        "Summarise these release notes in three bullets for the #releases channel:\n\n{previous}",
        120.0,
        "skip",
        0,
    ),
)

SUPPORT_DESK = "support-desk"
SUPPORT_DESK_DESCRIPTION = "Numbers questions to the analyst, tickets to triage."
# (member, pattern, match): the first rule that matches picks the member.
SUPPORT_DESK_RULES: tuple[tuple[str, str, str], ...] = (
    ("data-analyst", r"(?i)\b(how many|average|share|churn|convert|grew)\b", "regex"),
    (REGRESSED_AGENT, "ticket", "contains"),
)
SUPPORT_DESK_DEFAULT = REGRESSED_AGENT
# What people send the desk that no rule catches (the default member answers), and its answer.
SUPPORT_DESK_OTHER: tuple[tuple[str, str], ...] = (
    (
        "Can you explain our SLA credits policy to a customer in plain words?",
        "If we miss our uptime promise in a month, you get a credit on your next invoice: 10% "
        "below 99.9%, 25% below 99%. It's applied automatically; nothing to claim.",
    ),
    (
        "A customer asks whether we are SOC 2 certified and where to find the report.",
        "Yes: we hold a SOC 2 Type II report, renewed every year. Customers on Business and "
        "Enterprise can download it from Settings > Security > Compliance after accepting an NDA.",
    ),
    (
        "Draft a reply thanking a customer for detailed feedback on the new dashboard.",
        "Thank you for taking the time to write this up! I've shared every point with the "
        "dashboard team; the filter bar and the export button are already on their list.",
    ),
)

INCIDENT_REVIEW = "incident-review"
INCIDENT_REVIEW_FILE = "incident-review.md"
INCIDENT_REVIEW_SKILL = """# Incident review
Turns an incident's notes into a summary, its impact in numbers and a customer update.
The steps run in order; each gets the previous step's answer.

## Step 1: Summarise
Agent: local-summarizer
Timeout: 120s
Summarise the incident notes in {input} in at most five bullets.

## Step 2: Impact
Agent: data-analyst
How many customers, tickets and failed requests did this incident touch? Use the warehouse.

{previous}

## Step 3: Customer update
Agent: support-triage
On failure: retry 1
Draft a short, honest update for the customers this incident touched, from:

{previous}
"""
INCIDENT_IMPACT = (
    "312 tickets from 287 customers (9 Enterprise) during the incident; 41,870 requests failed "
    "with 502, 0.8% of the EU region's traffic that day.",
    "58 tickets from 51 customers; 6,214 failed webhook deliveries, all retried successfully "
    "within 24 hours.",
    "No customer-visible impact: 0 tickets, 112 delayed exports that completed within the hour.",
)
INCIDENT_UPDATES = (
    "Between 09:14 and 09:55 UTC some of you saw errors on the EU dashboard. The cause was a "
    "connection limit on our EU gateway; we raised it and added an alert so it cannot recur "
    "silently. Nothing was lost. We're sorry for the disruption.",
    "Some webhook deliveries were delayed on Tuesday. Every delivery has since been retried "
    "and confirmed. We have added monitoring on the delivery queue. Thank you for your "
    "patience.",
)

RELEASE_NOTES_DAILY = "release-notes-daily"
RELEASE_NOTES_DAILY_CRON = "0 9 * * 1-5"
RELEASE_NOTES_DAILY_PROMPT = "Write the release notes for everything merged since the last release."
RELEASE_TRAIN_WEEKLY = "release-train-weekly"
RELEASE_TRAIN_WEEKLY_CRON = "0 16 * * 5"
RELEASE_TRAIN_WEEKLY_PROMPT = "this week's release"

ANNOUNCE_RELEASE = "announce-release"
ANNOUNCE_RELEASE_TEMPLATE = (
    "Turn these release notes into a two-line announcement for customers:\n\n{run.output}"
)
ANNOUNCEMENTS = (
    "New this week: project-level guest roles and nightly audit-log exports to S3. Plus fixes "
    "for SSO loops and large CSV exports. Details in the changelog.",
    "This release makes exports and webhooks more dependable and brings annual billing with a "
    "prorated credit. Thanks to everyone who reported issues!",
)
TRIAGE_FAILURE_DIGEST = "triage-failure-digest"
TRIAGE_FAILURE_DIGEST_TEMPLATE = (
    "Summarise for the on-call channel, in one line, why this triage run failed ({run.id}):"
    "\n\n{run.error}"
)

# -- evals ----------------------------------------------------------------------------------

TRIAGE_SUITE = "triage-golden"
# (case id, ticket, expected category, expected priority)
TRIAGE_CASES: tuple[tuple[str, str, str, str], ...] = (
    ("double-charge", "We were charged twice for March (INV-20931, INV-20977).", "billing", "P2"),
    ("deploys-blocked", "Every deploy fails with ERR_BUILD_CACHE_CORRUPT.", "bug", "P1"),
    ("guest-access", "How do I give a contractor read-only access to one project?", "how-to", "P4"),
    ("eu-502", "The EU dashboard returns 502 for all of our users.", "outage", "P1"),
    (
        "owner-left",
        "Our admin left. How do we transfer ownership of the workspace?",
        "account",
        "P3",
    ),
    ("annual-switch", "Can we switch to annual billing mid-cycle?", "billing", "P3"),
    (
        "sso-loop",
        "SSO login loops back to sign-in since we rotated our certificate.",
        "account",
        "P2",
    ),
    ("csv-cutoff", "CSV export stops at 10,000 rows of 42,000.", "bug", "P3"),
)
ANALYST_SUITE = "analyst-golden"
# (case id, question, a number the answer must state)
ANALYST_CASES: tuple[tuple[str, str, str], ...] = (
    ("churn-regions", "Which regions had monthly churn above 5% last quarter?", "7.41"),
    ("aov-october", "What was our average order value on Enterprise in October?", "1,840.12"),
    ("trial-conversion", "How many trials converted to paid in the last 30 days?", "318"),
    ("top-growth", "Which customer grew its usage the most this month?", "Lotus Freight"),
    ("p1-share", "What share of last week's tickets were P1?", "6.8"),
    ("active-eu", "How many workspaces were active in the EU region yesterday?", "4,212"),
)
