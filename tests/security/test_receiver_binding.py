"""The local OTLP receiver listens on loopback unless the user asks for another address."""

from __future__ import annotations

import socket
from pathlib import Path

from ato_desktop.engine.otlp_receiver import DEFAULT_HOST, OtlpReceiver
from ato_desktop.engine.workspace import Workspace
from ato_desktop.store.paths import DataPaths


def test_the_receiver_binds_loopback_by_default(ato_home: Path) -> None:
    ws = Workspace.open(DataPaths(ato_home))
    receiver = OtlpReceiver(ws, port=0)
    receiver.start()
    try:
        host, port = receiver.address
        assert DEFAULT_HOST == host == "127.0.0.1" and port > 0
        # Reachable on loopback; the listening socket is bound to nothing else.
        with socket.create_connection((host, port), timeout=5):
            pass
    finally:
        receiver.close()
        ws.close()
