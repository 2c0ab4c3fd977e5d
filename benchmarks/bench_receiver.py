"""The OTLP receiver at store speed (issue 20.2).

Ours: the corpus of benchmarks/otlp_corpus.py (10,000 traces, about 100,000 spans of 200 to
2,000 characters of text each, 100 traces an export) posted one export after another by a
client in another process to a receiver (`OtlpReceiver`) on a fresh log: decoding, redaction,
mapping, pricing, encoding and writing in bounded batches, end to end. Baseline, same run:
`ExecutionLog.ingest` of the very same rows (mapped beforehand) into another fresh log.
Targets: >= 15,000 spans/s; no write transaction over 250 ms; resident memory <= 150 MB in a
`receiver run` process taking one 32 MB export.

    python -m benchmarks.bench_receiver [--traces 10000]

Prints one JSON object (key "receiver"); benchmarks.run_all puts it in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# No keyring in a benchmark (and never the developer's): the redaction gate then checks
# credential shapes only; with keys loaded it checks every piece of them in the same pass.
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")

from ato_desktop.core.otlp_ingest import traces_from_request
from ato_desktop.engine.otlp_receiver import OtlpReceiver, decode_request
from ato_desktop.engine.workspace import Workspace
from ato_desktop.store.execution_log import ExecutionLog
from ato_desktop.store.paths import DataPaths
from benchmarks.otlp_corpus import big_request, corpus

REPO = Path(__file__).resolve().parents[1]
TARGET_SPANS_PER_S = 15_000
TARGET_TRANSACTION_MS = 250
TARGET_RSS_MB = 150

# Posts every file named on the command line, in order, one at a time; prints the seconds.
CLIENT = """
import http.client, sys, time
host, port, files = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
bodies = [open(f, "rb").read() for f in files]
conn = http.client.HTTPConnection(host, port, timeout=600)
t0 = time.perf_counter()
for body in bodies:
    conn.request("POST", "/v1/traces", body, {"Content-Type": "application/x-protobuf"})
    response = conn.getresponse()
    response.read()
    assert response.status == 200, response.status
