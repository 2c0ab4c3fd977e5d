"""What the coding-agent runtimes (claude-code, codex-cli) share.

Both run a CLI as a subprocess that prints one JSON event per line on stdout. This module:

- finds the executable (on PATH, or the path in an ``ATO_*_BIN`` variable) and checks the
  working directory;
- starts it in a process group of its own (``start_new_session``; on Windows
  ``CREATE_NEW_PROCESS_GROUP``), writes the prompt to its stdin and reads its stdout line by line
  as it arrives, with stall detection;
- on cancellation (a kill), on a stall, and when the run ends, signals the whole group: SIGTERM,
  then SIGKILL after ``TERMINATE_GRACE_S`` for anything still alive, so nothing the agent started
  outlives the run (a child that moved itself to a session of its own escapes any group signal);
- hands each parsed event to a runtime-specific ``EventParser``, which turns it into
  RuntimeEvents, and tells it how the process ended;
- has the helpers both parsers need: output trimming, paths relative to the working directory,
  files an ``rm`` evidently deleted, the transcript prompt, failure classification.

Stall rule: a CLI says nothing while a tool or command it started is running (a test suite may
take minutes), so while the parser reports work in flight the allowance is the request timeout;
otherwise it is ``stall_timeout_s``. A wait the CLI announced (Claude Code's api_retry with its
retry delay) is added to the allowance: the run is waiting, not stalled. There is no overall
time limit: a coding agent's run may legitimately take long, and the user can always kill it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncGenerator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ato_desktop.core.models import ChatMessage, ErrorClass, FileTouch, RuntimeEvent
from ato_desktop.core.redaction import redact_secrets

log = logging.getLogger(__name__)

TERMINATE_GRACE_S = 0.5
"""How long the process group has to exit after SIGTERM before it gets SIGKILL."""
LINE_LIMIT = 16 * 1024 * 1024
"""Longest stdout line read whole; a tool result with a big file can run to megabytes."""
DRAIN_AFTER_END_S = 2.0
"""How long to wait for stdout to close once the CLI has sent its terminal event."""
OUTPUT_LIMIT = 4000
"""Characters of a command's or tool's output kept in a step (head and tail)."""
TEXT_LIMIT = 8000
"""Characters of a message or reasoning text kept in a step."""
INPUT_STRING_LIMIT = 2000
"""Characters kept of each string inside a step's inputs (a Write tool's whole file, say)."""
STDERR_TAIL_CHARS = 800
"""Characters of stderr quoted in an error message (its last lines)."""
_STDERR_KEEP_BYTES = 64 * 1024


# ---------------------------------------------------------------------------------------------
# The CLI and its working directory


@dataclass(frozen=True, slots=True)
class CliInfo:
    """How messages name a coding-agent CLI and tell the user to install it or log in."""

    display_name: str  # "Claude Code"
    executable: str  # "claude"
    bin_env_var: str  # "ATO_CLAUDE_BIN": a path or name that overrides the PATH lookup
    install_hint: str  # the command that installs it
    login_hint: str  # how to log in, or give ATO a key


class ExecutableNotFound(Exception):
    """The CLI is not installed (or the override variable points nowhere); message says why."""


def find_executable(info: CliInfo, environ: Mapping[str, str] | None = None) -> str:
    """The CLI's path: ``$<bin_env_var>`` if set (a path, or a name looked up on PATH), else the
    executable's name on PATH. Raises ExecutableNotFound with install instructions."""
    env = os.environ if environ is None else environ
    not_installed = (
        f"{info.display_name} is not installed: {info.install_hint} "
        f"(then `{info.executable}` must be on PATH, or set {info.bin_env_var} to its path)."
    )
    override = env.get(info.bin_env_var, "").strip()
    path_var = env.get("PATH")
    if override:
        if os.sep in override or (os.altsep and os.altsep in override):
            if os.path.isfile(override) and os.access(override, os.X_OK):
                return override
            found = None
        else:
            found = shutil.which(override, path=path_var)
        if found is None:
            raise ExecutableNotFound(
                f"{info.bin_env_var} is set to {override!r}, which is not an executable file. "
                f"Fix or unset it. {not_installed}"
            )
        return found
    found = shutil.which(info.executable, path=path_var)
    if found is None:
        raise ExecutableNotFound(not_installed)
    return found


