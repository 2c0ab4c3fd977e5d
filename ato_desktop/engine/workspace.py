"""The composition root: one object that opens the log and wires the services on top of it.

The CLI and the desktop app both start here, so they run the very same code paths. Nothing
else in engine/ imports this module: each service is handed the parts it uses
(engine/parts.py). Commands that only read open `engine.reading.open_log_for_reading`
instead: the log, without a lease, crash recovery or any service.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection

from ato_desktop.core.event_bus import EventBus
from ato_desktop.core.heavy_imports import import_heavy
from ato_desktop.core.models import AgentConfig
from ato_desktop.core.pricing import PriceBook, PriceFileError
from ato_desktop.engine.agents import AgentService
from ato_desktop.engine.approvals import ApprovalBroker
from ato_desktop.engine.automation_engine import AutomationEngine
from ato_desktop.engine.credentials import CredentialStore
from ato_desktop.engine.dispatcher import AdapterFactory, Dispatcher
from ato_desktop.engine.export import clean_interrupted_exports
from ato_desktop.engine.live_runs import LiveRunRegistry
from ato_desktop.engine.mcp_secrets import MissingSecretError
from ato_desktop.engine.online_judge import OnlineJudge
from ato_desktop.engine.otlp_sync import OtlpSync
from ato_desktop.engine.parts import RunParts
from ato_desktop.engine.prices import load_price_book, save_price_file
from ato_desktop.engine.recovery import recover_orphaned_runs
from ato_desktop.engine.settings_file import (
    DEFAULT_MAX_RETRY_WAIT_S,
    SettingsFileError,
    max_retry_wait_s,
)
from ato_desktop.engine.token_estimator import TokenEstimator
from ato_desktop.engine.tool_runner import Toolbox, ToolboxError
from ato_desktop.runtimes.registry import get_adapter
from ato_desktop.store.execution_log import ExecutionLog, NotFoundError
from ato_desktop.store.external_runs import roll_back_abandoned_ingests
from ato_desktop.store.paths import DataPaths, data_paths, offline
from ato_desktop.store.process_lease import ProcessLease, owner_is_alive

log = logging.getLogger(__name__)


class Workspace:
    """Everything a front end needs, opened from one data directory."""

    def __init__(
        self,
        paths: DataPaths,
        store: ExecutionLog,
        prices: PriceBook,
        estimator: TokenEstimator,
        credentials: CredentialStore,
        lease: ProcessLease,
        adapter_factory: AdapterFactory,
    ) -> None:
        self.paths = paths
        self.store = store
        self.bus: EventBus = store.bus
        self.prices = prices
        self.estimator = estimator
        self.credentials = credentials
        self.lease = lease
        self.agents = AgentService(store)
        self.live = LiveRunRegistry(store, lease.token, self.recover_orphans)
        self.approvals = ApprovalBroker()
        self.dispatcher = Dispatcher(
            store,
            self.live,
            credentials,
            prices,
            estimator,
            adapter_factory,
            lease.token,
            toolbox_factory=self.open_toolbox,
            approvals=self.approvals,
            max_retry_wait=self.max_retry_wait_s,
        )
        # Each service is given what it uses, never the workspace (engine/parts.py).
        self.run_parts = RunParts(store, self.dispatcher, self.live, lease.token)
        # Judges sampled production runs once started on a running loop (start()).
        self.online_judge = OnlineJudge(store, self.dispatcher)
        # Groups, skill flows, hooks and schedules (hooks and the scheduler once started).
        self.automations = AutomationEngine(self.run_parts)
        # Cloud sync of ended runs to an OTLP endpoint (sending once started).
        self.sync = OtlpSync(store, credentials, lease)
        self.recovered_run_ids: list[str] = []
        self.price_file_error: str | None = None

    @classmethod
    def open(
        cls,
        paths: DataPaths | None = None,
        *,
        adapter_factory: AdapterFactory = get_adapter,
        recover: bool = True,
        strict_prices: bool = True,
    ) -> Workspace:
        """Open the data directory; raises StoreError or PriceFileError with user messages.

        strict_prices=False (the desktop app) opens despite a malformed prices.json, pricing
        from the bundled table and keeping the parser's message in price_file_error, so the
        user can fix the file in Settings instead of being locked out.
        """
        paths = (paths or data_paths()).ensure()
        price_file_error: str | None = None
        try:
            prices = load_price_book(paths)
        except PriceFileError as exc:
            if strict_prices:
                raise
            prices, price_file_error = PriceBook(), str(exc)
        store = ExecutionLog.open(paths)
        try:
            lease = ProcessLease(paths.leases_dir)
            estimator = TokenEstimator(paths.tiktoken_cache, allow_download=not offline())
            workspace = cls(
                paths, store, prices, estimator, CredentialStore(), lease, adapter_factory
            )
            workspace.price_file_error = price_file_error
            if recover:
                workspace.recovered_run_ids = recover_orphaned_runs(
                    store, prices, estimator, lease.token
                )
                # Exports the receiver of a dead process was writing: taken back whole.
                roll_back_abandoned_ingests(
                    store, lambda token: owner_is_alive(paths.leases_dir, token)
                )
            clean_interrupted_exports(paths)  # what an export killed half-way left behind
        except BaseException:
            store.close()
            raise
        return workspace

    def max_retry_wait_s(self) -> float:
        """settings.json's dispatch.max_retry_wait_s; the default (logged) when it is bad, so a
        typo there never stops a dispatch. Reads the file: call it off the event loop."""
        try:
            return max_retry_wait_s(self.paths)
        except SettingsFileError as exc:
            log.warning("%s; waiting at most %g s for a retry", exc, DEFAULT_MAX_RETRY_WAIT_S)
            return DEFAULT_MAX_RETRY_WAIT_S

    def start_services(self, *, scheduler: bool = True, label: str | None = None) -> None:
        """Start the background services on the running loop (the app: the engine's): the
        online judge, hooks and the scheduler, cloud sync (label: this process, as other
        processes' sync status names the one sending)."""
        self.online_judge.start()
        self.automations.start(scheduler=scheduler)
        self.sync.start(label=label)

    def recover_orphans(self, only: Collection[str] | None = None) -> list[str]:
        """End `interrupted` the running runs (only: of these ids) whose process died."""
        return recover_orphaned_runs(
            self.store, self.prices, self.estimator, self.lease.token, only
        )

    def follow_changes(self) -> None:
        """Hear the other processes' writes on this bus from now on (long-lived processes)."""
        self.store.follow_changes()

    async def open_toolbox(self, config: AgentConfig) -> Toolbox:
        """Connect to the agent's MCP servers for one run; ToolboxError says what failed."""
        # The MCP SDK takes about a second to import: off the loop, under the import lock.
        mcp_client = await asyncio.to_thread(import_heavy, "ato_desktop.engine.mcp_client")
        try:
            toolbox: Toolbox = await mcp_client.open_toolbox(self.store, config)
        except (mcp_client.McpConnectError, MissingSecretError, NotFoundError) as exc:
            raise ToolboxError(str(exc)) from exc
        return toolbox

    def save_prices(self, text: str) -> int:
        """Validate and save prices.json, then price with it; returns the override count."""
        count = save_price_file(self.paths, text)
        self.reload_prices()
        return count

    def reload_prices(self) -> PriceBook:
        """Re-read prices.json (after the user edited it); raises PriceFileError if malformed."""
        prices = load_price_book(self.paths)
        self.prices = prices
        self.dispatcher.set_price_book(prices)
        self.price_file_error = None
        return prices

    def close(self) -> None:
        self.store.close()
        self.lease.release()

    async def aclose(self) -> None:
        """Stop online judging, kill what is still streaming (recorded as killed), then close."""
        await self.online_judge.aclose()
        await self.automations.aclose()
        await self.sync.aclose()
        if len(self.live):
            self.live.kill_all()
            for _ in range(40):
                if not len(self.live):
                    break
                await asyncio.sleep(0.05)
        await self.live.aclose()
        await self.dispatcher.aclose()  # a run end the log refused: one last try
        self.close()
