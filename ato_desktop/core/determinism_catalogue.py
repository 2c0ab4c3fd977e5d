"""The determinism findings' vocabulary: severities, issue types, and the catalogue of patterns
with their titles and advice (a recommendation and a before/after Python snippet each), and the
documentation page of each pattern (``docs/determinism/<pattern>.md``, opened from a finding).

An output that differs for identical inputs (``output_varies``) gets the advice that fits what
differed (`VARIATION_ADVICE`, chosen by `core.determinism`): a measured duration, a clock
reading, a minted id, a query's rows, or any other value a tool reads from outside.

The analysis is in `core.determinism`; the scanner that finds patterns in `core.determinism_scan`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

DOCS_DIR = "docs/determinism"
"""Where the pages explaining each pattern live, relative to the project's root."""


def doc_path(pattern: str) -> str:
    """The documentation page of a pattern ("docs/determinism/timestamp_current.md")."""
    return f"{DOCS_DIR}/{pattern}.md"


class Severity(enum.StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class IssueType(enum.StrEnum):
    """What kind of non-determinism a finding is (the spec's list, plus measured variation)."""

    TIMESTAMP = "timestamp"
    RANDOM_VALUE = "random_value"
    FLOATING_POINT = "floating_point"
    UNORDERED_COLLECTION = "unordered_collection"
    EXTERNAL_STATE = "external_state"
    NONDETERMINISTIC_OUTPUT = "nondeterministic_output"

    @property
    def label(self) -> str:
        return _ISSUE_LABELS[self]


_ISSUE_LABELS = {
    IssueType.TIMESTAMP: "Timestamps",
    IssueType.RANDOM_VALUE: "Random values",
    IssueType.FLOATING_POINT: "Floating point",
    IssueType.UNORDERED_COLLECTION: "Ordering",
    IssueType.EXTERNAL_STATE: "External state",
    IssueType.NONDETERMINISTIC_OUTPUT: "Non-deterministic output",
}

SEVERITY_ORDER: Mapping[Severity, int] = {
    Severity.CRITICAL: 0,
    Severity.HIGH: 1,
    Severity.MEDIUM: 2,
    Severity.LOW: 3,
}
"""Most severe first: the order in which findings are scored."""


@dataclass(frozen=True, slots=True)
class Pattern:
    """A kind of finding: its title, issue type, severity, and how to fix it (advice for code,
    and, where it differs, for the model's own output)."""

    title: str
    issue_type: IssueType
    severity: Severity
    recommendation: str
    before: str
    after: str
    model_recommendation: str | None = None
    model_before: str | None = None
    model_after: str | None = None

    def advice(self, *, model: bool) -> tuple[str, str, str]:
        """(recommendation, before, after): the model's variant for what the model wrote."""
        if model and self.model_recommendation is not None:
            return self.model_recommendation, self.model_before or "", self.model_after or ""
        return self.recommendation, self.before, self.after


_PROMPT_DATE_BEFORE = """\
messages = [{"role": "user", "content": "Write today's status report."}]
"""
_PROMPT_DATE_AFTER = """\
# The date is an input: recorded with the run, the same on replay.
messages = [
    {
        "role": "user",
        "content": (
            f"Write the status report for {report_date:%Y-%m-%d}. "
            "Use only this date; do not state the current time."
        ),
    }
]
"""

PATTERNS: Mapping[str, Pattern] = {
    "timestamp_current": Pattern(
        "Timestamp in output",
        IssueType.TIMESTAMP,
        Severity.HIGH,
        "Pass timestamp as input parameter instead.",
        """\
def generate_report(data):
    return {"generated_at": datetime.now(UTC).isoformat(), **summarise(data)}
""",
        """\
def generate_report(data, *, generated_at: datetime):
    # The caller passes the time in; it is recorded with the inputs and replayed as is.
    return {"generated_at": generated_at.isoformat(), **summarise(data)}
""",
        "Pass the date and time in the prompt (an input) and tell the model to use it.",
        _PROMPT_DATE_BEFORE,
        _PROMPT_DATE_AFTER,
    ),
    "epoch_current": Pattern(
        "Epoch timestamp in output",
        IssueType.TIMESTAMP,
        Severity.HIGH,
        "Pass timestamp as input parameter instead of reading the clock.",
        """\
def record_event(event):
    return {**event, "ts": int(time.time())}
""",
        """\
def record_event(event, *, ts: int):
    # ts comes from the caller (or an injected clock), so a replay gets the same value.
    return {**event, "ts": ts}
""",
    ),
    "timestamp_generated": Pattern(
        "Timestamp in output",
        IssueType.TIMESTAMP,
        Severity.MEDIUM,
        "Give the model the timestamps it may use as inputs; a time it makes up differs per run.",
        """\
def stamp(record):
    return {**record, "checked": datetime.now().strftime("%Y-%m-%d %H:%M:%S")}
""",
        """\
def stamp(record, *, checked: datetime):
    return {**record, "checked": checked.strftime("%Y-%m-%d %H:%M:%S")}
""",
        "Give the model the timestamps it may use in the prompt; a time it makes up differs "
        "per run.",
        _PROMPT_DATE_BEFORE,
        _PROMPT_DATE_AFTER,
    ),
    "current_date": Pattern(
        "Current date in output",
        IssueType.TIMESTAMP,
        Severity.MEDIUM,
        "Pass the date as an input parameter instead of taking today's date.",
        """\
def due_date(days: int) -> str:
    return (date.today() + timedelta(days=days)).isoformat()
""",
        """\
def due_date(days: int, *, today: date) -> str:
    return (today + timedelta(days=days)).isoformat()
""",
        "State the date in the prompt so the model does not rely on its own idea of today.",
        _PROMPT_DATE_BEFORE,
        _PROMPT_DATE_AFTER,
    ),
    "relative_date": Pattern(
        "Relative date in output",
        IssueType.TIMESTAMP,
        Severity.LOW,
        "Resolve relative dates against a date passed in, and write absolute dates.",
        """\
def summary(orders):
    return f"{len(orders)} orders today"
""",
        """\
def summary(orders, *, day: date):
    return f"{len(orders)} orders on {day:%Y-%m-%d}"
""",
        "Give the model an explicit date and ask for absolute dates instead of 'today'.",
        _PROMPT_DATE_BEFORE,
        _PROMPT_DATE_AFTER,
    ),
    "uuid": Pattern(
        "UUID in output",
        IssueType.RANDOM_VALUE,
        Severity.HIGH,
        "Derive ids from the inputs (uuid5 over a stable key) or pass them in.",
        """\
order_id = str(uuid.uuid4())
""",
        """\
# The same inputs give the same id, on every run and every replay.
order_id = str(uuid.uuid5(ORDERS_NAMESPACE, f"{customer_id}:{cart_hash}"))
""",
        "Pass the ids the model may use in the prompt, or mint them in code from the inputs.",
        """\
prompt = "Create a ticket for this bug and give it a new id."
""",
        """\
ticket_id = uuid.uuid5(TICKETS_NAMESPACE, bug_report_hash)
prompt = f"Create a ticket for this bug with id {ticket_id}."
""",
    ),
    "random_token": Pattern(
        "Random token in output",
        IssueType.RANDOM_VALUE,
        Severity.MEDIUM,
        "Derive tokens from the inputs with a hash, or pass them in.",
        """\
token = secrets.token_hex(16)
""",
        """\
token = hashlib.sha256(f"{run_key}:{item_id}".encode()).hexdigest()[:32]
""",
    ),
    "random_number": Pattern(
        "Random number in output",
        IssueType.RANDOM_VALUE,
        Severity.MEDIUM,
        "Use a random generator seeded from an input, and record the seed.",
        """\
sample = random.random()
""",
        """\
rng = random.Random(seed)  # seed is an input, recorded with the run
sample = rng.random()
""",
    ),
    "float_noise": Pattern(
        "Floating-point noise",
        IssueType.FLOATING_POINT,
        Severity.MEDIUM,
        "Round floats to the precision that matters, or use Decimal for money.",
        """\
total = price * quantity + shipping  # 0.30000000000000004
""",
        """\
total = (Decimal(str(price)) * quantity + Decimal(str(shipping))).quantize(Decimal("0.01"))
# or: total = round(price * quantity + shipping, 2)
""",
    ),
    "float_unrounded": Pattern(
        "Unrounded float",
        IssueType.FLOATING_POINT,
        Severity.LOW,
        "Round computed floats before returning them; compare with a tolerance.",
        """\
return {"ratio": hits / total}
""",
        """\
return {"ratio": round(hits / total, 6)}
# and compare with math.isclose(a, b, rel_tol=1e-9), never ==
""",
    ),
    "set_repr": Pattern(
        "Set rendered as text",
        IssueType.UNORDERED_COLLECTION,
        Severity.MEDIUM,
        "Sort sets before rendering them; string hashing (and so set order) differs per process.",
        """\
return f"tags: {set(tags)}"
""",
        """\
return f"tags: {sorted(set(tags))}"
""",
    ),
    "order_varies": Pattern(
        "Order differs across runs",
        IssueType.UNORDERED_COLLECTION,
        Severity.MEDIUM,
        "Return collections in a stable order: sort by a key, never iterate a set.",
        """\
return {"results": list(set(matches))}
""",
        """\
return {"results": sorted(set(matches), key=lambda m: (m.score, m.id))}
""",
    ),
    "side_effect": Pattern(
        "Side effect without idempotency key",
        IssueType.EXTERNAL_STATE,
        Severity.HIGH,
        "Send an idempotency key derived from the run's inputs with every side-effecting call.",
        """\
billing.create_invoice(customer_id=customer_id, amount=amount)
""",
        """\
billing.create_invoice(
    customer_id=customer_id,
    amount=amount,
    # Same inputs, same key: a retry or a replay cannot invoice twice.
    idempotency_key=f"invoice:{customer_id}:{order_id}",
)
""",
    ),
    "output_varies": Pattern(
        "Output differs for identical input",
        IssueType.NONDETERMINISTIC_OUTPUT,
        Severity.HIGH,
        "Pin what the tool reads (a snapshot or an as-of time passed in) and sort its results.",
        """\
rows = db.query("SELECT * FROM orders WHERE status = 'open'")
""",
        """\
rows = db.query(
    "SELECT * FROM orders WHERE status = 'open' AND updated_at <= ? ORDER BY id",
    (as_of,),  # as_of is an input, recorded with the run
)
""",
        "Use temperature 0 (and a seed where the provider supports one); replay recorded "
        "answers instead of calling the model again.",
        """\
client.messages.create(model=model, messages=messages, max_tokens=1024)
""",
        """\
client.messages.create(
    model=model,
    messages=messages,
    max_tokens=1024,
    temperature=0,  # greedy decoding: the same prompt gives (nearly) the same answer
)
""",
    ),
    "tool_calls_vary": Pattern(
        "Different tool calls for identical input",
        IssueType.NONDETERMINISTIC_OUTPUT,
        Severity.CRITICAL,
        "Make the tool choice deterministic: temperature 0, explicit tool_choice where the step "
        "is known, and replay recorded answers instead of calling the model again.",
        """\
client.messages.create(model=model, messages=messages, tools=tools, max_tokens=1024)
""",
        """\
client.messages.create(
    model=model,
    messages=messages,
    tools=tools,
    max_tokens=1024,
    temperature=0,
    tool_choice={"type": "tool", "name": "lookup_order"},  # when the next step is known
)
""",
    ),
}


@dataclass(frozen=True, slots=True)
class Advice:
    """How to fix one kind of varying output: a recommendation and a before/after snippet."""

    recommendation: str
    before: str
    after: str


VARIATION_ADVICE: Mapping[str, Advice] = {
    "measurement": Advice(
        "A measured duration differs on every run. Keep timings out of what the tool returns "
        "(log them, or record them beside the result as metadata), so that identical inputs "
        "give identical outputs; compare the rest.",
        """\
def run_query(sql):
    t0 = time.perf_counter()
    rows = db.execute(sql).fetchall()
    return {"rows": rows, "elapsed_ms": (time.perf_counter() - t0) * 1000}
""",
        """\
def run_query(sql):
    t0 = time.perf_counter()
    rows = db.execute(sql).fetchall()
    # How long it took is about this call, not its answer: log it.
    log.info("query took %.1f ms", (time.perf_counter() - t0) * 1000)
    return {"rows": rows}
""",
    ),
    "clock": Advice(
        PATTERNS["timestamp_current"].recommendation,
        PATTERNS["timestamp_current"].before,
        PATTERNS["timestamp_current"].after,
    ),
    "identifier": Advice(
        PATTERNS["uuid"].recommendation, PATTERNS["uuid"].before, PATTERNS["uuid"].after
    ),
    "query": Advice(
        PATTERNS["output_varies"].recommendation,
        PATTERNS["output_varies"].before,
        PATTERNS["output_varies"].after,
    ),
    "external": Advice(
        "Make the tool a function of its inputs: pass in what it reads from outside (the "
        "time, a snapshot or version of the data, a seed) and return its results in a stable "
        "order.",
        """\
def stock_level(sku):
    return {"sku": sku, "in_stock": inventory.current(sku)}
""",
        """\
def stock_level(sku, *, as_of):
    # The data as of a time the caller passes in (recorded with the run's inputs).
    return {"sku": sku, "in_stock": inventory.at(sku, as_of)}
""",
    ),
}
"""Advice for an output that differs for identical inputs, by what differed."""
