"""What the engine's services and use cases are given, so none of them holds the Workspace.

`engine/workspace.py` is the composition root: it builds the parts and hands each service only
what it uses. Long-lived services get a frozen `RunParts` (or plain arguments); the functions
both front ends call (replay, simulation, evals, cost evidence, the OTLP receiver) name the
parts they read as a Protocol, which the Workspace satisfies without anything in engine/
importing it (an import-linter contract keeps it so).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ato_desktop.core.models import AgentConfig
from ato_desktop.core.pricing import PriceBook
from ato_desktop.engine.credentials import CredentialStore
from ato_desktop.engine.dispatcher import Dispatcher
from ato_desktop.engine.live_runs import LiveRunRegistry
from ato_desktop.engine.token_estimator import TokenEstimator
from ato_desktop.engine.tool_runner import Toolbox
from ato_desktop.store.execution_log import ExecutionLog
from ato_desktop.store.process_lease import ProcessLease


@dataclass(frozen=True, slots=True)
class RunParts:
    """What a service that starts runs uses: the log, the one dispatch path, the live-run
    registry (so its runs can be killed) and this process's lease token (the owner it writes
    on the runs it creates)."""

    store: ExecutionLog
    dispatcher: Dispatcher
    live: LiveRunRegistry
    lease_token: str


class LogParts(Protocol):
    """The execution log alone."""

    @property
    def store(self) -> ExecutionLog: ...


class DispatchParts(LogParts, Protocol):
    """The log, the dispatch path and the live-run registry: enough to run and kill runs."""

    @property
    def dispatcher(self) -> Dispatcher: ...

    @property
    def live(self) -> LiveRunRegistry: ...


class PlanParts(LogParts, Protocol):
    """The log, the prices in force and the token estimator: what a replay would cost."""

    @property
    def prices(self) -> PriceBook: ...

    @property
    def estimator(self) -> TokenEstimator: ...


class ReplayParts(DispatchParts, PlanParts, Protocol):
    """Planning a replay, then dispatching it (replay, batches, cost evidence)."""


class SimulationParts(LogParts, Protocol):
    """The log and the agent's tools (a zero-cost simulation re-executes read-only tools)."""

    async def open_toolbox(self, config: AgentConfig) -> Toolbox: ...


class ReceiverParts(LogParts, Protocol):
    """What the OTLP receiver writes with: the log, the prices in force, the keys to redact
    and this process's lease (the owner of an ingest under way)."""

    @property
    def prices(self) -> PriceBook: ...

    @property
    def credentials(self) -> CredentialStore: ...

    @property
    def lease(self) -> ProcessLease: ...
