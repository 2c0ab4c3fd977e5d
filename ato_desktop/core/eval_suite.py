"""Eval suites, the pure part: a JSONL text parsed into cases and scorer declarations.

Format (docs/evals.md): an optional first line `{"suite": {...}}` (name, description, scorers,
pass_threshold, judge), then one case a line: `input` (a prompt) or `messages` (a chat
history ending with a user turn), optional `id`, `expected`, `metadata`, and `scorers` (which
replace the suite's for that case). A line that cannot be used is reported with its number and
why; the other cases still run.

A case's identity (for the diff against a previous run) is its `id`, else a short hash of its
input, so reordering or inserting cases does not scramble the diff.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ato_desktop.core.models import ChatMessage

SCORER_KINDS = ("exact", "contains", "regex", "json", "numeric", "judge", "python")
CASE_KEYS = frozenset({"id", "input", "messages", "expected", "metadata", "scorers"})
SUITE_KEYS = frozenset({"name", "description", "scorers", "pass_threshold", "judge"})
JUDGE_TARGET_KEYS = ("agent", "runtime", "model", "base_url")
MAX_LINE_CHARS = 1_000_000
MAX_CASES = 10_000
_PYTHON_REF = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*(\.[A-Za-z_]\w*)*$")
_NAME = re.compile(r"^[\w .:/@+-]{1,120}$")


class SuiteFormatError(ValueError):
    """Something that makes the whole suite unusable (not one bad line): a bad header, no
    cases at all, too many cases. The message is for the user."""


@dataclass(frozen=True, slots=True)
class ScorerSpec:
    """One scorer: its kind, a display name, a weight in the case's mean, and its options."""

    kind: str
    name: str
    weight: float = 1.0
    params: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"type": self.kind, "name": self.name, "weight": self.weight, **self.params}


@dataclass(frozen=True, slots=True)
class JudgeTarget:
    """Who judges: an agent, or a runtime + model (base_url for openai-compatible)."""

    agent: str | None = None
    runtime: str | None = None
    model: str | None = None
    base_url: str | None = None

    @property
    def label(self) -> str:
        return f"@{self.agent}" if self.agent else f"{self.runtime} · {self.model}"

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in zip(JUDGE_TARGET_KEYS, self._values(), strict=True) if v}

    def _values(self) -> tuple[str | None, ...]:
        return (self.agent, self.runtime, self.model, self.base_url)