print(time.perf_counter() - t0)
"""


def bench_throughput(root: Path, traces: int, per_request: int) -> dict[str, Any]:
    exports = list(corpus(traces, per_request))
    spans = sum(n for _b, n in exports)
    size = sum(len(b) for b, _n in exports)
    files = []
    for i, (body, _n) in enumerate(exports):
        path = root / "corpus" / f"{i:05d}.pb"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        files.append(str(path))

    # -- ours: the receiver, end to end over HTTP
    ws = Workspace.open(DataPaths(root / "ours").ensure())
    ws.prices.warm_up()
    receiver = OtlpReceiver(ws, port=0)
    receiver.start()
    host, port = receiver.address
    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost"}
    cpu0 = _cpu_s()
    done = subprocess.run(
        [sys.executable, "-c", CLIENT, host, str(port), *files],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    ours_s = float(done.stdout.strip())
    ours_cpu_s = _cpu_s() - cpu0
    receiver.close()
    written = ws.store.reader().execute("SELECT count(*) FROM actions").fetchone()[0]
    assert written == spans, (written, spans)
    longest_ms = receiver.longest_batch_s * 1000
    longest_cpu_ms = receiver.longest_batch_cpu_s * 1000
    prices = ws.prices
    ws.close()

    # -- baseline: ExecutionLog.ingest of the same rows (mapped before the clock starts)
    rows = []
    for body, _n in exports:
        request = decode_request(body, "application/x-protobuf")
        rows.append([(t.run, t.end, t.actions) for t in traces_from_request(request, prices)])
    log = ExecutionLog.open(DataPaths(root / "baseline").ensure())
    t0, cpu0 = time.perf_counter(), _cpu_s()
    for items in rows:
        log.ingest(items).result()
    baseline_s = time.perf_counter() - t0
    baseline_cpu_s = _cpu_s() - cpu0
    log.close()
    return {
        "traces": traces,
        "spans": spans,
        "exports": len(exports),
        "corpus_mb": round(size / 1e6, 1),
        "ours_s": round(ours_s, 2),
        "ours_spans_per_s": round(spans / ours_s),
        "baseline_s": round(baseline_s, 2),
        "baseline_actions_per_s": round(spans / baseline_s),
        "ratio_vs_ingest": round(baseline_s / ours_s, 2),
        # CPU time of this process (every thread) in each phase: what a loaded machine's
        # scheduling adds to the seconds above is not in it.
        "ours_cpu_us_per_span": round(ours_cpu_s / spans * 1e6, 1),
        "baseline_cpu_us_per_action": round(baseline_cpu_s / spans * 1e6, 1),
        "longest_transaction_ms": round(longest_ms, 1),
        "longest_transaction_cpu_ms": round(longest_cpu_ms, 1),
        "target_spans_per_s": TARGET_SPANS_PER_S,
        "target_transaction_ms": TARGET_TRANSACTION_MS,
    }


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def bench_memory(root: Path, megabytes: int = 32) -> dict[str, Any]:
    """Peak resident memory of a `receiver run` process taking one export just under the
    receiver's 32 MB body cap (or of `megabytes`)."""
    body = big_request(megabytes * 1024 * 1024 - 65_536)
    port = _free_port()
    env = {
        **os.environ,
        "ATO_HOME": str(root / "rss"),
        "PYTHONPATH": str(REPO),
        "NO_PROXY": "127.0.0.1,localhost",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "ato_desktop", "receiver", "run", "--port", str(port)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        assert "receiving" in process.stdout.readline()
        idle_kib = _status_kib(process.pid, "VmRSS")
        import http.client

        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        t0 = time.perf_counter()
        conn.request("POST", "/v1/traces", body, {"Content-Type": "application/x-protobuf"})
        response = conn.getresponse()
        response.read()
        seconds = time.perf_counter() - t0
        assert response.status == 200, response.status
        peak_kib = _status_kib(process.pid, "VmHWM")
    finally:
        process.terminate()
        process.wait(timeout=30)
    return {
        "export_mb": round(len(body) / 2**20, 1),
        "export_s": round(seconds, 2),
        "idle_rss_mb": round(idle_kib / 1024, 1),
        "peak_rss_mb": round(peak_kib / 1024, 1),
        "target_rss_mb": TARGET_RSS_MB,
    }


def receiver_section(r: dict[str, Any]) -> list[str]:
    """docs/benchmarks.md's section (benchmarks.run_all)."""
    from benchmarks.run_all import _verdict

    m = r["memory"]
    return [
        "## The OTLP receiver",
        "",
        f"The corpus of `benchmarks/otlp_corpus.py`: {r['traces']:,} traces, {r['spans']:,} "
        f"spans with 200 to 2,000 characters of text each ({r['corpus_mb']} MB of OTLP "
        f"protobuf), {r['exports']} exports posted one after another by a client in another "
        "process to a receiver on a fresh log; baseline: `ExecutionLog.ingest` of the same "
        "rows, mapped beforehand, into another fresh log "
        "(`python -m benchmarks.bench_receiver`). CPU time of the process (all threads): "
        f"ours {r.get('ours_cpu_us_per_span', '?')} us a span, baseline "
        f"{r.get('baseline_cpu_us_per_action', '?')} us an action.",
        "",
        "| Benchmark | Ours | Baseline (same run) | Ratio | Target | |",
        "|---|---|---|---|---|---|",
        f"| Receiver, end to end (HTTP, decoding, redaction, mapping, pricing, encoding, "
        f"writing in batches) | {r['ours_s']} s ({r['ours_spans_per_s']:,} spans/s) | "
        f"`ExecutionLog.ingest`: {r['baseline_s']} s ({r['baseline_actions_per_s']:,} "
        f"actions/s) | {r['ratio_vs_ingest']}x | >= {r['target_spans_per_s']:,} spans/s | "
        f"{_verdict(r['ours_spans_per_s'] >= r['target_spans_per_s'])} |",
        f"| Longest write transaction (its writer thread's CPU time: "
        f"{r.get('longest_transaction_cpu_ms', '?')} ms) | {r['longest_transaction_ms']} ms | — | "
        f"— | <= "
        f"{r['target_transaction_ms']} ms | "
        f"{_verdict(r['longest_transaction_ms'] <= r['target_transaction_ms'])} |",
        f"| Peak resident memory of `receiver run` taking one {m['export_mb']} MB export "
        f"({m['export_s']} s) | {m['peak_rss_mb']} MB | idle: {m['idle_rss_mb']} MB | — | <= "
        f"{m['target_rss_mb']} MB | {_verdict(m['peak_rss_mb'] <= m['target_rss_mb'])} |",
        "",
        "What it took (profiled with cProfile, per phase): the redaction ran four regular "
        "expressions over every string (60 % of the time): one RE2 automaton now finds, in the "
        "whole export, anything redaction could change, and the regexes run only when it does; "
        "a frozen 17-field dataclass per span cost more than the rest of the mapping (plain "
        "rows now); orjson parses message lists and encodes rows; each export is mapped a "
        "batch at a time (memory), and written in batches sized to 50 ms with the lock left "
        "free a fifth of the time (docs/resilience.md).",
        "",
        "Issue 20.2 (CPU per span, in process, on this corpus): decoding and grouping 3 us, the "
        "RE2 gate 3 us, mapping about 48 us of Python spread over every attribute, encoding "
        "6 us; writing about 60 us: the rows of actions (row and key), the Activity Ledger (key "
        "and three indexes) and otlp_spans, the run (25 indexes, one per ten spans), the commit "
        "(its pages to the WAL) and the checkpoints (the WAL to the log, with fsync). Done: a "
        "batch's new runs go in with one statement per table, and their ledger rows are built "
        "in Python (copying them in SQL read each action back past its text: 12 us a span); "
        "the next batch is mapped while the last one commits and checkpoints (SQLite's work, "
        "without the GIL, after the lock is let go), never while its rows are inserted (the "
        "writer takes the GIL back after every row: a thread running Python beside it makes "
        "each row wait up to the 5 ms switch interval); lookups of token counts, parameters "
        "and tools are skipped when none of their attributes is there; a batch holds at most "
        "1,000 spans (two are alive at once: memory). What bounds it: the mapping's Python and "
        "the inserts share one GIL, so only the commit overlaps. The store's own ingest of "
        "this corpus is bound by the same inserts, commits and checkpoints (about 50 us an "
        "action measured on a bare connection), plus the stdlib JSON encoder on the writer "
        "thread.",
        "",
        "Issue 20.2, second pass (branch recv3; CPU time with time.thread_time, A/B in one "
        "process, alternating; load 4-10 on the 2 cores throughout, so no wall-clock figure "
        "of it means much). Writing a span on a bare connection, 1,000-span batches: actions "
        "(row and key) 9-12 us, the Activity Ledger 6-9, the run's row and 27 indexes 3.4-5 "
        "(49 us a run), otlp_spans 2.5-3.3, the Python building the rows 4, the commit 9-11 "
        "(checkpoints 3.5 of it). Done: each big export starts at half the batch size the "
        "last one reached (it restarted at 200 spans: three batches for an export of 1,000, "
        "and a commit writes every page its batch touched, so 300-span batches cost 46-48 us "
        "a span to insert and commit against 38 for 1,000; starting at the full size cut the "
        "writer's commit CPU most but made the first transaction of an export 300-370 ms "
        "under load 5-10, so half: the first commit still overlaps the next batch's mapping); "
        "the mapping lists a span's attributes outside the mapped "
        "set once for its prefix checks and checks parsed messages as dicts, not against the "
        "Mapping ABC (map_trace 50.5 us a span against 55.6); ExecutionLog.ingest encodes "
        "with orjson (store.json_codec.fast_json, the receiver's encoder), 53 us of CPU an "
        "action against 55-60. Tried and not kept: inserting a table's rows as one JSON array "
        "(INSERT ... SELECT FROM json_each, one statement without the GIL) costs 2-3x "
        "executemany's CPU for the actions (SQLite 3.40 parses the row again for each column) "
        "and 1.3-1.8x for the narrow ledger and span rows; writing those narrow rows that way "
        "after the actions, while the next batch is mapped, added 20-30 us a span of writer "
        "CPU and no gain was visible on this loaded machine; partial indexes on runs for "
        "agent-less runs, 8 or 16 kB pages, a 64 MB cache and foreign keys off were within "
        "the noise (a few us at most); the cyclic collector off during mapping saved about "
        "4 us a span but is process-wide. What bounds it: about 60 us a span of Python on "
        "the receiver's thread (decoding, the gate and grouping 7, mapping 50, encoding 4) "
        "and about 30 us of inserts that hold the GIL between rows: only the commit and "
        "checkpoints overlap the next batch's mapping. Same-load A/B (main and this branch run "
        "at once, each with half the machine, 23:40 UTC): in process, 2,000 traces, 3,607 and "
        "2,579 spans/s against main's 3,079 and 2,476 (CPU 132.7 and 157.0 us a span against "
        "144.3 and 164.1); the whole benchmark 1,997 spans/s against main's 2,088 (CPU 178.2 "
        "against 186.8 us a span) and `ExecutionLog.ingest` 65.8 us of CPU an action against "
        "84.0. Sequential runs a few minutes apart differed by up to 2x on either side.",
        "",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--traces", type=int, default=10_000)
    parser.add_argument("--per-request", type=int, default=100)
    parser.add_argument("--memory-mb", type=int, default=32, help="the big export's size")
    args = parser.parse_args()
    load_before = round(os.getloadavg()[0], 2)
    with tempfile.TemporaryDirectory(prefix="ato-bench-receiver-") as tmp:
        root = Path(tmp)
        result = bench_throughput(root, args.traces, args.per_request)
        result["memory"] = bench_memory(root, args.memory_mb)
    # The machine's load (1 min) around the run: two cores shared with other work stretch
    # every figure here, so a result is read with them.
    result["load_before"] = load_before
    result["load_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps({"receiver": result}))


if __name__ == "__main__":
    main()
