"""The claude-code runtime: Claude Code's headless mode, run as a subprocess per dispatch.

Command line (the prompt goes on stdin, so its size and content never meet argv limits or `ps`)::

    claude -p --output-format stream-json --verbose --include-partial-messages
           --permission-mode <acceptEdits> [--model <model>]
           [--append-system-prompt <system> | --system-prompt <system>]
           [--max-turns N] [--max-budget-usd X] [--allowedTools a,b] [--disallowedTools c]

run in ``request.cwd`` (the agent's working_dir), in a process group of its own. The agent's
params choose: ``permission_mode`` (default ``acceptEdits``: edits in the working directory go
ahead, other tools need an ``allowed_tools`` rule; ``bypassPermissions`` allows everything),
``allowed_tools`` / ``disallowed_tools`` (lists of Claude Code permission rules), ``max_turns``,
``max_budget_usd``, and ``replace_system_prompt`` (use ``--system-prompt``, dropping Claude
Code's own, instead of appending to it). Sampling params do not exist for the CLI and are ignored.
``ANTHROPIC_API_KEY`` is set for the child only when ATO holds an Anthropic key; otherwise
Claude Code uses its own login. ``request.base_url`` is not used.

Event mapping (one JSON object per stdout line):

==========================================  ===================================================
``system`` / ``init``                       session id and model noted
``system`` / ``api_retry``                  STEP wait (attempt, retry_delay_ms, error_status);
                                            the delay is silence allowed, not a stall
``stream_event`` text_delta (top level)     TEXT, as the tokens arrive
``assistant`` text block                    TEXT (unless already streamed), STEP message;
                                            its ``model`` is the model that answered
``assistant`` thinking block                STEP reasoning
``assistant`` tool_use block                held until its result
``user`` tool_result block                  STEP for the tool use: Bash -> command with
                                            ``exit_code`` (0, N from "Exit code N", None when it
                                            never ran); Write, Edit, MultiEdit, NotebookEdit ->
                                            file with FileTouch (Write: created/edited from the
                                            result; Bash ``rm`` -> deleted when the file is
                                            gone); others -> tool. A failed result is an error
                                            ("Exit code N"), blocked when worded as a refusal
                                            ("This command requires approval", "... was
                                            blocked. For security ..."), and otherwise held
                                            until ``result``'s ``permission_denials`` (the
                                            authoritative list) says blocked or error
``result`` success                          USAGE (usage, total_cost_usd) then FINISH with the
                                            model that answered (init's, without "[1m]", when
                                            no message named one)
``result`` is_error / ``error_*``           USAGE then ERROR (max turns/budget -> ceiling,
                                            api_error_status or text -> auth, rate_limit, ...)
anything else                               ignored (debug log)
==========================================  ===================================================

The shapes above were checked against the real Claude Code 2.1.197 (its stream-json against the
loopback fake, committed as tests/runtimes/fixtures/claude-code-2.1.197/).

Sources relied on (checked with the stored public docs):

- Headless mode, https://code.claude.com/docs/en/headless (formerly docs.anthropic.com/en/docs/
  claude-code/sdk/sdk-headless): ``--print``/``-p``, ``--output-format text|json|stream-json``
  ("starts with an init system message, followed by a list of user and assistant messages,
  followed by a final result system message with stats; each message is emitted as a separate
  JSON object"), ``--append-system-prompt`` (only with ``--print``), ``--allowedTools``,
  ``--verbose``.
- CLI reference, https://docs.anthropic.com/en/docs/claude-code/cli-reference: ``cat file |
  claude -p`` (prompt from stdin), ``--model``, ``--system-prompt``, ``--permission-mode``
  (default, acceptEdits, plan, bypassPermissions), ``--max-turns``, ``--include-partial-messages``,
  ``--dangerously-skip-permissions``; stream-json with ``-p`` requires ``--verbose``.
- Agent SDK message types (SDKSystemMessage, SDKAssistantMessage with ``error``
  authentication_failed | billing_error | rate_limit | invalid_request | server_error | unknown,
  SDKUserMessage, SDKPartialAssistantMessage ``stream_event``, SDKResultMessage with subtype
  success | error_max_turns | error_during_execution | error_max_budget_usd, ``is_error``,
  ``duration_ms``, ``num_turns``, ``total_cost_usd``, ``usage``); typed community clients of the
  same stream (docs.rs claude-codes / claude-code-agent ``ResultMessage``) add that a failed API
  call ends with subtype ``success``, ``is_error: true``, the message in ``result`` and the HTTP
  status in ``api_error_status``.
- Tool results as Claude Code writes them: Write answers "File created successfully at: <path>"
  for a new file and "The file <path> has been updated" for an existing one; the user event may
  also carry ``tool_use_result`` with ``type`` create | update.

Usage: ``result.usage`` has Anthropic semantics (input excludes cache reads and writes); it is
normalised with core.usage.usage_from_anthropic, so input includes them. ``total_cost_usd`` is the
provider-stated cost.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import re
from collections.abc import AsyncGenerator, Iterator
from dataclasses import dataclass
from typing import Any

from ato_desktop.core.models import (
    AgentStep,
    ErrorClass,
    FileTouch,
    RuntimeEvent,
    RuntimeRequest,
)
from ato_desktop.core.usage import to_usd, usage_from_anthropic
from ato_desktop.runtimes.subprocess_stream import (
    TEXT_LIMIT,
    CliCall,
    CliInfo,
    OptionError,
    ProcessExit,
    PromptError,
    child_environment,
    choice_option,
    deleted_files,
    exists,
    exit_failure,
    failure_event,
    float_option,
    int_option,
    list_option,
    model_option,
    output_fields,
    preflight,
    redact,
    relative_path,
    run_cli,
    transcript_prompt,
    trim_json,
    trim_text,
)

log = logging.getLogger(__name__)

CLAUDE_CODE = CliInfo(
    display_name="Claude Code",
    executable="claude",
    bin_env_var="ATO_CLAUDE_BIN",
    install_hint="npm install -g @anthropic-ai/claude-code",
    login_hint=(
        "Log in by running `claude` in a terminal and typing /login, or save an Anthropic API "
        "key with `ato-desktop keys set anthropic` (ATO passes it to Claude Code as "
        "ANTHROPIC_API_KEY)."
    ),
)

PERMISSION_MODES = ("default", "acceptEdits", "plan", "bypassPermissions", "dontAsk")
DEFAULT_PERMISSION_MODE = "acceptEdits"
FILE_TOOLS = frozenset({"Write", "Edit", "MultiEdit", "NotebookEdit"})
# How Claude Code words a refused tool in the tool_result (2.1: "This command requires
# approval" for Bash in headless mode, "... was blocked. For security, Claude Code may only ..."
# outside the allowed directories; older: "Claude requested permissions to use ...").
_PERMISSION_DENIED = re.compile(
    r"requires approval|was blocked\. for security|requested permissions? to use|"
    r"haven't granted|permission (?:was |has been )?denied",
    re.IGNORECASE,
)
# A Bash result that failed with a status: "Exit code 2\nls: cannot access ...".
_EXIT_CODE = re.compile(r"\A\s*(?:Error:\s*)?Exit code (-?\d+)\b")
# SDKAssistantMessage.error -> the class of the run's failure.
_ASSISTANT_ERRORS: dict[str, ErrorClass] = {
    "authentication_failed": ErrorClass.AUTH,
    "billing_error": ErrorClass.RATE_LIMIT,
    "rate_limit": ErrorClass.RATE_LIMIT,
    "invalid_request": ErrorClass.BAD_REQUEST,
    "server_error": ErrorClass.SERVER_ERROR,
}


def claude_command(executable: str, request: RuntimeRequest) -> list[str]:
    """The argv for one headless run (the prompt goes on stdin). Raises OptionError."""
    params = request.params
    argv = [
        executable,
        "-p",
        "--output-format",
        "stream-json",
        "--verbose",
        "--include-partial-messages",
        "--permission-mode",
        choice_option(params, "permission_mode", PERMISSION_MODES, DEFAULT_PERMISSION_MODE),
    ]
    model = model_option(request.model)
    if model:
        argv += ["--model", model]
    if request.system:
        flag = (
            "--system-prompt" if params.get("replace_system_prompt") else "--append-system-prompt"
        )
        argv += [flag, request.system]
    max_turns = int_option(params, "max_turns")
    if max_turns is not None:
        argv += ["--max-turns", str(max_turns)]
    budget = float_option(params, "max_budget_usd")
    if budget is not None:
        argv += ["--max-budget-usd", f"{budget:g}"]
    allowed = list_option(params, "allowed_tools")
    if allowed:
        argv += ["--allowedTools", ",".join(allowed)]
    disallowed = list_option(params, "disallowed_tools")
    if disallowed:
        argv += ["--disallowedTools", ",".join(disallowed)]
    return argv


class ClaudeCodeAdapter:
    """Runs Claude Code headless (``claude -p --output-format stream-json``) as RuntimeEvents.

    See the module docstring for the command line, the params and the event mapping.
    """

    name = "claude-code"
    # The dispatcher imports sdk_module before the first call; a CLI needs no SDK.
    sdk_module = "asyncio"
    env_key_var = "ANTHROPIC_API_KEY"
    key_name = "anthropic"
    display_name = CLAUDE_CODE.display_name

    async def stream(self, request: RuntimeRequest) -> AsyncGenerator[RuntimeEvent, None]:
        """Run one prompt through Claude Code; see RuntimeAdapter for the event contract."""
        secret = request.api_key
        ready = preflight(CLAUDE_CODE, request.cwd)
        if isinstance(ready, str):
            yield RuntimeEvent.error(ErrorClass.CONFIG, ready)
            return
        executable, cwd = ready
        try:
            prompt = transcript_prompt(request.messages)
            argv = claude_command(executable, request)
        except (PromptError, OptionError) as exc:
            yield RuntimeEvent.error(ErrorClass.CONFIG, redact(f"Claude Code: {exc}", secret))
            return
        call = CliCall(
            info=CLAUDE_CODE,
            argv=argv,
            cwd=cwd,
            env=child_environment({self.env_key_var: secret} if secret else {}),
            stdin_text=prompt,
            stall_timeout_s=request.stall_timeout_s,
            busy_timeout_s=max(request.stall_timeout_s, request.request_timeout_s),
            secret=secret,
        )
        parser = ClaudeStreamParser(cwd, secret)
        async with contextlib.aclosing(run_cli(call, parser)) as events:
            async for event in events:
                yield event


@dataclass
class _PendingTool:
    """A tool use waiting for its result."""

    name: str
    inputs: dict[str, Any]
    started_ns: int
    # Whether a file tool's target existed when the tool use was read: only a fallback for
    # results that do not say whether the file was created (the tool may have run already).
    existed: bool | None = None


class ClaudeStreamParser:
    """Claude Code's stream-json events -> RuntimeEvents (one parser per run)."""

    def __init__(self, cwd: str, secret: str | None) -> None:
        self._cwd = cwd
        self._secret = secret
        self._pending: dict[str, _PendingTool] = {}
        self._streamed_messages: set[str] = set()
        self._stream_message: str | None = None
        self._new_text_block = True
        self._text_sent = False
        self._result: dict[str, Any] | None = None
        self._assistant_error: str | None = None
        self._assistant_error_text = ""
        self._session_id: str | None = None
        self._model: str | None = None
        self._answered_by: str | None = None  # the model named by the main agent's messages
        self._anonymous_tools = 0
        # Failed tool results whose cause (a refusal, or a tool error) only the result event's
        # permission_denials can settle: held until then, with when they finished.
        self._undecided: list[tuple[AgentStep, str]] = []
        self._waiting_s = 0.0

    @property
    def busy(self) -> bool:
        return bool(self._pending)

    @property
    def waiting_s(self) -> float:
        """How long Claude Code said it waits before retrying the API (system/api_retry); that
        silence is not a stall."""
        return self._waiting_s

    @property
    def ended(self) -> bool:
        return self._result is not None

    # -- events ---------------------------------------------------------------------------------

    def feed(self, event: dict[str, Any], now_ns: int) -> Iterator[RuntimeEvent]:
        kind = event.get("type")
        self._waiting_s = 0.0
        if kind == "stream_event":
            yield from self._stream_event(event)
        elif kind == "assistant":
            yield from self._assistant(event, now_ns)
        elif kind == "user":
            yield from self._user(event, now_ns)
        elif kind == "result":
            self._result = event
        elif kind == "system":
            subtype = event.get("subtype")
            if subtype == "init":
                self._session_id = _text(event.get("session_id")) or self._session_id
                self._model = _text(event.get("model")) or self._model
            elif subtype == "api_retry":
                yield from self._api_retry(event)
        else:
            log.debug("claude-code: ignored event type %r", kind)

    def _text_event(self, text: str, new_block: bool) -> RuntimeEvent | None:
        if not text:
            return None
        if new_block and self._text_sent:
            text = "\n\n" + text  # separate the agent's successive messages
        self._text_sent = True
        return RuntimeEvent.text_delta(text)

    def _stream_event(self, event: dict[str, Any]) -> Iterator[RuntimeEvent]:
        if event.get("parent_tool_use_id"):
            return  # a subagent's tokens are not the answer
        inner = _dict(event.get("event"))
        kind = inner.get("type")
        if kind == "message_start":
            self._stream_message = _text(_dict(inner.get("message")).get("id"))
        elif kind == "content_block_start":
            self._new_text_block = _dict(inner.get("content_block")).get("type") == "text"
        elif kind == "content_block_delta":
            delta = _dict(inner.get("delta"))
            if delta.get("type") == "text_delta":
                text_event = self._text_event(_text(delta.get("text")), self._new_text_block)
                self._new_text_block = False
                if text_event is not None:
                    self._streamed_messages.add(self._stream_message or "")
                    yield text_event

    def _api_retry(self, event: dict[str, Any]) -> Iterator[RuntimeEvent]:
        """system/api_retry: an API call failed and Claude Code waits before the next attempt.
        A step says so (the run is waiting, not stuck), and the wait is allowed as silence."""
        delay_ms = event.get("retry_delay_ms")
        delay_s = (
            delay_ms / 1000
            if isinstance(delay_ms, int | float) and not isinstance(delay_ms, bool)
            else 0.0
        )
        self._waiting_s = max(delay_s, 0.0)
        status = event.get("error_status")
        outputs: dict[str, Any] = {
            "attempt": event.get("attempt"),
            "max_retries": event.get("max_retries"),
            "retry_delay_ms": delay_ms,
            "error_status": status,
            "error": redact(_text(event.get("error")), self._secret) or None,
        }
        yield RuntimeEvent.agent_step(
            AgentStep(
                name="api_retry",
                kind="wait",
                outputs={k: v for k, v in outputs.items() if v is not None},
                outcome="error",
                duration_ns=int(self._waiting_s * 1e9),
            )
        )

    def _assistant(self, event: dict[str, Any], now_ns: int) -> Iterator[RuntimeEvent]:
        message = _dict(event.get("message"))
        parent = _text(event.get("parent_tool_use_id")) or None
        message_id = _text(message.get("id"))
        error = _text(event.get("error")) or None
        if error:
            self._assistant_error = error
        model = _text(message.get("model"))
        if parent is None and not error and model and not model.startswith("<"):
            self._answered_by = model  # "<synthetic>" marks Claude Code's own error messages
        content = message.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        if not isinstance(blocks, list):
            return
        for block in blocks:
            if not isinstance(block, dict):
                continue
            kind = block.get("type")
            if kind == "text":
                text = _text(block.get("text"))
                if error:
                    self._assistant_error_text = text
                elif parent is None and message_id not in self._streamed_messages:
                    text_event = self._text_event(text, new_block=True)
                    if text_event is not None:
                        yield text_event
                if text:
                    yield RuntimeEvent.agent_step(
                        AgentStep(
                            name="message" if parent is None else "message (subagent)",
                            kind="message",
                            outputs={"text": redact(trim_text(text, TEXT_LIMIT), self._secret)},
                            outcome="error" if error else "success",
                        ),
                    )
            elif kind == "thinking":
                thinking = _text(block.get("thinking"))
                if thinking:
                    yield RuntimeEvent.agent_step(
                        AgentStep(
                            name="thinking",
                            kind="reasoning",
                            outputs={"text": redact(trim_text(thinking, TEXT_LIMIT), self._secret)},
                        ),
                    )
            elif kind == "tool_use":
                self._tool_use(block, now_ns)
            else:
                log.debug("claude-code: ignored assistant block type %r", kind)

    def _tool_use(self, block: dict[str, Any], now_ns: int) -> None:
        tool_id = _text(block.get("id"))
        if not tool_id:
            self._anonymous_tools += 1
            tool_id = f"anonymous-{self._anonymous_tools}"
        name = _text(block.get("name")) or "tool"
        inputs = _dict(block.get("input"))
        pending = _PendingTool(name, inputs, now_ns)
        path = _target_path(name, inputs)
        if path:
            pending.existed = exists(path, self._cwd)
        self._pending[tool_id] = pending

    def _user(self, event: dict[str, Any], now_ns: int) -> Iterator[RuntimeEvent]:
        content = _dict(event.get("message")).get("content")
        if not isinstance(content, list):
            return
        results = [b for b in content if isinstance(b, dict) and b.get("type") == "tool_result"]
        # The structured result describes the event's tool result when there is just one.
        structured = _dict(event.get("tool_use_result")) if len(results) == 1 else {}
        for block in results:
            tool_id = _text(block.get("tool_use_id"))
            pending = self._pending.pop(tool_id, None) or _PendingTool("tool", {}, now_ns)
            step = self._tool_step(pending, block, structured, now_ns)
            if step.outcome == "undecided":
                # A failure that neither says "Exit code N" nor words a refusal: the result
                # event's permission_denials will tell which it was.
                self._undecided.append((step, tool_id))
                continue
            yield RuntimeEvent.agent_step(step)

    def _tool_step(
        self, pending: _PendingTool, block: dict[str, Any], structured: dict[str, Any], now_ns: int
    ) -> AgentStep:
        is_error = bool(block.get("is_error"))
        text = _result_text(block.get("content"))
        name = pending.name
        kind = "command" if name == "Bash" else "file" if name in FILE_TOOLS else "tool"
        outcome = "success"
        outputs = output_fields(text, self._secret)
        exit_code: int | None = None
        if is_error:
            status = _EXIT_CODE.match(text)
            if status is not None:
                outcome, exit_code = "error", int(status.group(1))
            elif _PERMISSION_DENIED.search(text):
                outcome = "blocked"  # headless runs cannot ask: an unapproved tool is refused
            else:
                outcome = "undecided"
        elif name == "Bash" and not structured.get("interrupted"):
            exit_code = 0
        if name == "Bash":
            outputs["exit_code"] = exit_code  # None: it never ran, or was interrupted
        return AgentStep(
            name=name,
            kind=kind,
            inputs=trim_json(pending.inputs, secret=self._secret),
            outputs=outputs,
            outcome=outcome,
            duration_ns=max(now_ns - pending.started_ns, 0),
            files_touched=() if is_error else self._files_touched(pending, text, structured),
        )

    def _decided_steps(self, denied: set[str]) -> Iterator[RuntimeEvent]:
        """The held failures, now that permission_denials (authoritative) says which tool uses
        were refused: those are blocked, the rest errors."""
        for step, tool_id in self._undecided:
            outcome = "blocked" if tool_id in denied else "error"
            yield RuntimeEvent.agent_step(dataclasses.replace(step, outcome=outcome))
        self._undecided.clear()

    def _files_touched(
        self, pending: _PendingTool, text: str, structured: dict[str, Any]
    ) -> tuple[FileTouch, ...]:
        name = pending.name
        if name == "Bash":
            return deleted_files(_text(pending.inputs.get("command")), self._cwd)
        path = _target_path(name, pending.inputs)
        if not path or name not in FILE_TOOLS:
            return ()
        change = "edited"
        if name in ("Write", "Edit"):
            created = _write_created(structured, text)
            if created is None:
                # Nothing in the result says: compare with what was there before the call.
                created = pending.existed is False and exists(path, self._cwd)
            change = "created" if created else "edited"
        return (FileTouch(relative_path(path, self._cwd), change),)

    # -- the end --------------------------------------------------------------------------------

    def _unfinished_steps(self) -> Iterator[RuntimeEvent]:
        for pending in self._pending.values():
            yield RuntimeEvent.agent_step(
                AgentStep(
                    name=pending.name,
                    kind="command" if pending.name == "Bash" else "tool",
                    inputs=trim_json(pending.inputs, secret=self._secret),
                    outputs={"output": "no result: the run ended before this tool finished"},
                    outcome="error",
                ),
            )
        self._pending.clear()

    def finish(self, exit: ProcessExit) -> Iterator[RuntimeEvent]:
        yield from self._unfinished_steps()
        result = self._result
        yield from self._decided_steps(_denied_tool_ids(result))
        if result is None:
            if self._assistant_error:
                yield failure_event(
                    CLAUDE_CODE,
                    self._assistant_error_text or self._assistant_error,
                    self._secret,
                    error_class=_ASSISTANT_ERRORS.get(self._assistant_error),
                )
            else:
                yield exit_failure(CLAUDE_CODE, exit, self._secret)
            return
        failed = bool(result.get("is_error")) or result.get("subtype") not in (None, "success")
        answer = _text(result.get("result"))
        if not failed and not self._text_sent and answer:
            yield RuntimeEvent.text_delta(answer)  # no assistant text came through: use the result
        usage = result.get("usage")
        if isinstance(usage, dict):
            yield RuntimeEvent.usage_report(
                usage_from_anthropic(usage), to_usd(result.get("total_cost_usd"))
            )
        if failed:
            yield self._result_error(result)
        else:
            yield RuntimeEvent.finish(
                _text(result.get("stop_reason")) or _text(result.get("subtype")) or "success",
                _text(result.get("session_id")) or self._session_id,
                self._answered_by or _base_model(self._model),
            )

    def _result_error(self, result: dict[str, Any]) -> RuntimeEvent:
        subtype = _text(result.get("subtype"))
        errors = result.get("errors")
        detail = _text(result.get("result"))
        if not detail and isinstance(errors, list):
            detail = "; ".join(str(item) for item in errors if item)
        detail = detail or self._assistant_error_text or subtype or "an error"
        turns = result.get("num_turns")
        if subtype == "error_max_turns":
            after = f" after {turns} turns" if isinstance(turns, int) else ""
            return RuntimeEvent.error(
                ErrorClass.CEILING,
                f"Claude Code stopped at its turn limit (the agent's max_turns){after}.",
            )
        if subtype == "error_max_budget_usd":
            return RuntimeEvent.error(
                ErrorClass.CEILING,
                "Claude Code stopped at its spending limit (the agent's max_budget_usd).",
            )
        status = result.get("api_error_status")
        return failure_event(
            CLAUDE_CODE,
            detail,
            self._secret,
            status=status if isinstance(status, int) and not isinstance(status, bool) else None,
            error_class=_ASSISTANT_ERRORS.get(self._assistant_error or ""),
        )

    def stalled(self, stall_timeout_s: float) -> Iterator[RuntimeEvent]:
        yield from self._unfinished_steps()
        yield from self._decided_steps(set())
        yield RuntimeEvent.error(
            ErrorClass.STALLED,
            f"Claude Code stalled: it printed nothing for {stall_timeout_s:g} s, so it was "
            "stopped.",
        )


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _denied_tool_ids(result: dict[str, Any] | None) -> set[str]:
    """The tool_use ids the result event's permission_denials lists (Claude Code 2.1:
    ``[{"tool_name", "tool_use_id", "tool_input"}]``)."""
    denials = (result or {}).get("permission_denials")
    if not isinstance(denials, list):
        return set()
    return {_text(d.get("tool_use_id")) for d in denials if isinstance(d, dict)} - {""}


