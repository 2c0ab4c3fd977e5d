"""`ato-desktop self-test`: start the real app in a throwaway data directory and check it works.

It is the packaged build's smoke test (`make package` runs it against dist/ato-desktop/) and
works the same from a source checkout. It starts Qt (offscreen unless QT_QPA_PLATFORM says
otherwise), shows the main window and waits for its first paint, opens the execution log the way
the app does (created and migrated in a worker thread), then checks what the app loads at run
time: the bundled price table (offline), token counting (tiktoken's native extension and the
estimator), the provider SDKs and the MCP SDK, keyring's backends, TLS certificates, the Qt
image plugins and our icons. One line per check; exit 0 when all pass, 1 with the failing
check's message otherwise, 2 for a bad command line. Nothing is downloaded (ATO_OFFLINE=1) and
nothing outside the data directory is written.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

DEFAULT_TIMEOUT_S = 60.0


class CheckFailed(Exception):
    """A check found something wrong; the message says what."""


async def wait_until_page(window: Any, timeout_s: float = 10.0) -> None:
    """Wait until the main window has put a page up (the log's first view)."""
    import asyncio

    deadline = time.perf_counter() + timeout_s
    while window.current_page_id is None:
        if time.perf_counter() > deadline:
            raise CheckFailed(f"window: no page shown {timeout_s:g} s after the log opened")
        await asyncio.sleep(0.01)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="ato-desktop self-test",
        description="Start the app offscreen with a throwaway data directory, open the log, show "
        "the window, check prices, token counts and bundled libraries, and exit (0 = all good).",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        help="use (and keep) this data directory instead of a temporary one; it must be empty "
        "or an ATO data directory",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        metavar="SECONDS",
        help=f"give up after this long (default {DEFAULT_TIMEOUT_S:g})",
    )
    args = parser.parse_args(list(argv or []))
    if args.timeout <= 0:
        parser.error("--timeout must be positive")

    # Before anything reads them: the data directory, no downloads, and a platform that needs
    # no display unless the caller chose one (xcb under xvfb-run, say).
    temporary = args.data_dir is None
    home = Path(tempfile.mkdtemp(prefix="ato-self-test-")) if temporary else args.data_dir
    home = home.expanduser().resolve()
    if home.exists() and not home.is_dir():
        print(f"self-test: {home} is not a directory", file=sys.stderr)
        return 2
    os.environ["ATO_HOME"] = str(home)
    os.environ["ATO_OFFLINE"] = "1"
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    try:
        return SelfTest(home, args.timeout).run()
    finally:
        if temporary:
            shutil.rmtree(home, ignore_errors=True)


