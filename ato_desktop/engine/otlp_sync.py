"""Cloud sync: ended runs go to any OTLP/HTTP backend as traces, from a durable outbox.

The outbox is in the log (store.sync_outbox): a run is queued in the transaction that ends it,
so nothing is lost to a crash or days offline. The worker takes due entries in batches, encodes
them (core.otlp_encode: stable ids, so a batch sent twice is the same data) and POSTs protobuf
to ``<endpoint>/v1/traces``. A row leaves the outbox only after a 2xx: delivery is at least once.

Every process is a peer. Each long-lived one (the desktop app, `schedules daemon`, `receiver
run`) runs the worker (`start`); a CLI run sends what is due before it exits, for at most
FLUSH_TIMEOUT_S (`flush`), and leaves the rest queued. One process sends at a time: it claims
the outbox in the log under its lease token while it sends (store.sync_outbox.claim_sender) and
gives it back when nothing more is due; another process finding the claim taken leaves the
outbox alone and looks again, and takes the claim over when the holder's lease says it died.

- 429, 5xx, timeouts and connection errors: exponential backoff with jitter, at least as long as
  the server's Retry-After;
- 401/403: sending pauses at once and stays paused (across restarts) with the "Sign in to sync"
  state; the queue is kept and nothing is retried until new credentials are saved
  (`set_credentials`), then it resumes where it stopped;
- a run that cannot be encoded (malformed, deleted) is skipped, logged and counted in the
  status; it never stops the batch.

Secrets of the endpoint (bearer token, basic-auth password, custom header values) live in the
OS keyring only (service "ato-desktop", users "sync:bearer", "sync:basic",
"sync:header:<name>"), and are registered for redaction so no error text carries them.

The Settings page uses: `config()`, `configure(...)`, `set_credentials(...)`, `status()`
(`SyncStatus.line` is the status line), `pause()`, `resume()`, `sync_now()`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import email.utils
import enum
import ipaddress
import logging
import os
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

import httpx2
from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

from ato_desktop import __version__
from ato_desktop.core.events import (
    DomainEvent,
    RunCompleted,
    RunFailed,
    RunsIngested,
    SyncStateChanged,
)
from ato_desktop.core.pii import PiiRules
from ato_desktop.core.redaction import redact_secrets
from ato_desktop.engine.credentials import (
    SERVICE_NAME,
    CredentialStore,
    KeyringUnavailableError,
    describe_keyring_error,
    known_secrets,
    read_keyring_secret,
    register_secret,
    secure_target,
)
from ato_desktop.engine.mcp_secrets import NoSecureKeyringError, validate_secret
from ato_desktop.store import sync_outbox as outbox
from ato_desktop.store.execution_log import ExecutionLog, NotFoundError
from ato_desktop.store.process_lease import ProcessLease, owner_is_alive
from ato_desktop.store.sync_outbox import AUTH_KINDS, SyncConfig, SyncCounters

log = logging.getLogger(__name__)

TRACES_PATH = "/v1/traces"
SIGN_IN_LABEL = "Sign in to sync"
MAX_BATCH = 500
MAX_PROJECT_NAME = 200
FLUSH_TIMEOUT_S = 10.0  # how long a CLI run waits, at most, to send before it exits
TAKEOVER_POLL_S = 5.0  # how often a process that found the claim taken looks again
# Sync changes (of any process) after which there may be something to send here.
_WAKING_CHANGES = frozenset({"configured", "resumed", "queued", "retry", "released"})


class SyncConfigError(ValueError):
    """Settings that cannot be used; the message says why (and never quotes a secret)."""


class SyncState(enum.StrEnum):
    DISABLED = "disabled"  # not configured, or turned off
    IDLE = "idle"  # nothing due
    QUEUED = "queued"  # runs waiting (backoff or next look)
    SENDING = "sending"
    PAUSED = "paused"  # the user paused it
    SIGN_IN = "sign_in"  # the endpoint rejected the credentials


@dataclass(frozen=True, slots=True)
class SyncStatus:
    """The status line of cloud sync: what it is doing and what happened last."""

    state: SyncState
    endpoint: str | None
    queued: int
    sending: int
    next_attempt_at: int | None
    last_success_at: int | None
    last_sent_count: int
    total_sent: int
    last_error: str | None
    last_error_at: int | None
    skipped_count: int
    last_skipped_run_id: str | None
    last_skipped_reason: str | None
    sender: str | None = None  # which process sends now, when it is another one

    @property
    def needs_sign_in(self) -> bool:
        return self.state is SyncState.SIGN_IN

    @property
    def line(self) -> str:
        """One line for a status bar: state, queue, last success or error."""
        parts: list[str]
        if self.state is SyncState.SIGN_IN:
            parts = [SIGN_IN_LABEL]
        elif self.state is SyncState.DISABLED:
            return "Cloud sync is off"
        elif self.state is SyncState.PAUSED:
            parts = ["Sync paused"]
        elif self.state is SyncState.SENDING:
            parts = [f"Sending {self.sending}" if self.sending else "Sending"]
            if self.sender:
                parts[0] += f" ({self.sender})"
        elif self.queued == 0 and not self.total_sent and not self.last_success_at:
            # On, but no run has ended since (older runs are not sent): nothing is "synced".
            parts = ["Nothing sent yet: runs go as they end"]
        else:
            parts = ["Synced" if self.queued == 0 else "Waiting to sync"]
        parts.append(f"{self.queued} queued")
        if self.last_success_at:
            parts.append("last success " + _clock_text(self.last_success_at))
        if self.last_error and (
            not self.last_success_at or (self.last_error_at or 0) >= self.last_success_at
        ):
            parts.append(f"last error: {self.last_error}")
        if self.skipped_count:
            parts.append(f"{self.skipped_count} skipped")
        return " · ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": self.state.value,
            "line": self.line,
            "endpoint": self.endpoint,
            "queued": self.queued,
            "sending": self.sending,
            "next_attempt_at": self.next_attempt_at,
            "last_success_at": self.last_success_at,
            "last_sent_count": self.last_sent_count,
            "total_sent": self.total_sent,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at,
            "skipped_count": self.skipped_count,
            "last_skipped_run_id": self.last_skipped_run_id,
            "last_skipped_reason": self.last_skipped_reason,
            "sender": self.sender,
        }


def _clock_text(ms: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ms / 1000))


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What one attempt did. outcome: sent | retry | auth | nothing | skipped | busy (another
    process is sending)."""

    outcome: str
    sent: int = 0
    skipped: int = 0
    status_code: int | None = None
    error: str | None = None
    retry_at_ms: int | None = None


