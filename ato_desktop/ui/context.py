"""What every view shares: the workspace (opened off the UI thread), the event bridge, the
command registry, settings, and helpers to run async work without blocking the UI.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from PySide6.QtCore import QObject, QSettings, QTimer, Signal

from ato_desktop.store.database import DiskFullError
from ato_desktop.store.paths import DataPaths, data_paths
from ato_desktop.ui.commands import CommandRegistry
from ato_desktop.ui.engine_calls import UiInvoker
from ato_desktop.ui.theme import ThemeManager

if TYPE_CHECKING:
    import asyncio

    from ato_desktop.engine.engine_loop import EngineLoop
    from ato_desktop.engine.workspace import Workspace
    from ato_desktop.ui.approvals import Approvals
    from ato_desktop.ui.bridge import EventBridge
    from ato_desktop.ui.notifications import NotificationService

PROMPT_FILE_POLL_MS = 3000

# asyncio is imported inside the methods: the window paints before it (and qasync) load.

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")


class WorkspaceNotOpen(RuntimeError):
    """Something needed the open workspace before it opened."""


class AppContext(QObject):
    """Shared state of the running app. Created on the UI thread; lives as long as the app."""

    sig_workspace_ready = Signal(object)  # Workspace
    sig_workspace_failed = Signal(str)  # a message for the user
    sig_status_message = Signal(str)  # transient text for the status bar
    sig_error = Signal(str, str)  # title, message: something the user must see
    sig_store_full = Signal(str)  # the log refused a write (a full disk): a banner, not a dialog
    sig_navigate = Signal(str, object)  # page id, target (dict | None)

    def __init__(
        self,
        commands: CommandRegistry,
        theme: ThemeManager | None = None,
        paths: DataPaths | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.commands = commands
        self.theme = theme
        self.paths = paths or data_paths()
        # None until the workspace is open (or when it failed to open): views check it first,
        # or use `opened_workspace` and `opened_bridge` where it must be open by then.
        self.workspace: Workspace | None = None
        # The engine's own loop and thread (engine/engine_loop.py) once the workspace is open:
        # dispatches, streams, tools, hooks, the scheduler and sync run there, not here.
        self.engine: EngineLoop | None = None
        self.invoker = UiInvoker(self)
        self.bridge: EventBridge | None = None  # once the workspace is open
        self.approvals: Approvals | None = None  # once the workspace is open
        self.notifications: NotificationService | None = None  # made by the main window
        self._tasks: set[asyncio.Task[Any]] = set()
        self._settings: QSettings | None = None
        self.closing = False  # set by shutdown(): late work ends quietly
        self._sdks_requested = False
        # System prompt files edited outside the app are recorded as versions (engine.agents).
        self._prompt_file_timer = QTimer(self, interval=PROMPT_FILE_POLL_MS)
        self._prompt_file_timer.timeout.connect(self.check_prompt_files)
        self._checking_prompt_files = False
        self._prompt_file_errors: set[tuple[str, str]] = set()

    # -- settings: an ini file in the data directory (ATO_HOME moves everything) --------------

    @property
    def settings(self) -> QSettings:
        if self._settings is None:
            path = Path(self.paths.root) / "settings.ini"
            self._settings = QSettings(str(path), QSettings.Format.IniFormat)
        return self._settings

    # -- the workspace ---------------------------------------------------------------------------

    @property
    def opened_workspace(self) -> Workspace:
        """The open workspace; WorkspaceNotOpen before it opened (a view that reads the log is
        only built, or only acts, once it is)."""
        if self.workspace is None:
            raise WorkspaceNotOpen("the workspace is not open yet")
        return self.workspace

    @property
    def opened_bridge(self) -> EventBridge:
        """The event bridge of the open workspace; WorkspaceNotOpen before it opened."""
        if self.bridge is None:
            raise WorkspaceNotOpen("the workspace is not open yet")
        return self.bridge

    async def open_workspace(self) -> None:
        """Open the log in a worker thread; emits ready or failed."""
        import asyncio

        from ato_desktop.ui.approvals import Approvals
        from ato_desktop.ui.bridge import EventBridge

        try:
            workspace, engine = await asyncio.to_thread(_open_workspace, self.paths)
        except Exception as exc:  # StoreError, PriceFileError, OSError: all have user messages
            log.warning("could not open the workspace: %s", exc)
            self.sig_workspace_failed.emit(str(exc) or type(exc).__name__)
            return
        self.workspace = workspace
        self.engine = engine
        self.bridge = EventBridge(workspace.bus, self)
        # The log is the bus: other processes' writes (CLI dispatches, the daemon, the
        # receiver) reach the bridge like this process's own.
        workspace.follow_changes()
        self.approvals = Approvals(workspace.approvals, self)
        # On the engine's loop: the online judge, hooks, the scheduler (schedules fire while
        # the app runs) and cloud sync of ended runs (when configured).
        await asyncio.wrap_future(
            engine.call(workspace.start_services, scheduler=True, label="the desktop app")
        )
        # Old runs to archives once a day, in a worker thread (docs/retention.md).
        from ato_desktop.engine.retention import run_daily

        self.spawn(run_daily(workspace.store, workspace.paths), what="archive old runs")
        self._prompt_file_timer.start()
        self.bridge.sig_run_ended.connect(self._end_approvals_of_run)
        self.sig_workspace_ready.emit(workspace)
        if workspace.price_file_error:
            self.sig_error.emit(
                "prices.json has a problem",
                f"{workspace.price_file_error}\n\nATO prices from the bundled table until it is "
                "fixed: Settings → Price overrides.",
            )
        # The price table (model suggestions, estimates) after the window is up, off the UI
        # thread. The provider SDKs (about 90 MB) load when the user is about to dispatch:
        # see prefetch_sdks.
        self.spawn(asyncio.to_thread(workspace.prices.warm_up), what="load the price table")

    def _end_approvals_of_run(self, event: Any) -> None:
        if self.approvals is not None:
            self.approvals.run_ended(event.run_id)

    # -- the engine: its own loop on its own thread ------------------------------------------

    def engine_run(self, coro: Coroutine[Any, Any, T]) -> Awaitable[T]:
        """Await this from the UI: coro runs on the engine's loop (a dispatch, a replay, a
        kill). Cancelling the await cancels it there. Before the workspace opened (or in tests
        without one) it simply runs here."""
        if self.engine is None:
            return coro
        return self._on_engine(self.engine, coro)

    async def _on_engine(self, engine: EngineLoop, coro: Coroutine[Any, Any, T]) -> T:
        try:
            result: T = await engine.run(coro)
        finally:
            # Callbacks the job posted before it returned (progress, a run's start) come first.
            self.invoker.drain()
        return result

    async def engine_call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a plain function on the engine's thread (it touches the engine's tasks or
        futures: a kill, an approval) and await its result."""
        import asyncio

        if self.engine is None:
            return fn(*args, **kwargs)
        result: T = await asyncio.wrap_future(self.engine.call(fn, *args, **kwargs))
        return result

    def on_ui(self, fn: Callable[..., Any]) -> Callable[..., None]:
        """A callback the engine may call from its thread; fn runs on the UI thread."""
        return self.invoker.wrap(fn)

    async def read(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a store read off the UI thread."""
        result: T = await self.opened_workspace.store.read_async(fn, *args, **kwargs)
        return result

    # -- tasks -----------------------------------------------------------------------------------

    def spawn(self, coro: Coroutine[Any, Any, T], *, what: str = "task") -> asyncio.Task[T] | None:
        """Run a coroutine on the app's loop; its failure is logged and shown, never lost.

        Once the loop has stopped (the app is quitting), a late timer's work is dropped quietly
        and None is returned.
        """
        import asyncio

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            coro.close()
            log.debug("%s dropped: the event loop has stopped", what)
            return None
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)

        def done(t: asyncio.Task[T]) -> None:
            self._tasks.discard(t)
            if t.cancelled():
                return
            exc = t.exception()
            if exc is not None and self.closing:
                log.debug("%s ended during shutdown: %s", what, exc)
            elif isinstance(exc, DiskFullError):
                # Not a dialog per refused write: one banner until writes work again.
                log.error("%s failed: %s", what, exc)
                self.sig_store_full.emit(str(exc))
            elif exc is not None:
                log.error("%s failed", what, exc_info=exc)
                self.sig_error.emit(f"Could not finish: {what}", str(exc) or type(exc).__name__)

        task.add_done_callback(done)
        return task

    async def shutdown(self) -> None:
        """Kill what still streams (recorded as killed), stop tasks, close the log."""
        self.closing = True
        if self.workspace is not None:
            if self.engine is not None:
                try:
                    await self.engine.run(self.workspace.aclose())
                    await self.engine.run(_close_network_process())
                finally:
                    self.engine.stop()
            else:
                await self.workspace.aclose()
        for task in list(self._tasks):
            task.cancel()
        if self.bridge is not None:
            self.bridge.close()
        if self.approvals is not None:
            self.approvals.close()

    def prefetch_sdks(self) -> None:
        """Load the provider SDKs in the background (the user is about to send a prompt).

        Not at start-up: they cost about 90 MB, and a user who only reads the log never needs
        them. The dispatcher imports them itself if a dispatch comes first.
        """
        if not self._sdks_requested:
            import asyncio

            self._sdks_requested = True
            self.spawn(asyncio.to_thread(_import_sdks), what="load the provider SDKs")
            if self.engine is not None:
                self.spawn(self.engine.run(_start_network_process()), what="start the network")

    def navigate(self, page_id: str, target: dict[str, Any] | None = None) -> None:
        """Show a page, optionally at a target (e.g. {"run_id": ...})."""
        self.sig_navigate.emit(page_id, target)

    def status(self, text: str) -> None:
        self.sig_status_message.emit(text)

    def check_prompt_files(self) -> asyncio.Task[None] | None:
        """Record edits of agents' linked system prompt files (polled; a read error is said
        once until it changes)."""
        if self.workspace is None or self.closing or self._checking_prompt_files:
            return None
        self._checking_prompt_files = True
        return self.spawn(self._check_prompt_files(), what="check system prompt files")

    async def _check_prompt_files(self) -> None:
        import asyncio

        workspace = self.opened_workspace
        try:
            results = await asyncio.to_thread(workspace.agents.sync_prompt_files)
        finally:
            self._checking_prompt_files = False
        for name, error in results:
            if error is None:
                self.status(f"@{name}: its system prompt file was edited; recorded a new version")
            elif (name, error) not in self._prompt_file_errors:
                self._prompt_file_errors.add((name, error))
                self.status(f"@{name}: {error}")


def _open_workspace(paths: DataPaths) -> tuple[Workspace, EngineLoop]:
    # The engine's import (about 80 ms) happens here too, on the worker thread.
    from ato_desktop.engine.engine_loop import EngineLoop
    from ato_desktop.engine.workspace import Workspace
    from ato_desktop.runtimes.net_process import NetProcess, use_for_loop

    workspace = Workspace.open(paths, strict_prices=False)
    engine = EngineLoop()
    # The provider SDKs' HTTP runs in a process of its own (started when first needed), so the
    # engine's thread, which shares the GIL with this one, parses no HTTP (runtimes.net_process).
    use_for_loop(engine.loop, NetProcess())
    return workspace, engine


async def _start_network_process() -> None:
    from ato_desktop.runtimes.net_process import net_for_running_loop

    net = net_for_running_loop()
    if net is not None:
        await net.start()


async def _close_network_process() -> None:
    from ato_desktop.runtimes.net_process import net_for_running_loop

    net = net_for_running_loop()
    if net is not None:
        await net.aclose()


def _import_sdks() -> None:
    from ato_desktop.core.heavy_imports import import_heavy

    for module in ("anthropic", "openai"):
        try:
            import_heavy(module)
        except Exception:  # a broken SDK install shows up, with its message, at dispatch time
            log.exception("could not import %s", module)