class SelfTest:
    """Runs the checks in order on the app's own event loop; the first failure ends it."""

    def __init__(self, home: Path, timeout_s: float) -> None:
        self.home = home
        self.timeout_s = timeout_s
        self.started = time.perf_counter()
        self.failure: str | None = None

    def say(self, check: str, detail: str) -> None:
        print(f"ok    {check:<14} {detail}", flush=True)

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000

    def run(self) -> int:
        print(f"ATO Desktop self-test (data directory {self.home})", flush=True)
        try:
            self._run()
        except CheckFailed as exc:
            self.failure = str(exc)
        except Exception as exc:  # anything unexpected is a failed self-test, said plainly
            self.failure = f"{type(exc).__name__}: {exc}"
        if self.failure is not None:
            print(f"FAIL  {self.failure}", file=sys.stderr, flush=True)
            print("self-test FAILED", file=sys.stderr, flush=True)
            return 1
        print(f"self-test passed in {self.elapsed_ms() / 1000:.1f} s", flush=True)
        return 0

    def _run(self) -> None:
        from PySide6.QtCore import QEvent, QObject

        from ato_desktop.store.paths import data_paths
        from ato_desktop.ui.app import create_application, create_window, install_event_loop

        # The start-up of ui.app.main, with a deadline and checks instead of a user.
        app = create_application([sys.argv[0]])
        if app.windowIcon().isNull():
            raise CheckFailed("icon: the app icon (resources/icons/ato-desktop.svg) did not load")
        self.say("qt", f"PySide6 on the {app.platformName()} platform, icon loaded")
        ctx, window = create_window(app, data_paths())

        painted: list[float] = []

        class PaintWatch(QObject):
            def eventFilter(self, watched: QObject, event: QEvent) -> bool:
                if (
                    not painted
                    and event.type() == QEvent.Type.Paint
                    and hasattr(watched, "window")
                    and watched.window() is window
                ):
                    painted.append(time.perf_counter())
                return False

        watch = PaintWatch()
        app.installEventFilter(watch)
        window.show()
        app.processEvents()

        import asyncio

        loop, executor = install_event_loop(app, workers=4, prefix="self-test")

        async def wait_for(what: str, done: Callable[[], bool], timeout_s: float) -> None:
            deadline = time.perf_counter() + timeout_s
            while not done():
                if time.perf_counter() > deadline:
                    raise CheckFailed(f"{what}: nothing after {timeout_s:g} s")
                await asyncio.sleep(0.01)

        async def checks() -> None:
            await wait_for("first paint", lambda: bool(painted), self.timeout_s)
            app.removeEventFilter(watch)
            self.say("window", f"main window painted {(painted[0] - self.started) * 1000:.0f} ms")

            outcome: list[tuple[bool, Any]] = []
            ctx.sig_workspace_ready.connect(lambda ws: outcome.append((True, ws)))
            ctx.sig_workspace_failed.connect(lambda message: outcome.append((False, message)))
            ctx.spawn(ctx.open_workspace(), what="open the log")
            await wait_for("execution log", lambda: bool(outcome), self.timeout_s)
            ok, value = outcome[0]
            if not ok:
                raise CheckFailed(f"execution log: could not open it: {value}")
            workspace = value
            errors: list[str] = []
            ctx.sig_error.connect(lambda title, message: errors.append(f"{title}: {message}"))
            try:
                await self._check_workspace(workspace, window)
                await self._check_pages(window, errors)
                await asyncio.to_thread(self._check_libraries)
                self._check_qt_plugins()
            finally:
                await ctx.shutdown()

        async def guarded() -> None:
            try:
                await asyncio.wait_for(checks(), self.timeout_s)
            except TimeoutError:
                self.failure = f"timed out after {self.timeout_s:g} s"
            except CheckFailed as exc:
                self.failure = str(exc)
            except Exception as exc:
                self.failure = f"{type(exc).__name__}: {exc}"

        try:
            with loop:
                loop.run_until_complete(guarded())
        finally:
            window.hide()
            window.deleteLater()
            executor.shutdown(wait=False, cancel_futures=True)
        if self.failure is not None:
            raise CheckFailed(self.failure)

    async def _check_workspace(self, workspace: Any, window: Any) -> None:
        import asyncio

        from ato_desktop.core.models import CostSource, TokenUsage
        from ato_desktop.core.pricing import price_table_version
        from ato_desktop.store.schema import LATEST_VERSION

        conn = workspace.store.reader()
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        integrity = conn.execute("PRAGMA quick_check").fetchone()[0]
        if version != LATEST_VERSION or integrity != "ok":
            raise CheckFailed(
                f"execution log: schema version {version} (expected {LATEST_VERSION}), "
                f"quick_check {integrity!r}"
            )
        await wait_until_page(window)
        self.say(
            "execution log",
            f"{workspace.paths.database} at schema {version}, open after "
            f"{self.elapsed_ms():.0f} ms; the window shows {window.current_page_id!r}",
        )

        prices = workspace.prices
        models = await asyncio.to_thread(prices.known_models, "claude")
        if not models:
            raise CheckFailed("prices: the bundled genai-prices table lists no Claude model")
        usage = TokenUsage(input_tokens=1_000_000, output_tokens=1_000_000)
        priced = [(m, prices.cost("claude", m, usage)) for m in models]
        estimated = [(m, c) for m, c in priced if c.source == CostSource.ESTIMATED and c.usd]
        if not estimated:
            raise CheckFailed("prices: no Claude model could be priced from the bundled table")
        sonnets = [(m, c) for m, c in estimated if "sonnet" in m]
        model, cost = (sonnets or estimated)[-1]
        self.say(
            "prices",
            f"{price_table_version()}: {len(models)} Claude models offline, "
            f"1M in + 1M out on {model} = ${cost.usd:,.2f}",
        )

        text = "The quick brown fox jumps over the lazy dog. " * 20
        count = workspace.estimator.count(text, "gpt-4o")
        if count.n <= 0:
            raise CheckFailed(f"tokens: the estimator counted {count.n} for {len(text)} chars")
        self.say("tokens", f"{count.n} tokens for {len(text)} characters ({count.method})")

    async def _check_pages(self, window: Any, errors: list[str]) -> None:
        """Open every page (each is built on first visit, with its own imports and queries)."""
        import asyncio

        from ato_desktop.ui.pages.registry import PAGES

        first = window.current_page_id
        for spec in PAGES:
            window.navigate(spec.id)
            await asyncio.sleep(0.05)  # the page's first load runs on the loop
            if window.current_page_id != spec.id:
                raise CheckFailed(f"pages: could not open the {spec.title} page")
        window.navigate(first)
        await asyncio.sleep(0.3)
        if errors:
            raise CheckFailed(f"pages: {errors[0]}")
        self.say("pages", f"{len(PAGES)} pages opened: {', '.join(s.id for s in PAGES)}")

    def _check_libraries(self) -> None:
        """What loads later in a session: check each imports and works in this build."""
        import importlib
        import importlib.metadata
        import ssl

        import tiktoken

        # tiktoken's Rust extension, on a byte-level encoding built here (no download).
        byte_ranks = {bytes([b]): b for b in range(256)}
        encoding = tiktoken.Encoding(
            name="self-test", pat_str=r"\S+|\s+", mergeable_ranks=byte_ranks, special_tokens={}
        )
        if encoding.decode(encoding.encode("ato")) != "ato":
            raise CheckFailed("tokens: tiktoken's native encoder did not round-trip")
        self.say("tiktoken", f"tiktoken {importlib.metadata.version('tiktoken')} native encoder")

        loaded = []
        for module in ("anthropic", "openai", "mcp", "ato_desktop.engine.mcp_client"):
            try:
                importlib.import_module(module)
            except Exception as exc:
                raise CheckFailed(f"sdks: {module} does not import: {exc}") from exc
            if not module.startswith("ato_desktop"):
                loaded.append(f"{module} {importlib.metadata.version(module)}")
        self.say("sdks", ", ".join(loaded))

        entry_points = importlib.metadata.entry_points(group="keyring.backends")
        backends = sorted(entry_point.name for entry_point in entry_points)
        if not backends:
            raise CheckFailed("keyring: no backends registered (package metadata missing)")
        import keyring

        in_use = type(keyring.get_keyring()).__module__
        self.say("keyring", f"backends {', '.join(backends)}; in use: {in_use}")

        import certifi

        context = ssl.create_default_context(cafile=certifi.where())
        certificates = len(context.get_ca_certs())
        if not certificates:
            raise CheckFailed(f"tls: no CA certificates in {certifi.where()}")
        self.say("tls", f"{certificates} CA certificates from certifi")

    def _check_qt_plugins(self) -> None:
        from PySide6.QtGui import QImageReader

        from ato_desktop.ui.resources import RESOURCES

        formats = {bytes(f.data()).decode() for f in QImageReader.supportedImageFormats()}
        missing = {"svg", "png"} - formats
        if missing:
            names = ", ".join(sorted(missing))
            raise CheckFailed(f"qt plugins: no image format plugin for {names}")
        icons = sorted(RESOURCES.glob("icons/*.svg"))
        if not icons:
            raise CheckFailed(f"resources: no icons in {RESOURCES / 'icons'}")
        self.say("resources", f"{len(icons)} icons; image formats include svg and png")
