"""The codex-cli runtime: OpenAI Codex CLI's non-interactive mode, run as a subprocess.

Command line (``-`` makes Codex read the prompt from stdin, so its size never meets argv
limits)::

    codex exec --json --skip-git-repo-check --cd <cwd> --sandbox <workspace-write>
               [--model <model>] [-c developer_instructions=<system>]
               [-c model_reasoning_effort=<effort>] -

run in ``request.cwd`` (the agent's working_dir) too, in a process group of its own. The agent's
params choose ``sandbox`` (read-only | workspace-write (default: edits inside the working
directory) | danger-full-access) and ``reasoning_effort`` (minimal | low | medium | high |
xhigh). ``codex exec`` never asks for approvals. The system prompt goes in as
``developer_instructions`` (a config key set with ``-c``; its value is a TOML string).
``CODEX_API_KEY`` (what ``codex exec`` reads) and ``OPENAI_API_KEY`` are set for the child only
when ATO holds an OpenAI key; otherwise Codex uses its own login (``codex login``).
``request.base_url`` is not used. Codex reports no cost: the dispatcher prices the tokens.

Event mapping (one JSON object per stdout line):

==================================  ==========================================================
``thread.started``                  thread id noted (FINISH's response id)
``item.started``                    start time noted (a step's duration)
``item.completed`` agent_message    TEXT, STEP message
``item.completed`` reasoning, plan  STEP reasoning
``item.completed`` command_exec…    STEP command (command, exit code, output trimmed with its
                                    full length); outcome error on a failed command or a
                                    non-zero exit, blocked on a declined one; an ``rm`` that
                                    removed files -> deleted
``item.completed`` file_change      STEP file, a FileTouch per change: add -> created,
                                    update -> edited, delete -> deleted (a move: the old path
                                    deleted, the new created); outcome error when the patch failed
``item.completed`` mcp_tool_call    STEP tool named server/tool (arguments, result or error)
``item.completed`` web_search,      STEP tool / reasoning
todo_list, collab_tool_call
``item.completed`` error            STEP message with outcome error (a non-fatal notice)
``error``                           STEP message with outcome error; the run's error if no
                                    turn end follows
``turn.completed``                  USAGE (input includes cached_input_tokens and
                                    cache_write_input_tokens) then FINISH; for a "default"
                                    model, FINISH names the model from the session's rollout
                                    ($CODEX_HOME/sessions/.../rollout-*-<thread>.jsonl)
``turn.failed``                     ERROR (classified from its message: auth, rate_limit, ...)
anything else (item.updated, …)     ignored (debug log)
==================================  ==========================================================

The usage and failure shapes were checked against the real Codex CLI 0.171.0 (its
``exec --json`` against the loopback fake, committed as tests/runtimes/fixtures/codex-0.171.0/).

Sources relied on (checked with the stored public docs and code):

- openai/codex ``docs/exec.md`` (Non-interactive mode): ``codex exec --json`` streams JSON Lines;
  event types thread.started, turn.started, turn.completed (with usage), turn.failed,
  item.started / item.updated / item.completed; item types agent_message, reasoning,
  command_execution, file_change, mcp_tool_call, web_search; the sample stream with usage
  ``{input_tokens, cached_input_tokens, output_tokens}``; ``--skip-git-repo-check``; the
  ``--full-auto`` / ``--sandbox`` modes; ``CODEX_API_KEY`` for ``codex exec``.
- openai/codex ``codex-rs/exec/src/exec_events.rs`` (the typed events): ThreadEvent (adds
  ``error`` and item.plan.delta), ThreadItem ``{id, type, ...}`` with CommandExecutionItem
  ``{command, aggregated_output, exit_code, status in_progress|completed|failed|declined}``,
  FileChangeItem ``{changes: [{path, kind add|delete|update}], status}``, McpToolCallItem
  ``{server, tool, arguments, result, error, status}``, TodoListItem, ErrorItem, ReasoningItem.
- openai/codex ``codex-rs/exec/src/cli.rs``: ``PROMPT`` read from stdin when it is ``-``;
  ``--json``; ``--full-auto`` deprecated ("use --sandbox workspace-write instead");
  ``--model``, ``--cd``, ``--sandbox`` and ``-c key=value`` from the shared options.
- ``event_processor_with_jsonl_output.rs``: an ``error`` event is not necessarily the end (the
  turn goes on); a failed turn ends with turn.failed, an interrupted one with nothing.
- ``-c developer_instructions=...`` as used by other Codex integrations (codex-in-claude
  release notes: placed as the first developer message).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
from collections.abc import AsyncGenerator, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ato_desktop.core.models import (
    AgentStep,
    ErrorClass,
    FileTouch,
    RuntimeEvent,
    RuntimeRequest,
    TokenUsage,
)
from ato_desktop.core.usage import to_count
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
    exit_failure,
    failure_event,
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

CODEX_CLI = CliInfo(
    display_name="Codex CLI",
    executable="codex",
    bin_env_var="ATO_CODEX_BIN",
    install_hint="npm install -g @openai/codex (or: brew install --cask codex)",
    login_hint=(
        "Log in with `codex login`, or save an OpenAI API key with `ato-desktop keys set "
        "openai` (ATO passes it to Codex as CODEX_API_KEY)."
    ),
)

SANDBOX_MODES = ("read-only", "workspace-write", "danger-full-access")
DEFAULT_SANDBOX = "workspace-write"
REASONING_EFFORTS = ("minimal", "low", "medium", "high", "xhigh")
_CHANGES = {"add": "created", "update": "edited", "delete": "deleted"}
# Items that run something: while one is in flight, Codex may rightly be silent for long.
_WORK_ITEMS = frozenset(
    {"command_execution", "mcp_tool_call", "web_search", "file_change", "collab_tool_call"}
)


def toml_string(text: str) -> str:
    """``text`` as a TOML basic string (the value syntax of ``codex -c key=value``).

    JSON's escapes (``\\"``, ``\\\\``, ``\\n``, ``\\uXXXX`` for control characters) are all
    valid TOML; DEL, which JSON leaves alone and TOML forbids raw, is escaped too.
    """
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def codex_command(executable: str, request: RuntimeRequest, cwd: str) -> list[str]:
    """The argv for one ``codex exec`` run (the prompt goes on stdin). Raises OptionError."""
    params = request.params
    argv = [
        executable,
        "exec",
        "--json",
        "--skip-git-repo-check",
        "--cd",
        cwd,
        "--sandbox",
        choice_option(params, "sandbox", SANDBOX_MODES, DEFAULT_SANDBOX),
    ]
    model = model_option(request.model)
    if model:
        argv += ["--model", model]
    if request.system:
        argv += ["-c", f"developer_instructions={toml_string(request.system)}"]
    if params.get("reasoning_effort") is not None:
        effort = choice_option(params, "reasoning_effort", REASONING_EFFORTS, "medium")
        argv += ["-c", f"model_reasoning_effort={toml_string(effort)}"]
    argv.append("-")
    return argv


class CodexCliAdapter:
    """Runs ``codex exec --json`` as RuntimeEvents.

    See the module docstring for the command line, the params and the event mapping.
    """

    name = "codex-cli"
    # The dispatcher imports sdk_module before the first call; a CLI needs no SDK.
    sdk_module = "asyncio"
    env_key_var = "OPENAI_API_KEY"
    key_name = "openai"
    display_name = CODEX_CLI.display_name

    async def stream(self, request: RuntimeRequest) -> AsyncGenerator[RuntimeEvent, None]:
        """Run one prompt through Codex; see RuntimeAdapter for the event contract."""
        secret = request.api_key
        ready = preflight(CODEX_CLI, request.cwd)
        if isinstance(ready, str):
            yield RuntimeEvent.error(ErrorClass.CONFIG, ready)
            return
        executable, cwd = ready
        try:
            prompt = transcript_prompt(request.messages)
            argv = codex_command(executable, request, cwd)
        except (PromptError, OptionError) as exc:
            yield RuntimeEvent.error(ErrorClass.CONFIG, redact(f"Codex CLI: {exc}", secret))
            return
        keys = {"CODEX_API_KEY": secret, self.env_key_var: secret} if secret else {}
        env = child_environment(keys)
        call = CliCall(
            info=CODEX_CLI,
            argv=argv,
            cwd=cwd,
            env=env,
            stdin_text=prompt,
            stall_timeout_s=request.stall_timeout_s,
            busy_timeout_s=max(request.stall_timeout_s, request.request_timeout_s),
            secret=secret,
        )
        parser = CodexStreamParser(cwd, secret, model_option(request.model), codex_home(env))
        async with contextlib.aclosing(run_cli(call, parser)) as events:
            async for event in events:
                yield event


@dataclass
class _Started:
    """An item Codex has started but not completed."""

    item: dict[str, Any]
    started_ns: int


class CodexStreamParser:
    """Codex's ``exec --json`` events -> RuntimeEvents (one parser per run)."""

    def __init__(
        self, cwd: str, secret: str | None, model: str | None, home: str | None = None
    ) -> None:
        self._cwd = cwd
        self._secret = secret
        self._model = model
        self._home = home  # CODEX_HOME, where the session's rollout names the model used
        self._started: dict[str, _Started] = {}
        self._thread_id: str | None = None
        self._usage: TokenUsage | None = None
        self._turn_completed = False
        self._turn_failed: str | None = None
        self._last_error: str | None = None
        self._text_sent = False

    @property
    def busy(self) -> bool:
        return any(_item_type(s.item) in _WORK_ITEMS for s in self._started.values())

    @property
    def ended(self) -> bool:
        return self._turn_completed or self._turn_failed is not None

    @property
    def waiting_s(self) -> float:
        return 0.0  # codex exec announces no retry delay (its notices are "Reconnecting...")

    def feed(self, event: dict[str, Any], now_ns: int) -> Iterator[RuntimeEvent]:
        kind = event.get("type")
        item = _dict(event.get("item"))
        item_id = _text(item.get("id"))
        if kind == "item.completed":
            started = self._started.pop(item_id, None) if item_id else None
            yield from self._completed(item, started, now_ns)
        elif kind == "item.started":
            if item_id:
                self._started[item_id] = _Started(item, now_ns)
        elif kind == "item.updated":
            if item_id in self._started:
                self._started[item_id].item = item
        elif kind == "turn.completed":
            self._turn_completed = True
            reported = _dict(event.get("usage"))
            if reported:  # no usage is unknown usage, not zero tokens
                usage = _usage(reported)
                self._usage = usage if self._usage is None else self._usage + usage
        elif kind == "turn.failed":
            error = event.get("error")
            message = _text(_dict(error).get("message")) or _text(error)
            self._turn_failed = message or "the turn failed"
        elif kind == "error":
            message = _text(event.get("message")) or _text(_dict(event.get("error")).get("message"))
            self._last_error = message or "an error"
            yield RuntimeEvent.agent_step(
                AgentStep(
                    name="error",
                    kind="message",
                    outputs={
                        "message": redact(trim_text(self._last_error, TEXT_LIMIT), self._secret)
                    },
                    outcome="error",
                )
            )
        elif kind == "thread.started":
            self._thread_id = _text(event.get("thread_id")) or self._thread_id
        else:
            log.debug("codex-cli: ignored event type %r", kind)

    def _completed(
        self, item: dict[str, Any], started: _Started | None, now_ns: int
    ) -> Iterator[RuntimeEvent]:
        kind = _item_type(item)
        duration = max(now_ns - started.started_ns, 0) if started else None
        if kind == "agent_message":
            text = _text(item.get("text"))
            if text:
                yield RuntimeEvent.text_delta("\n\n" + text if self._text_sent else text)
                self._text_sent = True
            yield RuntimeEvent.agent_step(
                AgentStep(
                    name="agent_message",
                    kind="message",
                    outputs={"text": redact(trim_text(text, TEXT_LIMIT), self._secret)},
                )
            )
        elif kind in ("reasoning", "plan"):
            yield RuntimeEvent.agent_step(
                AgentStep(
                    name=kind,
                    kind="reasoning",
                    outputs={
                        "text": redact(trim_text(_text(item.get("text")), TEXT_LIMIT), self._secret)
                    },
                    duration_ns=duration,
                )
            )
        elif kind == "command_execution":
            yield RuntimeEvent.agent_step(self._command_step(item, duration))
        elif kind == "file_change":
            yield RuntimeEvent.agent_step(self._file_change_step(item, duration))
        elif kind == "mcp_tool_call":
            error = item.get("error")
            failed = item.get("status") == "failed" or bool(error)
            outputs = (
                {"error": trim_json(error, secret=self._secret)}
                if error
                else {"result": trim_json(item.get("result"), secret=self._secret)}
            )
            server, tool = _text(item.get("server")), _text(item.get("tool"))
            yield RuntimeEvent.agent_step(
                AgentStep(
                    name=f"{server}/{tool}" if server else tool or "mcp_tool_call",
                    kind="tool",
                    inputs=trim_json(item.get("arguments"), secret=self._secret),
                    outputs=outputs,
                    outcome="error" if failed else "success",
                    duration_ns=duration,
                )
            )
        elif kind == "error":
            yield RuntimeEvent.agent_step(
                AgentStep(
                    name="error",
                    kind="message",
                    outputs={"message": redact(_text(item.get("message")), self._secret)},
                    outcome="error",
                )
            )
        else:
            step_kind = "reasoning" if kind == "todo_list" else "tool"
            details = {k: v for k, v in item.items() if k not in ("id", "type", "item_type")}
            yield RuntimeEvent.agent_step(
                AgentStep(
                    name=kind or "item",
                    kind=step_kind,
                    outputs=trim_json(details, secret=self._secret),
                    outcome="error" if item.get("status") == "failed" else "success",
                    duration_ns=duration,
                )
            )

    def _command_step(self, item: dict[str, Any], duration: int | None) -> AgentStep:
        command = _text(item.get("command"))
        status = _text(item.get("status"))
        exit_code = item.get("exit_code")
        exit_code = (
            exit_code if isinstance(exit_code, int) and not isinstance(exit_code, bool) else None
        )
        failed = status in ("failed", "declined") or (exit_code is not None and exit_code != 0)
        outcome = "blocked" if status == "declined" else "error" if failed else "success"
        outputs = output_fields(_text(item.get("aggregated_output")), self._secret)
        outputs["exit_code"] = exit_code
        if status:
            outputs["status"] = status
        files = () if failed else deleted_files(command, self._cwd)
        return AgentStep(
            name="command",
            kind="command",
            inputs={"command": redact(trim_text(command, TEXT_LIMIT), self._secret)},
            outputs=outputs,
            outcome=outcome,
            duration_ns=duration,
            files_touched=files,
        )

    def _file_change_step(self, item: dict[str, Any], duration: int | None) -> AgentStep:
        changes = item.get("changes")
        failed = item.get("status") == "failed"
        touched: list[FileTouch] = []
        listed: list[dict[str, Any]] = []
        for change in changes if isinstance(changes, list) else []:
            if not isinstance(change, dict):
                continue
            path = _text(change.get("path"))
            raw_kind = change.get("kind")
            # exec_events.rs: "add" | "delete" | "update"; the app-server protocol tags the kind
            # instead ({"type": "update", "move_path": ...}).
            kind = _text(raw_kind) or _text(_dict(raw_kind).get("type"))
            move_path = _text(_dict(raw_kind).get("move_path")) or _text(change.get("move_path"))
            entry: dict[str, Any] = {"path": path, "kind": kind}
            if move_path:
                entry["move_path"] = move_path
            if isinstance(change.get("diff"), str):
                entry["diff"] = redact(trim_text(change["diff"], TEXT_LIMIT), self._secret)
            listed.append(entry)
            if not path or failed:
                continue
            if move_path:
                touched.append(FileTouch(relative_path(path, self._cwd), "deleted"))
                touched.append(FileTouch(relative_path(move_path, self._cwd), "created"))
            else:
                touched.append(
                    FileTouch(relative_path(path, self._cwd), _CHANGES.get(kind, "edited"))
                )
        return AgentStep(
            name="file_change",
            kind="file",
            inputs={"changes": listed},
            outputs={"status": _text(item.get("status")) or None},
            outcome="error" if failed else "success",
            duration_ns=duration,
            files_touched=tuple(touched),
        )

    # -- the end --------------------------------------------------------------------------------

    def _unfinished_steps(self) -> Iterator[RuntimeEvent]:
        for started in self._started.values():
            kind = _item_type(started.item)
            if kind not in _WORK_ITEMS:
                continue
            yield RuntimeEvent.agent_step(
                AgentStep(
                    name="command" if kind == "command_execution" else kind,
                    kind="command" if kind == "command_execution" else "tool",
                    inputs=trim_json(
                        {k: v for k, v in started.item.items() if k not in ("id", "type")},
                        secret=self._secret,
                    ),
                    outputs={"output": "no result: the run ended before this item completed"},
                    outcome="error",
                )
            )
        self._started.clear()

    def finish(self, exit: ProcessExit) -> Iterator[RuntimeEvent]:
        yield from self._unfinished_steps()
        if self._usage is not None:
            yield RuntimeEvent.usage_report(self._usage)
        if self._turn_failed is not None:
            yield failure_event(CODEX_CLI, self._turn_failed, self._secret)
        elif self._turn_completed:
            model = self._model
            if model is None and self._home and self._thread_id:
                # Codex chose the model ("default"): its events never name it, the session's
                # rollout file does.
                model = rollout_model(self._home, self._thread_id)
            yield RuntimeEvent.finish("completed", self._thread_id, model)
        elif self._last_error is not None:
            yield failure_event(CODEX_CLI, self._last_error, self._secret)
        else:
            yield exit_failure(CODEX_CLI, exit, self._secret)

    def stalled(self, stall_timeout_s: float) -> Iterator[RuntimeEvent]:
        yield from self._unfinished_steps()
        if self._usage is not None:
            yield RuntimeEvent.usage_report(self._usage)
        yield RuntimeEvent.error(
            ErrorClass.STALLED,
            f"Codex CLI stalled: it printed nothing for {stall_timeout_s:g} s, so it was stopped.",
        )