def working_dir_problem(cwd: str | None, info: CliInfo) -> str | None:
    """Why ``cwd`` cannot be the agent's working directory, or None when it can."""
    if not cwd or not cwd.strip():
        return (
            f"{info.display_name} needs a working directory: set the agent's working_dir to "
            "the folder it should work in."
        )
    if not os.path.isdir(cwd):
        what = "is not a directory" if os.path.exists(cwd) else "does not exist"
        return (
            f"The working directory {cwd!r} {what}: create it, or set the agent's working_dir "
            f"to the folder {info.display_name} should work in."
        )
    return None


def preflight(info: CliInfo, cwd: str | None) -> tuple[str, str] | str:
    """(executable, working directory) to run the CLI with, or why it cannot run: the same
    checks for every coding-agent runtime, before anything is started."""
    try:
        executable = find_executable(info)
    except ExecutableNotFound as exc:
        return str(exc)
    problem = working_dir_problem(cwd, info)
    if problem or cwd is None:
        return problem or "No working directory."
    return executable, cwd


def child_environment(extra: Mapping[str, str]) -> dict[str, str]:
    """This process's environment plus ``extra`` (the API key variables, when ATO has a key)."""
    env = dict(os.environ)
    env.update(extra)
    return env


# ---------------------------------------------------------------------------------------------
# The stream


@dataclass(frozen=True, slots=True)
class ProcessExit:
    """How the CLI ended: its exit status (None if it had to be killed), its stderr's last
    characters (redacted), and how many stdout lines were not JSON objects."""

    returncode: int | None
    stderr_tail: str
    malformed_lines: int


class EventParser(Protocol):
    """Turns one CLI's JSON events into RuntimeEvents (one parser per run)."""

    @property
    def busy(self) -> bool:
        """True while a tool or command the agent started is still running."""
        ...

    @property
    def ended(self) -> bool:
        """True once the CLI sent its terminal event (Claude's result, Codex's turn end)."""
        ...

    @property
    def waiting_s(self) -> float:
        """Seconds the CLI said, in its last event, that it will wait before going on (0)."""
        ...

    def feed(self, event: dict[str, Any], now_ns: int) -> Iterable[RuntimeEvent]:
        """Events for one parsed line; never raises for shapes it does not know."""
        ...

    def finish(self, exit: ProcessExit) -> Iterable[RuntimeEvent]:
        """The closing events: steps left unfinished, USAGE if reported, then FINISH or ERROR."""
        ...

    def stalled(self, stall_timeout_s: float) -> Iterable[RuntimeEvent]:
        """The closing events of a stalled run: steps left unfinished, USAGE so far, ERROR."""
        ...


@dataclass(frozen=True, slots=True)
class CliCall:
    """One run of a coding-agent CLI."""

    info: CliInfo
    argv: Sequence[str]
    cwd: str
    env: Mapping[str, str]
    stdin_text: str
    stall_timeout_s: float
    busy_timeout_s: float
    secret: str | None  # the API key handed to the CLI, redacted from every message