# -- endpoint rules -------------------------------------------------------------------------------


def is_loopback_host(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate_endpoint(url: str) -> str:
    """The endpoint as sent to (…/v1/traces), or SyncConfigError: https unless loopback."""
    text = (url or "").strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SyncConfigError(f"{text!r} is not an http(s) URL of an OTLP endpoint.")
    if parts.username or parts.password:
        raise SyncConfigError(
            "Put credentials in the auth settings, not in the URL (they would be stored in "
            "plain text)."
        )
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise SyncConfigError(
            f"The endpoint must use https (http is only allowed to this machine): {text!r}."
        )
    if parts.query or parts.fragment:
        raise SyncConfigError("The endpoint URL may not have a query or fragment.")
    path = parts.path.rstrip("/")
    if not path.endswith(TRACES_PATH):
        path += TRACES_PATH
    port = f":{parts.port}" if parts.port else ""
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    return f"{parts.scheme}://{host}{port}{path}"


def backoff_delay_s(
    attempts: int,
    rand: float,
    *,
    base_s: float = 2.0,
    max_s: float = 600.0,
    retry_after_s: float | None = None,
) -> float:
    """Exponential backoff with jitter (between half and all of base·2^attempts, capped),
    never shorter than the server's Retry-After."""
    ceiling = min(max_s, base_s * float(2 ** min(attempts, 30)))
    delay = ceiling / 2 + rand * ceiling / 2
    if retry_after_s is not None:
        delay = max(delay, retry_after_s)
    return delay


def parse_retry_after(value: str | None, now_s: float) -> float | None:
    """Seconds from a Retry-After header (delta seconds or an HTTP date), capped at a day."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - now_s
    return float(min(max(seconds, 0.0), 86_400.0))


_TRANSPORT_ERRORS = {
    "ConnectError": "could not connect",
    "ReadError": "the connection was closed before the endpoint answered",
    "WriteError": "the connection was closed while sending",
    "RemoteProtocolError": "the endpoint closed the connection without an HTTP answer",
    "ProxyError": "the proxy refused the connection",
    "UnsupportedProtocol": "the URL's scheme is not supported",
}


def describe_transport_error(exc: BaseException, endpoint: str) -> str:
    """Why a POST to endpoint failed, naming the server and never ending in an empty reason
    (an httpx error's text can be empty, as a connection reset's is: then its kind says what
    happened)."""
    host = urlsplit(endpoint).netloc or endpoint
    detail = str(exc).strip()
    if not detail and exc.__cause__ is not None:
        detail = str(exc.__cause__).strip()
    if not detail:
        name = type(exc).__name__
        detail = _TRANSPORT_ERRORS.get(name) or f"the connection failed ({name})"
    return f"cannot reach the endpoint {host}: {detail}"


# -- secrets --------------------------------------------------------------------------------------


class SyncSecrets:
    """The endpoint's secrets in the OS keyring; refused without a secure keyring."""

    def __init__(self, credentials: CredentialStore | None = None) -> None:
        self._credentials = credentials or CredentialStore()

    def _target(self) -> KeyringBackend | None:
        return secure_target(self._credentials.backend())

    @staticmethod
    def user(kind: str, name: str = "") -> str:
        return f"sync:header:{name.lower()}" if kind == "header" else f"sync:{kind}"

    def set(self, kind: str, value: str, name: str = "") -> None:
        what = f"the sync {kind} {name}".strip()
        clean = validate_secret(value, what)
        register_secret(clean)
        target = self._target()
        if target is None:
            raise NoSecureKeyringError(
                "No secure keyring is available "
                f"({self._credentials.backend_description()}), so the sync credentials cannot "
                "be saved, and ATO never writes them in plain text."
            )
        try:
            target.set_password(SERVICE_NAME, self.user(kind, name), clean)
        except Exception as exc:
            raise KeyringUnavailableError(
                f"{what} could not be saved to the keyring: {describe_keyring_error(exc)}."
            ) from None

    def get(self, kind: str, name: str = "") -> str | None:
        target = self._target()
        if target is None:
            return None
        return read_keyring_secret(target, SERVICE_NAME, self.user(kind, name), f"The sync {kind}")

    def delete(self, kind: str, name: str = "") -> bool:
        target = self._target()
        if target is None:
            return False
        try:
            target.delete_password(SERVICE_NAME, self.user(kind, name))
        except PasswordDeleteError:
            return False
        except Exception as exc:
            raise KeyringUnavailableError(
                f"The sync {kind} could not be removed from the keyring: "
                f"{describe_keyring_error(exc)}."
            ) from None
        return True

    def headers(self, config: SyncConfig) -> dict[str, str]:
        """The auth headers to send; SyncConfigError naming what is missing."""
        if config.auth_kind == "bearer":
            token = self.get("bearer")
            if token is None:
                raise SyncConfigError("No sync token in the keyring. " + SIGN_IN_LABEL + ".")
            return {"Authorization": f"Bearer {token}"}
        if config.auth_kind == "basic":
            password = self.get("basic")
            if password is None or not config.basic_user:
                raise SyncConfigError("No sync password in the keyring. " + SIGN_IN_LABEL + ".")
            raw = f"{config.basic_user}:{password}".encode()
            encoded = base64.b64encode(raw).decode()
            register_secret(encoded)
            return {"Authorization": f"Basic {encoded}"}
        if config.auth_kind == "headers":
            headers: dict[str, str] = {}
            missing = []
            for name in config.header_names:
                value = self.get("header", name)
                if value is None:
                    missing.append(name)
                else:
                    headers[name] = value
            if missing:
                raise SyncConfigError(
                    f"The sync header {', '.join(missing)} is not in the keyring. "
                    + SIGN_IN_LABEL
                    + "."
                )
            return headers
        return {}


# -- the worker -----------------------------------------------------------------------------------


class OtlpSync:
    """Sends the outbox to the configured endpoint. `start()` on the running loop (the app);
    `sync_now()` sends what is due once (the CLI); `aclose()` stops."""

    def __init__(
        self,
        store: ExecutionLog,
        credentials: CredentialStore,
        lease: ProcessLease,
        *,
        transport: httpx2.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        rand: Callable[[], float] = random.random,
        timeout_s: float = 30.0,
        base_delay_s: float = 2.0,
        max_delay_s: float = 600.0,
        poll_s: float = 30.0,
    ) -> None:
        self._store = store
        self._lease = lease
        self._transport = transport
        self._clock = clock
        self._rand = rand
        self._timeout_s = timeout_s
        self._base_delay_s = base_delay_s
        self._max_delay_s = max_delay_s
        self._poll_s = poll_s
        self.secrets = SyncSecrets(credentials)
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._sending = 0
        self._lock: asyncio.Lock | None = None
        self._label = f"process {os.getpid()}"
        self._claimed = False
        self._off = False  # the last look found sync off (not enabled, or no endpoint)

    @property
    def store(self) -> ExecutionLog:
        return self._store

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    # -- settings (the Settings page and the CLI) -------------------------------------------------

    def config(self) -> SyncConfig:
        return outbox.get_config(self.store)

    def configure(
        self,
        *,
        endpoint: str | None = None,
        enabled: bool | None = None,
        auth_kind: str | None = None,
        basic_user: str | None = None,
        header_names: Sequence[str] | None = None,
        agents: Sequence[str] | None = None,
        include_content: bool | None = None,
        redaction: PiiRules | None = None,
        batch_size: int | None = None,
        project_name: str | None = None,
        include_ingested: bool | None = None,
    ) -> SyncConfig:
        """Change the settings (None keeps a setting); SyncConfigError says what is wrong.
        agents are names or ids ([] = every run). project_name "" is the default
        ("ato-desktop"). include_ingested: also send runs the OTLP receiver wrote. Secrets go
        through set_credentials."""
        current = self.config()
        new = current
        if endpoint is not None:
            new = replace(new, endpoint=validate_endpoint(endpoint) if endpoint else None)
        if auth_kind is not None:
            if auth_kind not in AUTH_KINDS:
                raise SyncConfigError(
                    f"Unknown auth {auth_kind!r}; expected one of {', '.join(AUTH_KINDS)}."
                )
            new = replace(new, auth_kind=auth_kind)
        if basic_user is not None:
            new = replace(new, basic_user=basic_user.strip() or None)
        if header_names is not None:
            names = tuple(dict.fromkeys(n.strip() for n in header_names if n.strip()))
            for name in names:
                if not name.replace("-", "").replace("_", "").isalnum():
                    raise SyncConfigError(f"{name!r} is not an HTTP header name.")
            new = replace(new, header_names=names)
        if agents is not None:
            ids = []
            for agent in agents:
                try:
                    ids.append(self.store.get_agent(agent).id)
                except NotFoundError as exc:
                    raise SyncConfigError(str(exc)) from None
            new = replace(new, agent_ids=tuple(ids))
        if include_content is not None:
            new = replace(new, include_content=include_content)
        if redaction is not None:
            new = replace(new, redaction=redaction)
        if batch_size is not None:
            if not 1 <= batch_size <= MAX_BATCH:
                raise SyncConfigError(f"The batch size must be 1 to {MAX_BATCH}.")
            new = replace(new, batch_size=batch_size)
        if project_name is not None:
            name = " ".join(project_name.split())
            if len(name) > MAX_PROJECT_NAME:
                raise SyncConfigError(
                    f"The project name is {len(name)} characters; at most {MAX_PROJECT_NAME}."
                )
            new = replace(new, project_name=name or None)
        if include_ingested is not None:
            new = replace(new, include_ingested=include_ingested)
        if enabled is not None:
            new = replace(new, enabled=enabled)
        if new.enabled and not new.endpoint:
            raise SyncConfigError("Set the endpoint URL before turning sync on.")
        if new.auth_kind == "basic" and new.enabled and not new.basic_user:
            raise SyncConfigError("Basic auth needs a user name.")
        saved = outbox.save_config(self.store, new).result()
        self._nudge()
        return saved

    def set_credentials(
        self,
        *,
        token: str | None = None,
        password: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Save the endpoint's secrets in the keyring and resume a sync paused for sign-in."""
        if token is not None:
            self.secrets.set("bearer", token)
        if password is not None:
            self.secrets.set("basic", password)
        for name, value in (headers or {}).items():
            self.secrets.set("header", value, name)
        outbox.set_paused(self.store, auth_paused=False).result()
        self._nudge()

    def clear_credentials(self) -> int:
        """Remove every sync secret from the keyring; returns how many were stored."""
        removed = int(self.secrets.delete("bearer")) + int(self.secrets.delete("basic"))
        for name in self.config().header_names:
            removed += int(self.secrets.delete("header", name))
        return removed

    def pause(self) -> None:
        outbox.set_paused(self.store, paused=True).result()

    def resume(self) -> None:
        outbox.set_paused(self.store, paused=False).result()
        self._nudge()

    def status(self) -> SyncStatus:
        config = self.config()
        return self._status(config, outbox.counters(self.store))

    def _status(self, config: SyncConfig, c: SyncCounters) -> SyncStatus:
        other = self._other_sender(c)
        if c.auth_paused and config.enabled:
            state = SyncState.SIGN_IN
        elif not config.enabled or not config.endpoint:
            state = SyncState.DISABLED
        elif c.paused:
            state = SyncState.PAUSED
        elif self._sending or (other is not None and c.queued):
            state = SyncState.SENDING
        elif c.queued:
            state = SyncState.QUEUED
        else:
            state = SyncState.IDLE
        return SyncStatus(
            state=state,
            endpoint=config.endpoint,
            queued=c.queued,
            sending=self._sending,
            next_attempt_at=c.next_attempt_at,
            last_success_at=c.last_success_at,
            last_sent_count=c.last_sent_count,
            total_sent=c.total_sent,
            last_error=c.last_error,
            last_error_at=c.last_error_at,
            skipped_count=c.skipped_count,
            last_skipped_run_id=c.last_skipped_run_id,
            last_skipped_reason=c.last_skipped_reason,
            sender=other,
        )

    def _other_sender(self, c: SyncCounters) -> str | None:
        """The label of another live process that holds the claim to send, else None."""
        token = c.sender_token
        if not token or token == self._lease.token:
            return None
        if not owner_is_alive(self._lease.leases_dir, token):
            return None
        return c.sender_label or "another process"

    # -- the claim: one sender per log ------------------------------------------------------------

    def _holder_alive(self, token: str) -> bool:
        return owner_is_alive(self._lease.leases_dir, token)

    async def _claim(self) -> bool:
        """Claim sending for this process (True), or find another live process sending."""
        if self._claimed:
            return True
        self._claimed = await asyncio.wrap_future(
            outbox.claim_sender(self.store, self._lease.token, self._label, self._holder_alive)
        )
        return self._claimed

    async def _release(self) -> None:
        if self._claimed:
            self._claimed = False
            token = self._lease.token
            await asyncio.wrap_future(outbox.release_sender(self.store, token))

    # -- running ----------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._task is not None

    def start(self, label: str | None = None) -> None:
        """Send in the background on the current loop; woken by ended runs. label names this
        process in the status line of the others ("the desktop app")."""
        if label:
            self._label = f"{label} (pid {os.getpid()})"
        if self._task is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._unsubscribe = self._store.bus.subscribe(self._on_event)
        self._task = asyncio.ensure_future(self._run())

    def _on_event(self, event: DomainEvent) -> None:
        # On the writer thread: the outbox row is committed already (it is the same write).
        # Other processes' writes arrive here too (the change feed): a run that ended there, a
        # `sync resume` / `sync now`, new settings, or a sender that gave the outbox back.
        if isinstance(event, SyncStateChanged):
            self._off = False  # settings may have changed: the next look reads them again
        elif self._off:
            return  # sync is off: a stream of run endings must not cost a look each
        wakes = isinstance(event, RunCompleted | RunFailed | RunsIngested) or (
            isinstance(event, SyncStateChanged) and event.change in _WAKING_CHANGES
        )
        if wakes:
            loop, wake = self._loop, self._wake
            if wake is not None and wake.is_set():
                return  # woken already: a burst of endings is one look, not one per run
            if loop is not None:
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(self._nudge)

    def _nudge(self) -> None:
        """Wake the worker; safe from any thread (configure() may run in a worker thread)."""
        loop, wake = self._loop, self._wake
        if loop is None or wake is None:
            return
        try:
            here = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        if here is loop:
            wake.set()
        else:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(wake.set)

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            self._wake.clear()
            try:
                wait_s = await self._pass()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("cloud sync failed; trying again later")
                wait_s = self._poll_s
            # asyncio.wait, not wait_for: a cancel (aclose) then ends this task at once instead
            # of waiting for the inner waiter to finish cancelling (which can stall under an
            # embedding loop such as qasync's).
            waiter = asyncio.ensure_future(self._wake.wait())
            try:
                await asyncio.wait({waiter}, timeout=max(wait_s, 0.01))
            finally:
                waiter.cancel()

    async def _pass(self) -> float:
        """Send what is due (holding the claim meanwhile); returns how long to wait before the
        next look."""
        try:
            while True:
                result = await self.send_batch()
                if result.outcome in ("sent", "skipped"):
                    continue
                if result.outcome == "busy":
                    return min(self._poll_s, TAKEOVER_POLL_S)
                if result.outcome == "retry" and result.retry_at_ms is not None:
                    due_in = (result.retry_at_ms - self._now_ms()) / 1000
                    return min(self._poll_s, max(0.0, due_in))
                if result.outcome == "nothing":
                    c = await self.store.read_async(outbox.counters, self.store)
                    if c.queued and c.next_attempt_at is not None:
                        due_in = (c.next_attempt_at - self._now_ms()) / 1000
                        return min(self._poll_s, max(0.0, due_in))
                return self._poll_s
        finally:
            # Nothing more due now: another process may send the next run that ends.
            await self._release()

    async def sync_now(
        self, *, max_batches: int = 1_000, claim_wait_s: float = 30.0
    ) -> list[BatchResult]:
        """Make every queued run due and send until the outbox is empty or an attempt fails.
        While another process sends, wait up to claim_wait_s for its turn (it gives the claim
        back once nothing is due); still busy then: one "busy" result naming that process."""
        await asyncio.wrap_future(outbox.retry_now(self.store))
        results: list[BatchResult] = []
        deadline = time.monotonic() + claim_wait_s
        try:
            for _ in range(max_batches):
                result = await self.send_batch()
                if result.outcome == "busy" and time.monotonic() < deadline:
                    await asyncio.sleep(0.2)
                    continue
                results.append(result)
                if result.outcome not in ("sent", "skipped"):
                    break
        finally:
            await self._release()
        return results

    async def flush(self, timeout_s: float = FLUSH_TIMEOUT_S) -> list[BatchResult]:
        """Send what is due now, for at most timeout_s (a CLI run, before it exits). What is
        not sent by then stays queued for the next sender; another process holding the claim
        sends it (one "busy" result)."""
        config = await self.store.read_async(outbox.get_config, self.store)
        if not config.enabled or not config.endpoint:
            return []
        results: list[BatchResult] = []

        async def send() -> None:
            for _ in range(1_000):
                result = await self.send_batch()
                results.append(result)
                if result.outcome not in ("sent", "skipped"):
                    return

        try:
            await asyncio.wait_for(send(), timeout_s)
        except TimeoutError:
            results.append(
                BatchResult(
                    "retry",
                    error=f"not sent within {timeout_s:g} s; queued for the next sender",
                )
            )
        finally:
            await self._release()
        return results

    async def send_batch(self) -> BatchResult:
        """One attempt: the due entries of one batch, encoded and POSTed."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            return await self._send_batch()

    async def _send_batch(self) -> BatchResult:
        store = self.store
        config = await store.read_async(outbox.get_config, store)
        # Off (not enabled, no endpoint): run endings stop waking the worker until a
        # SyncStateChanged (from any process) says the settings changed.
        self._off = not config.enabled or not config.endpoint
        if self._off:
            return BatchResult("nothing")
        counters = await store.read_async(outbox.counters, store)
        if counters.paused:
            return BatchResult("nothing")
        if counters.auth_paused:
            return BatchResult("auth", error=SIGN_IN_LABEL)
        now = self._now_ms()
        entries = await store.read_async(outbox.due_entries, store, now, config.batch_size)
        if not entries:
            return BatchResult("nothing")
        if not await self._claim():
            c = await store.read_async(outbox.counters, store)
            who = self._other_sender(c) or "another process"
            return BatchResult("busy", error=f"{who} is sending for this log")
        # Claimed: read again, another sender may have sent some of these meanwhile.
        entries = await store.read_async(outbox.due_entries, store, now, config.batch_size)
        if not entries:
            return BatchResult("nothing")
        try:
            headers = await asyncio.to_thread(self.secrets.headers, config)
        except SyncConfigError as exc:
            await asyncio.wrap_future(outbox.record_error(store, str(exc), auth=True))
            return BatchResult("auth", error=str(exc))
        except KeyringUnavailableError as exc:
            retry_at = now + int(self._poll_s * 1000)
            ids = [e.run_id for e in entries]
            await asyncio.wrap_future(outbox.reschedule(store, ids, retry_at, str(exc)))
            return BatchResult("retry", error=str(exc), retry_at_ms=retry_at)

        body, sent_ids, skipped = await asyncio.to_thread(self._encode, config, entries)
        for run_id, reason in skipped:
            log.warning("cloud sync skipped run %s: %s", run_id, reason)
            await asyncio.wrap_future(outbox.skip(store, run_id, reason))
        if not sent_ids:
            return BatchResult("skipped", skipped=len(skipped))

        self._sending = len(sent_ids)
        try:
            return await self._post(config, headers, body, sent_ids, entries, len(skipped))
        finally:
            self._sending = 0

    def _encode(
        self, config: SyncConfig, entries: Sequence[outbox.OutboxEntry]
    ) -> tuple[bytes, list[str], list[tuple[str, str]]]:
        """(protobuf body, run ids in it, [(run id, why skipped)]); on a worker thread."""
        # Heavy (the OTLP protobuf modules): loaded with the first batch, not at start-up.
        from ato_desktop.core import otlp_encode

        options = otlp_encode.EncodeOptions(
            include_content=config.include_content,
            pii=config.redaction,
            secrets=known_secrets(),
            service_version=__version__,
            project_name=config.project_name or "",
        )
        spans: list[Any] = []
        sent: list[str] = []
        skipped: list[tuple[str, str]] = []
        store = self.store
        for entry in entries:
            try:
                run = store.get_run(entry.run_id)
                actions = store.get_actions(entry.run_id)
                root = outbox.run_root_id(store, entry.run_id)
                item = otlp_encode.TraceItem(run, actions, root)
                spans.extend(otlp_encode.run_spans(item, options))
            except NotFoundError:
                skipped.append((entry.run_id, "the run is no longer in the log"))
                continue
            except Exception as exc:  # a malformed row must never stop the batch
                reason = redact_secrets(f"{type(exc).__name__}: {exc}", options.secrets)[:300]
                skipped.append((entry.run_id, f"cannot be encoded ({reason})"))
                continue
            sent.append(entry.run_id)
        body = otlp_encode.export_request(spans, options).SerializeToString() if sent else b""
        return body, sent, skipped

    async def _post(
        self,
        config: SyncConfig,
        auth_headers: dict[str, str],
        body: bytes,
        run_ids: list[str],
        entries: Sequence[outbox.OutboxEntry],
        skipped: int,
    ) -> BatchResult:
        store = self.store
        assert config.endpoint is not None
        headers = {
            "Content-Type": "application/x-protobuf",
            "User-Agent": f"ato-desktop/{__version__}",
            **auth_headers,
        }
        attempts = max((e.attempts for e in entries if e.run_id in set(run_ids)), default=0)
        retry_after: float | None = None
        status_code: int | None = None
        try:
            async with httpx2.AsyncClient(
                transport=self._transport, timeout=self._timeout_s, follow_redirects=False
            ) as client:
                response = await client.post(config.endpoint, content=body, headers=headers)
            status_code = response.status_code
            if 200 <= status_code < 300:
                await asyncio.wrap_future(outbox.ack(store, run_ids))
                return BatchResult("sent", sent=len(run_ids), skipped=skipped, status_code=200)
            error = self._describe(response)
            if status_code in (401, 403):
                log.warning("cloud sync: the endpoint rejected the credentials (%s)", status_code)
                await asyncio.wrap_future(outbox.record_error(store, error, auth=True))
                return BatchResult("auth", status_code=status_code, error=error)
            retry_after = parse_retry_after(response.headers.get("retry-after"), self._clock())
        except httpx2.TimeoutException:
            host = urlsplit(config.endpoint).netloc
            error = f"the endpoint {host} did not answer within {self._timeout_s:g} s"
        except httpx2.HTTPError as exc:
            error = describe_transport_error(exc, config.endpoint)
            error = redact_secrets(error, known_secrets())[:300]
        delay = backoff_delay_s(
            attempts,
            self._rand(),
            base_s=self._base_delay_s,
            max_s=self._max_delay_s,
            retry_after_s=retry_after,
        )
        retry_at = self._now_ms() + int(delay * 1000)
        log.info("cloud sync: %s; next attempt in %.1f s", error, delay)
        await asyncio.wrap_future(outbox.reschedule(store, run_ids, retry_at, error))
        return BatchResult(
            "retry", skipped=skipped, status_code=status_code, error=error, retry_at_ms=retry_at
        )

    @staticmethod
    def _describe(response: httpx2.Response) -> str:
        text = ""
        with contextlib.suppress(Exception):
            if "protobuf" not in response.headers.get("content-type", ""):
                text = response.text.strip().replace("\n", " ")[:200]
        reason = f"HTTP {response.status_code}" + (f": {text}" if text else "")
        return redact_secrets(reason, known_secrets())

    async def aclose(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.wait({task}, timeout=5)
        await self._release()
        self._loop = None
        self._wake = None