@dataclass(frozen=True, slots=True)
class EvalCase:
    """One case: a prompt or a conversation, what to expect, and how to score it."""

    case_id: str
    line_no: int
    input: str | None
    messages: tuple[ChatMessage, ...] | None
    expected: Any = None
    has_expected: bool = False
    metadata: Mapping[str, Any] = field(default_factory=dict)
    scorers: tuple[ScorerSpec, ...] = ()

    @property
    def prompt(self) -> str:
        """The prompt text: the input, or the conversation's last user turn."""
        if self.input is not None:
            return self.input
        assert self.messages
        return self.messages[-1].content

    def transcript(self) -> str:
        """The input as a judge reads it."""
        if self.input is not None:
            return self.input
        assert self.messages
        return "\n\n".join(f"[{m.role}] {m.content}" for m in self.messages)

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.case_id, "line": self.line_no}
        if self.input is not None:
            data["input"] = self.input
        else:
            data["messages"] = [{"role": m.role, "content": m.content} for m in self.messages or ()]
        if self.has_expected:
            data["expected"] = self.expected
        if self.metadata:
            data["metadata"] = dict(self.metadata)
        return data


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line that was skipped, and why."""

    line_no: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line_no}: {self.reason}"


@dataclass(frozen=True, slots=True)
class EvalSuite:
    """A parsed suite. content_hash identifies this exact text (sha256 of the file's bytes as
    UTF-8); name identifies the suite across edits (the header's name, else the file stem)."""

    name: str
    content_hash: str
    cases: tuple[EvalCase, ...]
    bad_lines: tuple[BadLine, ...] = ()
    description: str | None = None
    scorers: tuple[ScorerSpec, ...] = ()
    pass_threshold: float | None = None
    judge: JudgeTarget | None = None
    path: str | None = None

    @property
    def scorer_kinds(self) -> tuple[str, ...]:
        kinds = {s.kind for case in self.cases for s in case.scorers}
        return tuple(k for k in SCORER_KINDS if k in kinds)


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# -- scorers -----------------------------------------------------------------------------------


def parse_scorer(value: Any) -> ScorerSpec:
    """A scorer declaration: a kind name ("exact") or an object {"type": ..., options}.
    Raises ValueError with a message naming what is wrong."""
    if isinstance(value, str):
        value = {"type": value.strip()}
    if not isinstance(value, dict):
        raise ValueError(f"a scorer is a kind name or an object, not {_type_name(value)}")
    data = dict(value)
    kind = data.pop("type", None) or data.pop("kind", None)
    if kind not in SCORER_KINDS:
        raise ValueError(f"unknown scorer type {kind!r}; use one of {', '.join(SCORER_KINDS)}")
    name = data.pop("name", None) or kind
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"scorer name {name!r} must be short text")
    weight = data.pop("weight", 1.0)
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not weight > 0:
        raise ValueError(f"scorer {name!r}: weight must be a positive number")
    _check_scorer_params(kind, name, data)
    return ScorerSpec(kind, name, float(weight), data)


def parse_scorer_option(text: str) -> ScorerSpec:
    """A scorer from the command line: a kind name, or a JSON object."""
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            value: Any = json.loads(stripped)
        except ValueError as exc:
            raise ValueError(f"--scorer {text!r} is not valid JSON: {exc}") from exc
    else:
        value = stripped
    return parse_scorer(value)


def _check_scorer_params(kind: str, name: str, data: dict[str, Any]) -> None:
    def fail(why: str) -> None:
        raise ValueError(f"scorer {name!r} ({kind}): {why}")

    if kind == "regex" and "pattern" in data:
        pattern = data["pattern"]
        if not isinstance(pattern, str):
            fail("pattern must be text")
        try:
            re.compile(pattern)
        except re.error as exc:
            fail(f"pattern {pattern!r} is not a valid regular expression ({exc})")
    if kind == "json" and "schema" in data:
        schema = data["schema"]
        if not isinstance(schema, (dict, bool)):
            fail("schema must be a JSON Schema object")
        problem = schema_problem(schema)
        if problem:
            fail(f"schema is not a valid JSON Schema: {problem}")
    if kind == "numeric":
        for key in ("tolerance", "relative"):
            tol = data.get(key, 0)
            if isinstance(tol, bool) or not isinstance(tol, (int, float)) or tol < 0:
                fail(f"{key} must be a number ≥ 0")
        if data.get("extract", "last") not in ("last", "first", "whole"):
            fail("extract must be last, first or whole")
    if kind == "judge":
        rubric = data.get("rubric")
        if not isinstance(rubric, str) or not rubric.strip():
            fail("a judge needs a rubric (text saying what a good answer is)")
        max_score = data.get("max_score", 10)
        if isinstance(max_score, bool) or not isinstance(max_score, int) or max_score < 1:
            fail("max_score must be a whole number ≥ 1")
        pass_score = data.get("pass_score", 0.7)
        if isinstance(pass_score, bool) or not isinstance(pass_score, (int, float)):
            fail("pass_score must be a number between 0 and 1")
        if not 0 <= pass_score <= 1:
            fail("pass_score must be between 0 and 1")
        judge = data.get("judge")
        if judge is not None:
            try:
                parse_judge_target(judge)
            except ValueError as exc:
                fail(str(exc))
    if kind == "python":
        ref = data.get("function")
        if not isinstance(ref, str) or not _PYTHON_REF.match(ref):
            fail('function must be an import path like "package.module:function"')
        if "args" in data and not isinstance(data["args"], dict):
            fail("args must be an object (passed as keyword arguments)")
    ignore_case = data.get("ignore_case", False)
    if kind in ("exact", "contains", "regex") and not isinstance(ignore_case, bool):
        fail("ignore_case must be true or false")