async def run_cli(call: CliCall, parser: EventParser) -> AsyncGenerator[RuntimeEvent, None]:
    """Run the CLI and yield what ``parser`` makes of its stdout; see the module docstring.

    Never raises for the CLI's failures (they end the stream with an ERROR). Cancellation
    propagates after the process group has been terminated.
    """
    try:
        process = await _spawn(call)
    except OSError as exc:
        yield RuntimeEvent.error(
            ErrorClass.CONFIG,
            redact(
                f"Could not start {call.info.display_name} ({call.argv[0]}): "
                f"{exc.strerror or exc}. {call.info.install_hint}",
                call.secret,
            ),
        )
        return
    assert process.stdout is not None and process.stderr is not None
    stderr = _StderrTail()
    stderr_task = asyncio.create_task(stderr.collect(process.stderr))
    stdin_task = asyncio.create_task(_write_stdin(process, call.stdin_text))
    malformed = 0
    try:
        while True:
            if parser.ended:
                timeout: float | None = DRAIN_AFTER_END_S
            else:
                allowance = call.busy_timeout_s if parser.busy else call.stall_timeout_s
                # A wait the CLI announced (an API retry's backoff) is silence, not a stall.
                timeout = allowance + parser.waiting_s if allowance > 0 else None
            try:
                async with asyncio.timeout(timeout):
                    raw = await process.stdout.readline()
            except TimeoutError:
                if parser.ended or process.returncode is not None:
                    # Done (or dead) but a descendant still holds stdout open: stop reading.
                    break
                for event in parser.stalled(call.stall_timeout_s):
                    yield event
                return
            except ValueError:
                # Longer than LINE_LIMIT: asyncio dropped it; what follows is read normally.
                malformed += 1
                log.warning(
                    "%s: skipped a stdout line over %d bytes", call.info.executable, LINE_LIMIT
                )
                continue
            if not raw:
                break
            line = raw.decode("utf-8", errors="replace").strip()
            if not line:
                continue
            parsed = _parse_line(line)
            if parsed is None:
                malformed += 1
                _note_malformed(call, line, malformed)
                continue
            for runtime_event in parser.feed(parsed, time.perf_counter_ns()):
                yield runtime_event
        # After the terminal event there is nothing left to wait for but the exit itself.
        returncode = await _wait_exit(
            process, DRAIN_AFTER_END_S if parser.ended else call.stall_timeout_s
        )
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1.0):
                await asyncio.shield(stderr_task)
        tail = redact(stderr.tail(), call.secret)
        for runtime_event in parser.finish(ProcessExit(returncode, tail, malformed)):
            yield runtime_event
    finally:
        # Normal end, stall, error, cancellation (kill) or aclose(): the group goes, every time.
        try:
            await terminate_group(process)
        finally:
            for task in (stdin_task, stderr_task):
                task.cancel()
            await asyncio.gather(stdin_task, stderr_task, return_exceptions=True)


async def _spawn(call: CliCall) -> asyncio.subprocess.Process:
    options: dict[str, Any] = {}
    if sys.platform == "win32":
        options["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP
    else:
        options["start_new_session"] = True
    return await asyncio.create_subprocess_exec(
        *call.argv,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=call.cwd,
        env=dict(call.env),
        limit=LINE_LIMIT,
        **options,
    )


async def _write_stdin(process: asyncio.subprocess.Process, text: str) -> None:
    """Send the prompt and close stdin; a CLI that exits without reading it is not our error."""
    stdin = process.stdin
    if stdin is None:
        return
    try:
        stdin.write(text.encode("utf-8"))
        await stdin.drain()
    except (BrokenPipeError, ConnectionResetError):
        pass
    finally:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError, RuntimeError):
            stdin.close()


async def _wait_exit(process: asyncio.subprocess.Process, timeout_s: float) -> int | None:
    """The exit status once stdout has closed; None if the process does not exit in time."""
    try:
        async with asyncio.timeout(max(timeout_s, 1.0)):
            return await process.wait()
    except TimeoutError:
        return None


def _parse_line(line: str) -> dict[str, Any] | None:
    try:
        value = json.loads(line)
    except (ValueError, RecursionError):  # also [[[[... deeper than the decoder recurses
        return None
    return value if isinstance(value, dict) else None


def _note_malformed(call: CliCall, line: str, count: int) -> None:
    shown = redact(line[:200], call.secret)
    if count == 1:
        log.warning(
            "%s printed a line that is not a JSON event (skipped): %r", call.info.executable, shown
        )
    else:
        log.debug("%s: skipped non-JSON line %d: %r", call.info.executable, count, shown)


class _StderrTail:
    """Reads stderr to its end (so the CLI never blocks on a full pipe), keeping the end."""

    def __init__(self) -> None:
        self._chunks: collections.deque[bytes] = collections.deque()
        self._size = 0

    async def collect(self, stream: asyncio.StreamReader) -> None:
        while chunk := await stream.read(4096):
            self._chunks.append(chunk)
            self._size += len(chunk)
            while self._size > _STDERR_KEEP_BYTES and len(self._chunks) > 1:
                self._size -= len(self._chunks.popleft())

    def tail(self) -> str:
        text = b"".join(self._chunks).decode("utf-8", errors="replace")
        text = _ANSI.sub("", text).strip()
        if len(text) > STDERR_TAIL_CHARS:
            text = "…" + text[-STDERR_TAIL_CHARS:]
        return text


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