def _base_model(model: str | None) -> str | None:
    """init's model without Claude Code's context-window tag: "claude-opus-4-8[1m]" ->
    "claude-opus-4-8" (the name the API and the price table use)."""
    if not model:
        return None
    return re.sub(r"\[[^\]]*\]$", "", model) or model


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _target_path(tool: str, inputs: dict[str, Any]) -> str:
    """The file a file tool works on."""
    if tool == "NotebookEdit":
        return _text(inputs.get("notebook_path"))
    if tool in FILE_TOOLS:
        return _text(inputs.get("file_path"))
    return ""


def _write_created(structured: dict[str, Any], text: str) -> bool | None:
    """Whether a Write/Edit result says it created the file (None when it does not say)."""
    kind = structured.get("type")
    if kind == "create":
        return True
    if kind == "update":
        return False
    lowered = text.lower()
    if "created successfully" in lowered:
        return True
    if "has been updated" in lowered or "updated successfully" in lowered:
        return False
    return None


def _result_text(content: object) -> str:
    """A tool_result's content as text (a string, or a list of text blocks)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for block in content:
            if isinstance(block, dict):
                if block.get("type") == "text":
                    parts.append(_text(block.get("text")))
                else:
                    parts.append(f"[{_text(block.get('type')) or 'content'}]")
        return "\n".join(parts)
    return "" if content is None else str(content)