def schema_problem(schema: Any) -> str | None:
    """Why a JSON Schema is not one, or None when it is."""
    from jsonschema import exceptions, validators

    try:
        validators.validator_for(schema).check_schema(schema)
    except exceptions.SchemaError as exc:
        return str(exc.message)
    return None


def parse_judge_target(value: Any) -> JudgeTarget:
    """{"agent": NAME} or {"runtime": R, "model": M[, "base_url": URL]}."""
    if not isinstance(value, dict):
        raise ValueError('a judge is {"agent": NAME} or {"runtime": R, "model": M}')
    unknown = set(value) - set(JUDGE_TARGET_KEYS)
    if unknown:
        raise ValueError(f"unknown judge key(s) {sorted(unknown)}; use {list(JUDGE_TARGET_KEYS)}")
    values = {k: value.get(k) for k in JUDGE_TARGET_KEYS}
    if any(v is not None and not isinstance(v, str) for v in values.values()):
        raise ValueError("judge fields are text")
    if not values["agent"] and not (values["runtime"] and values["model"]):
        raise ValueError('a judge is {"agent": NAME} or {"runtime": R, "model": M}')
    return JudgeTarget(**values)


def scorer_problem(spec: ScorerSpec, case_has_expected: bool, expected: Any) -> str | None:
    """Why this scorer cannot score this case (it lacks what the scorer compares with)."""
    params = spec.params
    if spec.kind == "exact" and not case_has_expected and "value" not in params:
        return f"scorer {spec.name!r} (exact) needs an expected value"
    if spec.kind == "contains":
        value = params.get("value", expected if case_has_expected else None)
        if value is None:
            return f"scorer {spec.name!r} (contains) needs an expected text (or a list)"
        if not isinstance(value, (str, list)) or (
            isinstance(value, list) and not all(isinstance(v, str) for v in value)
        ):
            return f"scorer {spec.name!r} (contains) compares with text or a list of texts"
    if spec.kind == "regex" and "pattern" not in params:
        if not case_has_expected or not isinstance(expected, str):
            return f"scorer {spec.name!r} (regex) needs a pattern, or an expected pattern text"
        try:
            re.compile(expected)
        except re.error as exc:
            return f"expected {expected!r} is not a valid regular expression ({exc})"
    if spec.kind == "numeric":
        value = params.get("value", expected if case_has_expected else None)
        if as_number(value) is None:
            return f"scorer {spec.name!r} (numeric) needs an expected number, got {value!r}"
    if spec.kind == "json" and params.get("equals") and not case_has_expected:
        return f"scorer {spec.name!r} (json, equals) needs an expected value"
    return None