# ---------------------------------------------------------------------------------------------
# Terminating the process group


async def terminate_group(process: asyncio.subprocess.Process) -> None:
    """End the CLI and everything in its process group; returns once the CLI is reaped.

    SIGTERM to the group; then, for whatever is still alive after TERMINATE_GRACE_S (or the
    moment the caller is cancelled again), SIGKILL. Safe to call when everything has exited.
    """
    if sys.platform == "win32":  # best effort: Windows has no process groups to signal
        await _terminate_windows(process)
        return
    pgid = process.pid  # start_new_session: the CLI leads a group of its own
    if process.returncode is not None and not _group_alive(pgid):
        return
    _signal_group(pgid, signal.SIGTERM)
    try:
        deadline = time.monotonic() + TERMINATE_GRACE_S
        while time.monotonic() < deadline:
            if process.returncode is None:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max(deadline - time.monotonic(), 0.0)):
                        await process.wait()
            elif _group_alive(pgid):
                await asyncio.sleep(0.02)
            else:
                return
    finally:
        # Also reached when a second cancellation interrupts the grace period.
        if process.returncode is None or _group_alive(pgid):
            _signal_group(pgid, signal.SIGKILL)
    await process.wait()


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def _group_alive(pgid: int) -> bool:
    """True while a process of the group is alive (zombies waiting to be reaped do not count)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return bool(live_group_members(pgid)) if sys.platform == "linux" else True


def live_group_members(pgid: int) -> list[int]:
    """Linux: the pids of group ``pgid`` that are alive, read from /proc (zombies excluded).

    An orphaned zombie stays in its group until init reaps it, and some container inits never
    do, so "the group still answers to signal 0" is not "something still runs".
    """
    members = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # After "(comm)": state, ppid, pgrp, ...
        if len(fields) > 2 and fields[2] == str(pgid).encode() and fields[0] not in (b"Z", b"X"):
            members.append(int(entry.name))
    return members


async def _terminate_windows(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    with contextlib.suppress(OSError, ValueError, AttributeError):
        process.send_signal(signal.CTRL_BREAK_EVENT)  # type: ignore[attr-defined,unused-ignore]
    try:
        async with asyncio.timeout(TERMINATE_GRACE_S):
            await process.wait()
            return
    except TimeoutError:
        pass
    with contextlib.suppress(ProcessLookupError, OSError):
        process.kill()
    await process.wait()


# ---------------------------------------------------------------------------------------------
# Prompts


class PromptError(ValueError):
    """A conversation that cannot be sent to a coding agent (nothing from the user last)."""


def transcript_prompt(messages: Sequence[ChatMessage]) -> str:
    """The one prompt a coding-agent CLI takes: the last user message, with earlier turns
    folded in front of it as a tagged transcript. Raises PromptError when the conversation does
    not end with a user message."""
    if not messages:
        raise PromptError("There is no message to send.")
    last = messages[-1]
    if last.role != "user":
        raise PromptError(f"The conversation must end with a user message, not {last.role!r}.")
    if len(messages) == 1:
        return last.content
    turns = "\n\n".join(_transcript_turn(message) for message in messages[:-1])
    return (
        "Earlier turns of this conversation, oldest first, for context:\n\n"
        f"<transcript>\n{turns}\n</transcript>\n\n"
        "The user's new message, which is the task now:\n\n"
        f"{last.content}"
    )


def _transcript_turn(message: ChatMessage) -> str:
    if message.role == "tool":
        name = f' name="{message.tool_name}"' if message.tool_name else ""
        error = ' error="true"' if message.is_error else ""
        return f"<tool_result{name}{error}>\n{message.content}\n</tool_result>"
    role = message.role if message.role in ("user", "assistant") else "user"
    body = message.content
    for call in message.tool_calls:
        arguments = json.dumps(call.arguments, ensure_ascii=False)
        body += f"\n[called tool {call.name} with {arguments}]"
    return f"<{role}>\n{body.strip()}\n</{role}>"


# ---------------------------------------------------------------------------------------------
# Options from the agent's params


class OptionError(ValueError):
    """An agent param that cannot become a command-line option."""


def int_option(params: Mapping[str, object], name: str) -> int | None:
    """``params[name]`` as a positive whole number, None when absent."""
    value = params.get(name)
    if value is None:
        return None
    number: float | None = None
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        try:
            number = float(value)
        except ValueError:
            number = None
    if number is None or not number.is_integer() or number < 1:
        raise OptionError(f"parameter {name} must be a whole number of at least 1, not {value!r}")
    return int(number)


def float_option(params: Mapping[str, object], name: str) -> float | None:
    """``params[name]`` as a positive number, None when absent."""
    value = params.get(name)
    if value is None:
        return None
    try:
        number = float(value) if isinstance(value, int | float | str) else -1.0
    except ValueError:
        number = -1.0
    if isinstance(value, bool) or not number > 0 or number == float("inf"):
        raise OptionError(f"parameter {name} must be a positive number, not {value!r}")
    return number


def choice_option(
    params: Mapping[str, object], name: str, choices: Sequence[str], default: str
) -> str:
    """``params[name]``, one of ``choices``; ``default`` when absent."""
    value = params.get(name, default)
    if value not in choices:
        raise OptionError(f"parameter {name} must be one of {', '.join(choices)}, not {value!r}")
    return str(value)


def list_option(params: Mapping[str, object], name: str) -> list[str]:
    """``params[name]`` as a list of names (a list, or one comma-separated string)."""
    value = params.get(name)
    if value is None:
        return []
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        return [str(item).strip() for item in value if str(item).strip()]
    raise OptionError(f"parameter {name} must be a list of names, not {value!r}")


def model_option(model: str) -> str | None:
    """The model to pass, or None to let the CLI use its own default ("" or "default")."""
    model = model.strip()
    return model if model and model.lower() != "default" else None


# ---------------------------------------------------------------------------------------------
# Steps: trimming, paths, deletions


def redact(text: str, secret: str | None) -> str:
    """``text`` without the API key handed to the CLI or anything shaped like a credential."""
    return redact_secrets(text, [secret] if secret else [])


def trim_text(text: str, limit: int) -> str:
    """``text`` cut to about ``limit`` characters, keeping its head and tail, the cut noted."""
    if len(text) <= limit:
        return text
    head = limit * 3 // 4
    tail = limit - head
    omitted = len(text) - head - tail
    return f"{text[:head]}\n[… {omitted:,} characters omitted of {len(text):,} …]\n{text[-tail:]}"


def trim_json(value: Any, limit: int = INPUT_STRING_LIMIT, secret: str | None = None) -> Any:
    """A copy of a parsed JSON value with every long string trimmed and credentials redacted."""
    if isinstance(value, str):
        return redact(trim_text(value, limit), secret)
    if isinstance(value, dict):
        return {str(key): trim_json(item, limit, secret) for key, item in value.items()}
    if isinstance(value, list):
        return [trim_json(item, limit, secret) for item in value]
    return value


def output_fields(text: str, secret: str | None, limit: int = OUTPUT_LIMIT) -> dict[str, Any]:
    """A step's output: the text (trimmed, redacted) and its full length."""
    return {"output": redact(trim_text(text, limit), secret), "output_chars": len(text)}


