"""Crafted runs for the determinism tests: a realistic clean tool-loop run, and variants of it
that each add exactly one non-deterministic pattern.

The clean run: the user asks about an order (typing a date and a price), the model looks it up
with a read-only MCP tool, passes the customer id the tool returned on to a second tool, and
answers with the facts it was given. Every value in it is either typed by the user or returned
by a tool; its outputs are the same on every run (only the tool-call ids the provider mints
differ, as they do in real runs).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from typing import Any

from ato_desktop.core.records import ActionRecord, NewAction

NOW = 1_790_000_000_000  # 2026-09-21T14:13:20Z
NOW_ISO = "2026-09-21T14:13:20Z"
SYSTEM = "You are the support agent of an online shop. Be brief and exact."
USER = "Where is my order 4821? I placed it on 14 Sept 2026 and paid $129.99."
CUSTOMER = "9b2f4c1e-7a3d-4f5e-8c6b-1d2e3f4a5b6c"
TOOLS = [
    {"name": "shop__get_order", "description": "An order by id.", "input_schema": {}},
    {"name": "shop__get_customer", "description": "A customer by id.", "input_schema": {}},
]
ORDER = {
    "id": "4821",
    "customer_id": CUSTOMER,
    "status": "shipped",
    "total": 129.99,
    "placed_at": "2026-09-14T09:12:44Z",
    "carrier": "UPS",
    "items": [
        {"sku": "KB-204", "qty": 1, "price": 99.99},
        {"sku": "CB-11", "qty": 2, "price": 15.0},
    ],
    "history": [
        {"event": "packed", "timestamp": "2026-09-15T08:00:00Z"},
        {"event": "shipped", "timestamp": "2026-09-20T22:05:00Z"},
    ],
}
CUSTOMER_RECORD = {"id": CUSTOMER, "name": "Ada Lovelace", "tier": "gold", "discount": 0.1}
ANSWER = (
    "Your order 4821 shipped with UPS. It was placed on 14 September 2026 for $129.99 "
    "(a keyboard and two cables), and Ada's gold tier gives 10% off the next order."
)

_call_ids = itertools.count(1)


def call_id() -> str:
    """A provider-style tool call id: different on every call, as in real runs."""
    return f"toolu_01{next(_call_ids):04d}Xy7Qm2Lk9Pw4Rn8Tz"


def llm(
    messages: list[dict[str, Any]],
    text: str,
    *,
    tool_calls: list[dict[str, Any]] | None = None,
    at: int = NOW,
    params: dict[str, Any] | None = None,
) -> NewAction:
    outputs: dict[str, Any] = {"text": text}
    if tool_calls:
        outputs["tool_calls"] = tool_calls
    outputs["finish_reason"] = "tool_use" if tool_calls else "end_turn"
    return NewAction(
        name="call_llm",
        kind="llm",
        outcome="success",
        started_at=at,
        ended_at=at + 1_200,
        inputs={
            "runtime": "claude",
            "model": "claude-sonnet-4-5",
            "system": SYSTEM,
            "messages": messages,
            "tools": TOOLS,
            "params": params or {"max_tokens": 1024},
        },
        outputs=outputs,
        meta={"response_id": f"msg_{next(_call_ids)}", "response_model": "claude-sonnet-4-5"},
    )


def tool(
    name: str,
    arguments: dict[str, Any],
    result: Any,
    *,
    read_only: bool | None = True,
    at: int = NOW,
    outcome: str = "success",
    tool_call_id: str | None = None,
    content: str | None = None,
) -> NewAction:
    meta: dict[str, Any] = {"tool_call_id": tool_call_id or call_id(), "model_name": name}
    if read_only is not None:
        meta.update(server="shop", read_only=read_only)
    outputs: dict[str, Any] = {"content": content if content is not None else json.dumps(result)}
    if isinstance(result, dict):
        outputs["structured"] = result
    return NewAction(
        name=name,
        kind="tool",
        outcome=outcome,
        started_at=at + 1_300,
        ended_at=at + 1_350,
        inputs=arguments,
        outputs=outputs,
        meta=meta,
    )


def clean_run(
    *,
    at: int = NOW,
    order: dict[str, Any] | None = None,
    first_call: dict[str, Any] | None = None,
    answer: str = ANSWER,
) -> list[NewAction]:
    """The clean tool loop: call_llm -> get_order -> call_llm -> get_customer -> call_llm."""
    order = ORDER if order is None else order
    user = {"role": "user", "content": USER}
    call1 = first_call or {
        "id": call_id(),
        "name": "shop__get_order",
        "arguments": {"order_id": "4821"},
    }
    call2 = {
        "id": call_id(),
        "name": "shop__get_customer",
        "arguments": {"customer_id": order.get("customer_id", CUSTOMER)},
    }
    turn1 = [user]
    turn2 = [
        *turn1,
        {"role": "assistant", "content": "Let me look that up.", "tool_calls": [call1]},
        {
            "role": "tool",
            "content": json.dumps(order),
            "tool_call_id": call1["id"],
            "tool_name": call1["name"],
        },
    ]
    turn3 = [
        *turn2,
        {"role": "assistant", "content": "", "tool_calls": [call2]},
        {
            "role": "tool",
            "content": json.dumps(CUSTOMER_RECORD),
            "tool_call_id": call2["id"],
            "tool_name": call2["name"],
        },
    ]
    return [
        llm(turn1, "Let me look that up.", tool_calls=[call1], at=at),
        tool(
            call1["name"].split("__")[1],
            call1["arguments"],
            order,
            at=at,
            tool_call_id=call1["id"],
        ),
        llm(turn2, "", tool_calls=[call2], at=at + 2_000),
        tool(
            "get_customer",
            call2["arguments"],
            CUSTOMER_RECORD,
            at=at + 2_000,
            tool_call_id=call2["id"],
        ),
        llm(turn3, answer, at=at + 4_000),
    ]


def as_records(run_id: str, actions: Sequence[NewAction]) -> list[ActionRecord]:
    """The actions as the log returns them (seq from 1), for the pure tests."""
    return [
        ActionRecord(
            run_id=run_id,
            seq=seq,
            parent_seq=a.parent_seq,
            name=a.name,
            kind=a.kind,
            inputs=json.loads(json.dumps(a.inputs)),
            outputs=json.loads(json.dumps(a.outputs)),
            usage=a.usage,
            tokens_estimated=a.tokens_estimated,
            ttft_ns=a.ttft_ns,
            duration_ns=a.duration_ns,
            cost_usd=a.cost_usd,
            cost_source=a.cost_source.value if a.cost_source else None,
            outcome=a.outcome,
            started_at=a.started_at,
            ended_at=a.ended_at,
            error_class=a.error_class,
            error_message=a.error_message,
            meta=a.meta,
        )
        for seq, a in enumerate(actions, 1)
    ]


def with_extra(actions: Sequence[NewAction], *extra: NewAction) -> list[NewAction]:
    return [*actions, *extra]


# -- one pattern each ---------------------------------------------------------------------------
# name -> (extra action appended to the clean run, pattern, issue type, severity, action, path,
# line). Each adds exactly one finding.


def _final(text: str) -> NewAction:
    """A follow-up turn of the conversation (its own inputs), answered with text."""
    messages = [
        {"role": "user", "content": USER},
        {"role": "assistant", "content": ANSWER},
        {"role": "user", "content": "Thanks! Anything else I should know?"},
    ]
    return llm(messages, text, at=NOW + 6_000)


def pattern_cases() -> dict[str, tuple[NewAction, str, str, str, str, str, int | None]]:
    at = NOW + 6_000
    return {
        # The spec's example: a report tool stamps the current time into its output.
        "timestamp": (
            tool(
                "generate_report",
                {"order_id": "4821"},
                None,
                content=f"Order report\nStatus: shipped\nGenerated at {NOW_ISO}",
                at=at,
            ),
            "timestamp_current",
            "timestamp",
            "high",
            "generate_report",
            "outputs.content",
            3,
        ),
        "epoch": (
            tool(
                "log_event",
                {"event": "lookup"},
                {"logged": True, "ts": (at + 1_320) // 1000},
                at=at,
            ),
            "epoch_current",
            "timestamp",
            "high",
            "log_event",
            "outputs.content.ts",
            None,
        ),
        "timestamp_generated": (
            _final("Your refund was issued at 2025-03-02 10:15:42 and is on its way."),
            "timestamp_generated",
            "timestamp",
            "medium",
            "call_llm",
            "outputs.text",
            1,
        ),
        "current_date": (
            _final("Status\n\nAs of 2026-09-21 the parcel is in Memphis."),
            "current_date",
            "timestamp",
            "medium",
            "call_llm",
            "outputs.text",
            3,
        ),
        "today": (
            _final("Good news: your parcel is out for delivery today."),
            "relative_date",
            "timestamp",
            "low",
            "call_llm",
            "outputs.text",
            1,
        ),
        "uuid": (
            _final("I opened a support case for you: 5f0c8e2a-1b3d-4c7e-9f6a-2d8b4e1c7a93."),
            "uuid",
            "random_value",
            "high",
            "call_llm",
            "outputs.text",
            1,
        ),
        "random_token": (
            _final("Here is a voucher for the delay: VX7q2Lm9Kp3RtZ8wN4bY."),
            "random_token",
            "random_value",
            "medium",
            "call_llm",
            "outputs.text",
            1,
        ),
        "random_number": (
            tool("pick_winner", {"draw": "weekly"}, {"ticket": 0.8444218515250481}, at=at),
            "random_number",
            "random_value",
            "medium",
            "pick_winner",
            "outputs.content.ticket",
            None,
        ),
        "float_noise": (
            tool(
                "cart_total",
                {"prices": [0.1, 0.2]},
                {"total": 0.30000000000000004},
                at=at,
            ),
            "float_noise",
            "floating_point",
            "medium",
            "cart_total",
            "outputs.content.total",
            None,
        ),
        "float_unrounded": (
            tool("delivery_ratio", {"carrier": "UPS"}, {"on_time": 3.3333333333333335}, at=at),
            "float_unrounded",
            "floating_point",
            "low",
            "delivery_ratio",
            "outputs.content.on_time",
            None,
        ),
        "set_repr": (
            tool(
                "list_tags",
                {"order_id": "4821"},
                None,
                content="tags: {'express', 'gift', 'fragile'}",
                at=at,
            ),
            "set_repr",
            "unordered_collection",
            "medium",
            "list_tags",
            "outputs.content",
            1,
        ),
        "side_effect": (
            tool(
                "send_email",
                {"to": "ada@example.com", "subject": "Your order 4821"},
                {"sent": True},
                read_only=False,
                at=at,
            ),
            "side_effect",
            "external_state",
            "high",
            "send_email",
            "inputs",
            None,
        ),
    }
