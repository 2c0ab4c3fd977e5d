"""Skill flows: a Markdown skill file whose `## Step` sections become pipeline stages.

```markdown
# Release notes                      <- the title (optional)
Anything before the first step is a description, not sent.

## Step 1: Gather                    <- a stage named "Gather" ("Step 1" without a name)
Agent: researcher                    <- optional settings lines at the top of a step:
Timeout: 90s                            Agent, Timeout (s/m), On failure (stop|skip|retry N)
On failure: retry 2
List the changes in {input}.         <- the prompt template: {input}, {previous}

## Step 2: Write
Write release notes from {previous}.
```

A step whose text uses no placeholder gets the previous output appended (the first step: the
flow's input), so a plain-prose skill still hands its work along. Pure: the engine reads the
file and records a new version when its text changes.
"""

from __future__ import annotations

import hashlib
import math
import re

from ato_desktop.core.automations import (
    DefinitionError,
    OnFailure,
    SkillSpec,
    Stage,
    parse_on_failure,
)
from ato_desktop.core.templates import placeholders

_STEP = re.compile(r"^##\s+(step\b.*)$", re.IGNORECASE)
_TITLE = re.compile(r"^#\s+(.+?)\s*#*\s*$")
_SETTING = re.compile(r"^(agent|timeout|on[ -]failure)\s*:\s*(.*)$", re.IGNORECASE)
_STEP_NAME = re.compile(r"^step\s*(\d+)?\s*[:.\-–—]?\s*(.*)$", re.IGNORECASE)
_FENCE = re.compile(r"^\s*(```|~~~)")
MAX_STEPS = 50


class SkillParseError(DefinitionError):
    """A skill file that is not a usable flow (no steps, an empty step, a bad setting)."""


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def parse_skill(text: str, *, path: str, agent: str) -> SkillSpec:
    """The flow in text; agent runs the steps that name none. SkillParseError says what and
    on which line is wrong."""
    text = text.replace("\r\n", "\n")
    title = ""
    sections: list[tuple[int, str, list[str]]] = []  # (line no, header, body lines)
    in_fence = False
    for number, line in enumerate(text.split("\n"), 1):
        if _FENCE.match(line):
            in_fence = not in_fence
        step = None if in_fence else _STEP.match(line.strip())
        if step:
            sections.append((number, step.group(1).strip(), []))
            continue
        if not sections:
            heading = None if in_fence else _TITLE.match(line.strip())
            if heading and not title:
                title = heading.group(1)
            continue
        sections[-1][2].append(line)
    if not sections:
        raise SkillParseError(f"{path}: no `## Step` sections; a skill flow needs at least one")
    if len(sections) > MAX_STEPS:
        raise SkillParseError(
            f"{path}: {len(sections)} steps; a skill flow has at most {MAX_STEPS}"
        )
    stages = [
        _stage(path, i, line, header, body, agent)
        for i, (line, header, body) in enumerate(sections, 1)
    ]
    names = [s.name.lower() for s in stages]
    taken = set(names)
    for i, stage in enumerate(stages):
        if names.count(stage.name.lower()) > 1:
            # "(N)" after the step number; a step already named so ("a (2)") pushes it on.
            n = i + 1
            while f"{stage.name} ({n})".lower() in taken:
                n += 1
            taken.add(f"{stage.name} ({n})".lower())
            stages[i] = Stage(
                f"{stage.name} ({n})",
                stage.agent,
                stage.template,
                stage.timeout_s,
                stage.on_failure,
                stage.retries,
            )
    return SkillSpec(path, agent, title, tuple(stages), content_hash(text))


def _stage(
    path: str, index: int, line: int, header: str, body: list[str], default_agent: str
) -> Stage:
    match = _STEP_NAME.match(header)
    name = (match.group(2).strip() if match else "") or f"Step {index}"
    agent, timeout_s = default_agent, None
    on_failure, retries = OnFailure.STOP, 0
    lines = list(body)
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines:
        setting = _SETTING.match(lines[0].strip())
        if not setting:
            break
        key, value = setting.group(1).lower().replace(" ", "-"), setting.group(2).strip()
        where = f"{path}:{line + 1 + len(body) - len(lines)}"
        if key == "agent":
            if not value:
                raise SkillParseError(f"{where}: `Agent:` needs an agent name")
            agent = value
        elif key == "timeout":
            timeout_s = _seconds(value, where)
        else:
            try:
                on_failure, retries = parse_on_failure(value)
            except DefinitionError as exc:
                raise SkillParseError(f"{where}: {exc}") from exc
        lines.pop(0)
    prompt = "\n".join(lines).strip()
    if not prompt:
        raise SkillParseError(f"{path}:{line}: step {index} ({name}) has no instructions")
    if not placeholders(prompt):
        prompt = prompt + "\n\n{previous}"
    return Stage(name, agent, prompt, timeout_s, on_failure, retries)


def _seconds(value: str, where: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h)?", value.strip().lower())
    if match is None:
        raise SkillParseError(f"{where}: timeout {value!r}: use e.g. 90s or 5m")
    amount = float(match.group(1))
    unit = match.group(2) or "s"
    factor = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}[unit]
    seconds = amount * factor
    if not math.isfinite(seconds):  # 400 nines overflow a float
        raise SkillParseError(f"{where}: timeout {value[:40]!r} is too long")
    if seconds <= 0:
        raise SkillParseError(f"{where}: the timeout must be more than 0")
    return seconds