def relative_path(path: str, cwd: str) -> str:
    """``path`` relative to the working directory when inside it, else absolute (POSIX form)."""
    absolute = path if os.path.isabs(path) else os.path.join(cwd, path)
    absolute = os.path.normpath(absolute)
    for base in {os.path.normpath(cwd), os.path.realpath(cwd)}:
        for candidate in (absolute, os.path.realpath(absolute)):
            try:
                relative = Path(candidate).relative_to(base)
            except ValueError:
                continue
            return relative.as_posix() if str(relative) != "." else "."
    return Path(absolute).as_posix()


def exists(path: str, cwd: str) -> bool:
    """Whether ``path`` (relative to ``cwd`` unless absolute) exists now (a dangling link too)."""
    return os.path.lexists(path if os.path.isabs(path) else os.path.join(cwd, path))


_SEPARATORS = frozenset({";", "&&", "||", "|", "&", "|&", "\n"})
_SHELLS = frozenset({"bash", "sh", "zsh", "dash"})
_GLOB_OR_EXPANSION = re.compile(r"[*?\[\]$`~{}]")


def removal_targets(command: str) -> list[str]:
    """Paths an ``rm``/``unlink``/``git rm`` in a shell command names (globs and expansions
    skipped: only what is evident). ``bash -lc '<script>'`` wrappers are looked into."""
    try:
        lexer = shlex.shlex(command, posix=True, punctuation_chars=";&|<>")
        lexer.whitespace_split = True
        tokens = list(lexer)
    except ValueError:
        return []
    targets: list[str] = []
    segment: list[str] = []
    for token in [*tokens, ";"]:
        if token in _SEPARATORS:
            targets.extend(_segment_targets(segment))
            segment = []
        else:
            segment.append(token)
    return targets