def as_number(value: Any) -> float | None:
    """A finite number from a number or numeric text ("1,234.5"), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip().replace(",", "").replace("_", ""))
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


# -- parsing -----------------------------------------------------------------------------------


def parse_suite(
    text: str,
    *,
    default_name: str,
    extra_scorers: Sequence[ScorerSpec] = (),
    path: str | None = None,
) -> EvalSuite:
    """Parse a suite's JSONL text. Bad lines are collected, not raised; SuiteFormatError only
    when nothing could be used at all (a bad header, no usable case, too many cases)."""
    lines = text.splitlines()
    bad: list[BadLine] = []
    header: dict[str, Any] = {}
    start = 0
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is not None:
        head = _try_object(lines[first])
        if head is not None and "suite" in head:
            header = _parse_header(head, first + 1)
            start = first + 1
    suite_scorers: tuple[ScorerSpec, ...] = (*header.get("scorers", ()), *extra_scorers)
    cases: list[EvalCase] = []
    seen_ids: dict[str, int] = {}
    for index in range(start, len(lines)):
        raw = lines[index]
        line_no = index + 1
        if not raw.strip():
            continue
        if len(raw) > MAX_LINE_CHARS:
            bad.append(BadLine(line_no, f"the line is longer than {MAX_LINE_CHARS:,} characters"))
            continue
        try:
            case = _parse_case(raw, line_no, suite_scorers)
        except ValueError as exc:
            bad.append(BadLine(line_no, str(exc)))
            continue
        explicit = case.case_id
        if explicit in seen_ids:
            if _explicit_id(raw):
                bad.append(
                    BadLine(
                        line_no, f"duplicate id {explicit!r} (first on line {seen_ids[explicit]})"
                    )
                )
                continue
            n = 2
            while f"{explicit}-{n}" in seen_ids:
                n += 1
            case = _with_id(case, f"{explicit}-{n}")
        seen_ids[case.case_id] = line_no
        cases.append(case)
        if len(cases) > MAX_CASES:
            raise SuiteFormatError(
                f"the suite has more than {MAX_CASES:,} cases; split it into several suites"
            )
    if not cases:
        reasons = "; ".join(str(b) for b in bad[:5])
        raise SuiteFormatError(
            "the suite has no usable case" + (f" ({reasons})" if reasons else " (it is empty)")
        )
    return EvalSuite(
        name=header.get("name") or default_name,
        content_hash=content_hash(text),
        cases=tuple(cases),
        bad_lines=tuple(bad),
        description=header.get("description"),
        scorers=suite_scorers,
        pass_threshold=header.get("pass_threshold"),
        judge=header.get("judge"),
        path=path,
    )


def _try_object(line: str) -> dict[str, Any] | None:
    try:
        value = json.loads(line)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _parse_header(head: dict[str, Any], line_no: int) -> dict[str, Any]:
    def fail(why: str) -> SuiteFormatError:
        return SuiteFormatError(f"line {line_no} (the suite header): {why}")

    if set(head) != {"suite"} or not isinstance(head["suite"], dict):
        raise fail('the header is one object: {"suite": {"name": ..., "scorers": [...]}}')
    data = head["suite"]
    unknown = set(data) - SUITE_KEYS
    if unknown:
        raise fail(f"unknown key(s) {sorted(unknown)}; use {sorted(SUITE_KEYS)}")
    out: dict[str, Any] = {}
    name = data.get("name")
    if name is not None:
        if not isinstance(name, str) or not _NAME.match(name.strip()):
            raise fail("name must be short text (letters, digits, spaces, . : / @ + -)")
        out["name"] = name.strip()
    if data.get("description") is not None:
        out["description"] = str(data["description"])
    scorers = data.get("scorers", [])
    if not isinstance(scorers, list):
        raise fail("scorers must be a list")
    try:
        out["scorers"] = tuple(parse_scorer(s) for s in scorers)
    except ValueError as exc:
        raise fail(str(exc)) from exc
    names = [s.name for s in out["scorers"]]
    if len(set(names)) != len(names):
        raise fail('two scorers have the same name; give one a "name"')
    threshold = data.get("pass_threshold")
    if threshold is not None:
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
            raise fail("pass_threshold must be a number between 0 and 1")
        if not 0 <= threshold <= 1:
            raise fail("pass_threshold must be between 0 and 1")
        out["pass_threshold"] = float(threshold)
    if data.get("judge") is not None:
        try:
            out["judge"] = parse_judge_target(data["judge"])
        except ValueError as exc:
            raise fail(str(exc)) from exc
    return out


def _explicit_id(raw: str) -> bool:
    value = _try_object(raw)
    return value is not None and value.get("id") is not None


def _with_id(case: EvalCase, case_id: str) -> EvalCase:
    return EvalCase(
        case_id,
        case.line_no,
        case.input,
        case.messages,
        case.expected,
        case.has_expected,
        case.metadata,
        case.scorers,
    )


def _parse_case(raw: str, line_no: int, suite_scorers: tuple[ScorerSpec, ...]) -> EvalCase:
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise ValueError(f"not valid JSON ({exc.args[0] if exc.args else exc})") from exc
    except RecursionError:  # [[[[... deeper than the decoder recurses
        raise ValueError("not valid JSON (nested too deeply)") from None
    if not isinstance(value, dict):
        raise ValueError(f"a case is a JSON object, not {_type_name(value)}")
    if "suite" in value:
        raise ValueError("a suite header is only allowed on the first line")
    unknown = set(value) - CASE_KEYS
    if unknown:
        raise ValueError(
            f"unknown key(s) {sorted(unknown)}; a case has {sorted(CASE_KEYS)} "
            "(put anything else in metadata)"
        )
    has_input, has_messages = "input" in value, "messages" in value
    if has_input == has_messages:
        raise ValueError('a case has either "input" (a prompt) or "messages" (a conversation)')
    text: str | None = None
    messages: tuple[ChatMessage, ...] | None = None
    if has_input:
        text = value["input"]
        if not isinstance(text, str) or not text.strip():
            raise ValueError('"input" must be a non-empty prompt text')
    else:
        messages = _parse_messages(value["messages"])
    metadata = value.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise ValueError('"metadata" must be an object')
    if "scorers" in value:
        overrides = value["scorers"]
        if not isinstance(overrides, list) or not overrides:
            raise ValueError('"scorers" must be a non-empty list (it replaces the suite\'s)')
        scorers = tuple(parse_scorer(s) for s in overrides)
    else:
        scorers = suite_scorers
    has_expected = "expected" in value
    expected = value.get("expected")
    if not scorers:
        if not has_expected:
            raise ValueError(
                "no scorer applies: declare scorers in the suite header, on the case, or with "
                "--scorer, or give an expected value (scored exact)"
            )
        scorers = (ScorerSpec("exact", "exact"),)
    for spec in scorers:
        problem = scorer_problem(spec, has_expected, expected)
        if problem:
            raise ValueError(problem)
    raw_id = value.get("id")
    if raw_id is not None:
        if isinstance(raw_id, bool) or not isinstance(raw_id, (str, int)) or not str(raw_id):
            raise ValueError('"id" must be text or a whole number')
        case_id = str(raw_id)
    else:
        basis = text if text is not None else json.dumps(value["messages"], sort_keys=True)
        case_id = "h" + hashlib.sha256(basis.encode("utf-8")).hexdigest()[:10]
    return EvalCase(case_id, line_no, text, messages, expected, has_expected, metadata, scorers)


def _parse_messages(value: Any) -> tuple[ChatMessage, ...]:
    if not isinstance(value, list) or not value:
        raise ValueError('"messages" must be a non-empty list of {"role", "content"} objects')
    out: list[ChatMessage] = []
    for i, item in enumerate(value, 1):
        if not isinstance(item, dict) or not isinstance(item.get("content"), str):
            raise ValueError(f"message {i} must be an object with a text content")
        role = item.get("role")
        if role == "system":
            raise ValueError(
                f"message {i} is a system message: the system prompt is the target's (the "
                "agent's own, or --system-prompt with --runtime and --model)"
            )
        if role not in ("user", "assistant"):
            raise ValueError(f"message {i} has role {role!r}; use user or assistant")
        out.append(ChatMessage(role, item["content"]))
    if out[-1].role != "user":
        raise ValueError("the conversation must end with a user message")
    return tuple(out)


def _type_name(value: Any) -> str:
    return {list: "a list", str: "text", int: "a number", float: "a number"}.get(
        type(value), type(value).__name__
    )
