"""A receiver in a process of its own, writing one big export (for the kill -9 test).

    python -m tests.resilience.receiver_worker <export file>

Opens the workspace (ATO_HOME) as `receiver run` does and writes the export through
OtlpReceiver.ingest; the test SIGKILLs it while the export's batches are being written.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ato_desktop.engine.otlp_receiver import OtlpReceiver
from ato_desktop.engine.workspace import Workspace


def main() -> None:
    body = Path(sys.argv[1]).read_bytes()
    workspace = Workspace.open()
    receiver = OtlpReceiver(workspace, port=0)
    print("ready", flush=True)
    receiver.ingest(body, "application/x-protobuf")
    print("done", flush=True)
    workspace.close()


if __name__ == "__main__":
    main()