def _segment_targets(words: list[str]) -> list[str]:
    while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0]):
        words = words[1:]  # FOO=bar rm x
    if words and words[0] in ("sudo", "command", "builtin", "exec"):
        words = words[1:]
    if not words:
        return []
    program = os.path.basename(words[0])
    if program in _SHELLS and len(words) >= 3 and re.fullmatch(r"-[a-z]*c", words[1]):
        return removal_targets(words[2])
    if program == "git" and len(words) > 1 and words[1] == "rm":
        if "--cached" in words:
            return []
        arguments = words[2:]
    elif program in ("rm", "unlink"):
        arguments = words[1:]
    else:
        return []
    targets = []
    options_done = False
    skip = 0
    for index, word in enumerate(arguments):
        if skip:
            skip -= 1
            continue
        following = arguments[index + 1] if index + 1 < len(arguments) else ""
        if _is_redirection(word):
            skip = 1  # its target is not a file to delete
            continue
        if word.isdigit() and _is_redirection(following):
            skip = 2  # "2>/dev/null": the descriptor, the operator, the target
            continue
        if not options_done and word == "--":
            options_done = True
            continue
        if not options_done and word.startswith("-") and word != "-":
            continue
        if _GLOB_OR_EXPANSION.search(word):
            continue
        targets.append(word)
    return targets


def _is_redirection(word: str) -> bool:
    return bool(word) and set(word) <= set("<>&") and ("<" in word or ">" in word)


def deleted_files(command: str, cwd: str) -> tuple[FileTouch, ...]:
    """FileTouch(deleted) for each path a successful command's ``rm`` named that is gone now.

    There is no reliable "before": the CLI may run the command before its event is read, so
    a target that is gone after a successful ``rm`` counts as deleted by it.
    """
    touched: dict[str, FileTouch] = {}
    for target in removal_targets(command):
        if not exists(target, cwd):
            path = relative_path(target, cwd)
            touched[path] = FileTouch(path, "deleted")
    return tuple(touched.values())


# ---------------------------------------------------------------------------------------------
# Failures


_AUTH_PATTERNS = re.compile(
    r"invalid api key|invalid x-api-key|incorrect api key|api key (?:is )?(?:invalid|missing|"
    r"not (?:set|valid|found))|authentication[_ ](?:error|failed)|unauthori[sz]ed|\b401\b|"
    r"not logged in|please (?:run /login|log ?in)|/login|codex login|oauth token (?:has )?"
    r"expired|invalid[_ ]api[_ ]key|permission[_ ]error|\b403\b|forbidden",
    re.IGNORECASE,
)
_RATE_PATTERNS = re.compile(
    r"rate[_ ]limit|\b429\b|too many requests|usage limit|insufficient[_ ]quota|quota exceeded|"
    r"credit balance is too low|billing",
    re.IGNORECASE,
)
_CONFIG_PATTERNS = re.compile(
    r"unknown option|unexpected argument|unrecognized (?:option|argument)|invalid value for|"
    r"error: option|requires --verbose|not inside a trusted directory",
    re.IGNORECASE,
)
_NETWORK_PATTERNS = re.compile(
    r"econnrefused|enotfound|econnreset|getaddrinfo|network error|connection (?:refused|reset|"
    r"error)|could not resolve|fetch failed|stream disconnected|error sending request",
    re.IGNORECASE,
)
_TIMEOUT_PATTERNS = re.compile(r"timed out|timeout", re.IGNORECASE)
_OVERLOADED_PATTERNS = re.compile(r"overloaded|\b5\d\d\b|internal server error", re.IGNORECASE)
_BAD_REQUEST_PATTERNS = re.compile(
    r"invalid[_ ]request|not[_ ]found[_ ]error|model .*(?:not found|does not exist|not supported)|"
    r"context[_ ]length|prompt is too long|\b400\b|\b404\b",
    re.IGNORECASE,
)


