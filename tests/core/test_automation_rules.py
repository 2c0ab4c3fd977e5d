"""Pure automation rules: templates, cron maths with time zones, skill-file parsing, cycles."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from ato_desktop.core import cron
from ato_desktop.core.automations import (
    GroupMode,
    GroupSpec,
    HookEdge,
    MissedFires,
    OnFailure,
    Stage,
    find_cycle,
    parse_on_failure,
    parse_rule,
)
from ato_desktop.core.skill_flow import SkillParseError, parse_skill
from ato_desktop.core.templates import render, template_problems


def ms(text: str, tz: str = "UTC") -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz)).timestamp() * 1000)


def test_templates_fill_names_and_never_evaluate() -> None:
    values = {"input": "cats", "previous": "{input}", "run.output": "ok"}
    assert render("A {input}, then {previous}; {run.output}", values) == "A cats, then {input}; ok"
    assert render('{{"json": {input}}} {input.__class__} {0}', values) == (
        '{"json": cats} {input.__class__} {0}'
    )
    assert template_problems("{input} {previous}", ["input", "previous"]) == []
    [problem] = template_problems("{inptu}", ["input", "previous"])
    assert "{inptu}" in problem and "{input}" in problem


def test_cron_in_a_time_zone_across_daylight_saving() -> None:
    # 09:00 Paris is 08:00 UTC in winter and 07:00 UTC in summer.
    winter = cron.next_fire("0 9 * * *", "Europe/Paris", ms("2025-03-29T12:00:00"))
    summer = cron.next_fire("0 9 * * *", "Europe/Paris", winter or 0)
    assert winter == ms("2025-03-30T07:00:00")  # DST started that night
    assert summer == ms("2025-03-31T07:00:00")
    assert cron.fires_after("*/15 * * * *", "UTC", ms("2025-01-01T00:00:00"), 3) == [
        ms("2025-01-01T00:15:00"),
        ms("2025-01-01T00:30:00"),
        ms("2025-01-01T00:45:00"),
    ]
    with pytest.raises(cron.CronError, match="bad cron expression"):
        cron.validate("* * *", "UTC")
    with pytest.raises(cron.CronError, match="unknown time zone"):
        cron.validate("* * * * *", "Nowhere/Else")


@pytest.mark.parametrize(
    ("nickname", "after", "first", "second"),
    [
        ("@hourly", "2025-01-01T00:10:00", "2025-01-01T01:00:00", "2025-01-01T02:00:00"),
        ("@daily", "2025-01-01T10:00:00", "2025-01-02T00:00:00", "2025-01-03T00:00:00"),
        ("@midnight", "2025-01-01T10:00:00", "2025-01-02T00:00:00", "2025-01-03T00:00:00"),
        # 2025-01-01 is a Wednesday: the next Sundays are the 5th and the 12th.
        ("@weekly", "2025-01-01T10:00:00", "2025-01-05T00:00:00", "2025-01-12T00:00:00"),
        ("@monthly", "2025-01-15T00:00:00", "2025-02-01T00:00:00", "2025-03-01T00:00:00"),
        ("@yearly", "2025-01-15T00:00:00", "2026-01-01T00:00:00", "2027-01-01T00:00:00"),
        ("@annually", "2025-01-15T00:00:00", "2026-01-01T00:00:00", "2027-01-01T00:00:00"),
    ],
)
def test_cron_nicknames_fire_as_their_five_fields(
    nickname: str, after: str, first: str, second: str
) -> None:
    assert cron.validate(f"  {nickname.upper()} ", "UTC") == nickname
    assert cron.fires_after(nickname, "UTC", ms(after), 2) == [ms(first), ms(second)]
    # In a time zone too: @daily is midnight there.
    if nickname == "@daily":
        assert cron.next_fire(nickname, "Europe/Paris", ms(after)) == ms(
            "2025-01-02T00:00:00", "Europe/Paris"
        )


@pytest.mark.parametrize(
    "expr", ["* * * * * *", "*/5 * * * * *", "0 * * * * *", "0 0 0 * * * *", "@reboot", "@often"]
)
def test_cron_refuses_what_would_fire_more_than_once_a_minute_or_never(expr: str) -> None:
    with pytest.raises(cron.CronError, match="bad cron expression") as caught:
        cron.validate(expr, "UTC")
    if len(expr.split()) == 6:
        assert "more than once a minute" in str(caught.value)
    # A six-field spec already stored by an older version cannot fire either.
    with pytest.raises(cron.CronError):
        cron.fires_after(expr, "UTC", ms("2025-01-01T00:00:00"), 2)


def test_due_plan_on_time_and_missed() -> None:
    start = ms("2025-01-01T00:00:30")
    assert (
        cron.plan_due("0 * * * *", "UTC", start, ms("2025-01-01T00:59:00"), MissedFires.SKIP)
        is None
    )
    on_time = cron.plan_due("0 * * * *", "UTC", start, ms("2025-01-01T01:00:20"), MissedFires.SKIP)
    assert on_time is not None and on_time.fire_at == ms("2025-01-01T01:00:00")
    assert on_time.missed == 0 and on_time.note == "on time"
    late = ms("2025-01-01T03:30:00")
    skipped = cron.plan_due("0 * * * *", "UTC", start, late, MissedFires.SKIP)
    assert skipped is not None and skipped.fire_at is None and skipped.missed == 3
    assert skipped.last_considered == ms("2025-01-01T03:00:00")
    once = cron.plan_due("0 * * * *", "UTC", start, late, MissedFires.RUN_ONCE)
    assert once is not None and once.fire_at == ms("2025-01-01T03:00:00") and once.missed == 3


def test_skill_file_parsing() -> None:
    spec = parse_skill(
        "# Title\nintro\n```\n## Step not a step (in a fence)\n```\n"
        "## Step 1: Read\nAgent: reader\nOn failure: skip\nRead {input}\n\n"
        "## Step 2\nSummarise.\n",
        path="s.md",
        agent="default",
    )
    assert spec.title == "Title"
    assert [(s.name, s.agent, s.on_failure) for s in spec.steps] == [
        ("Read", "reader", OnFailure.SKIP),
        ("Step 2", "default", OnFailure.STOP),
    ]
    assert spec.steps[1].template == "Summarise.\n\n{previous}"
    with pytest.raises(SkillParseError, match=r"s.md:2: step 1 \(Empty\) has no instructions"):
        parse_skill("# T\n## Step 1: Empty\n\n## Step 2: Full\nText\n", path="s.md", agent="a")
    with pytest.raises(SkillParseError, match=r"s\.md:3: timeout"):
        parse_skill("## Step 1\nAgent: a\nTimeout: soon\nText\n", path="s.md", agent="a")


def test_group_rules_and_cycles() -> None:
    assert parse_on_failure("retry:3") == (OnFailure.RETRY, 3)
    assert parse_on_failure("skip") == (OnFailure.SKIP, 0)
    rule = parse_rule("billing=re:^refund")
    assert rule.match == "regex" and rule.matches("refund please") and not rule.matches("a refund")
    assert parse_rule("help=Password").matches("my password")
    with pytest.raises(ValueError, match="retry needs a number"):
        GroupSpec(
            GroupMode.SEQUENTIAL, stages=(Stage("a", "x", on_failure=OnFailure.RETRY),)
        ).validate()
    edges = [HookEdge("h1", "a", ("b",)), HookEdge("h2", "b", ("c", "d"))]
    assert find_cycle(edges) is None
    assert find_cycle([*edges, HookEdge("h3", "D", ("A",))]) == ["a", "b", "d", "a"]