def _usage(usage: dict[str, Any]) -> TokenUsage:
    """TokenUsage from turn.completed's usage: input_tokens includes cached_input_tokens and
    (Codex 0.171) cache_write_input_tokens, the prompt written to the provider's cache."""
    cached = to_count(usage.get("cached_input_tokens"))
    written = to_count(usage.get("cache_write_input_tokens"))
    output = to_count(usage.get("output_tokens"))
    reasoning = to_count(usage.get("reasoning_output_tokens"))
    return TokenUsage(
        input_tokens=max(to_count(usage.get("input_tokens")), cached + written),
        output_tokens=max(output, reasoning),
        cache_read_tokens=cached,
        cache_write_tokens=written,
        reasoning_tokens=reasoning,
    )


def codex_home(env: Mapping[str, str]) -> str:
    """Where Codex keeps its sessions: $CODEX_HOME, else ~/.codex."""
    return env.get("CODEX_HOME") or os.path.join(os.path.expanduser("~"), ".codex")


_THREAD_ID = re.compile(r"[0-9A-Za-z-]{8,64}")
_ROLLOUT_SCAN_LINES = 400


def rollout_model(home: str, thread_id: str) -> str | None:
    """The model of a Codex session, from the turn_context record of its rollout file
    (``$CODEX_HOME/sessions/YYYY/MM/DD/rollout-<time>-<thread id>.jsonl``, Codex 0.171); None
    when there is no such file or record. Reads the head of the newest match only."""
    if not _THREAD_ID.fullmatch(thread_id):
        return None
    matches = sorted(Path(home, "sessions").glob(f"*/*/*/rollout-*-{thread_id}.jsonl"))
    if not matches:
        return None
    try:
        with matches[-1].open(encoding="utf-8", errors="replace") as rollout:
            for _, line in zip(range(_ROLLOUT_SCAN_LINES), rollout, strict=False):
                if '"turn_context"' not in line:
                    continue
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                model = _text(_dict(_dict(record).get("payload")).get("model"))
                if record.get("type") == "turn_context" and model:
                    return model
    except OSError:
        return None
    return None


def _item_type(item: dict[str, Any]) -> str:
    # "item_type" is what the first, experimental JSON format called it.
    return _text(item.get("type")) or _text(item.get("item_type"))


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