def class_for_status(status: int) -> ErrorClass:
    """The ErrorClass an HTTP status reported by a CLI stands for."""
    if status in (401, 403):
        return ErrorClass.AUTH
    if status == 429:
        return ErrorClass.RATE_LIMIT
    if status == 408:
        return ErrorClass.TIMEOUT
    if status >= 500:
        return ErrorClass.SERVER_ERROR
    return ErrorClass.BAD_REQUEST


def classify_failure(text: str, status: int | None = None) -> ErrorClass:
    """Best reading of a CLI's error text (and HTTP status, when it reports one)."""
    if status is not None and 400 <= status < 600:
        return class_for_status(status)
    if _CONFIG_PATTERNS.search(text):
        return ErrorClass.CONFIG
    if _AUTH_PATTERNS.search(text):
        return ErrorClass.AUTH
    if _RATE_PATTERNS.search(text):
        return ErrorClass.RATE_LIMIT
    if _NETWORK_PATTERNS.search(text):
        return ErrorClass.NETWORK
    if _TIMEOUT_PATTERNS.search(text):
        return ErrorClass.TIMEOUT
    if _BAD_REQUEST_PATTERNS.search(text):
        return ErrorClass.BAD_REQUEST
    if _OVERLOADED_PATTERNS.search(text):
        return ErrorClass.SERVER_ERROR
    return ErrorClass.SERVER_ERROR


def sentence(text: str) -> str:
    """``text`` stripped, ending in one full stop."""
    text = text.strip()
    return text if text.endswith((".", "!", "?", "…")) else text + "."


def failure_event(
    info: CliInfo,
    detail: str,
    secret: str | None,
    *,
    status: int | None = None,
    error_class: ErrorClass | None = None,
    prefix: str | None = None,
) -> RuntimeEvent:
    """The ERROR for a CLI failure: classified, with the login hint for auth problems."""
    detail = detail.strip()
    cls = error_class or classify_failure(detail, status)
    lead = prefix or f"{info.display_name} failed"
    if cls is ErrorClass.AUTH:
        lead = prefix or f"{info.display_name} could not authenticate"
    text = sentence(f"{lead}: {detail}" if detail else lead)
    if cls is ErrorClass.AUTH:
        text += f" {info.login_hint}"
    elif cls is ErrorClass.CONFIG and _CONFIG_PATTERNS.search(detail):
        text += (
            f" Your {info.display_name} may be too old for the options ATO passes; "
            f"update it ({info.install_hint})."
        )
    return RuntimeEvent.error(cls, redact(text, secret), status)


def exit_failure(info: CliInfo, exit: ProcessExit, secret: str | None) -> RuntimeEvent:
    """The ERROR for a CLI that ended without its terminal event."""
    tail = exit.stderr_tail
    if exit.returncode is None:
        return RuntimeEvent.error(
            ErrorClass.STREAM_INTERRUPTED,
            redact(sentence(f"{info.display_name} closed its output but did not exit"), secret),
        )
    if exit.returncode < 0:
        try:
            name = signal.Signals(-exit.returncode).name
        except ValueError:
            name = f"signal {-exit.returncode}"
        said = f"; its last words: {tail}" if tail else ""
        return RuntimeEvent.error(
            ErrorClass.STREAM_INTERRUPTED,
            redact(sentence(f"{info.display_name} was killed by {name}{said}"), secret),
        )
    if exit.returncode == 0:
        said = f" (stderr: {tail})" if tail else ""
        return RuntimeEvent.error(
            ErrorClass.STREAM_INTERRUPTED,
            redact(sentence(f"{info.display_name} exited before finishing its run{said}"), secret),
        )
    prefix = f"{info.display_name} exited with code {exit.returncode}"
    if exit.malformed_lines:
        prefix += f" ({exit.malformed_lines} output line(s) were not JSON events)"
    return failure_event(info, tail or "no error output", secret, prefix=prefix)
