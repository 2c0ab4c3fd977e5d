"""TokenEstimator: tiktoken from a local cache, an offline heuristic, never the network."""

from __future__ import annotations

import base64
import hashlib
import http.server
import socket
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ato_desktop.core.models import TokenUsage
from ato_desktop.engine import token_estimator
from ato_desktop.engine.token_estimator import (
    ENCODING_SPECS,
    HEURISTIC,
    MESSAGE_OVERHEAD_TOKENS,
    REPLY_PRIMING_TOKENS,
    TIKTOKEN,
    EncodingSpec,
    TokenCount,
    TokenEstimator,
    encoding_for_model,
    heuristic_count,
)

# Samples with their true token counts, measured once with tiktoken 0.14's real o200k_base and
# cl100k_base files (the heuristic's ratios were fitted on other text).
ENGLISH = (
    "The execution log keeps every prompt dispatch in one local SQLite file, so the Runs page, "
    "replay, compare and the cost views all read the same facts. When a provider reports usage, "
    "we store the token counts by kind and price them later; when a stream is cut mid-way, the "
    "counts are estimated instead, and the estimate is labelled as such wherever it appears. "
    "Nothing here needs a network connection: prices come from a table bundled with the "
    "application, and tokenizer files are read from a local cache when they are present. "
    "If they are missing, a heuristic based on words, letters, digits and punctuation takes "
    "over, which is good enough for budgets and dashboards but not for billing disputes."
)
PYTHON = '''def rollup(actions: list[dict[str, object]]) -> dict[str, float]:
    """Sum cost per model, skipping actions whose cost is unknown."""
    totals: dict[str, float] = {}
    for action in actions:
        usd = action.get("cost_usd")
        if usd is None:
            continue
        model = str(action.get("model", "?"))
        totals[model] = totals.get(model, 0.0) + float(usd)
    return dict(sorted(totals.items(), key=lambda item: -item[1]))


class RetryPolicy:
    def __init__(self, attempts: int = 3, backoff_s: float = 0.5) -> None:
        self.attempts = attempts
        self.backoff_s = backoff_s

    def delays(self) -> list[float]:
        return [self.backoff_s * 2**i for i in range(self.attempts - 1)]
'''
CHINESE = (
    "执行日志把每一次提示调用都记录在一个本地数据库文件里，运行页面、重放、比较和成本视图都读取同样的事实。"
    "当服务商报告用量时，我们按类别保存令牌数量，之后再计算价格；当数据流中途被切断时，令牌数量改为估算，"
    "并且在每个显示它的地方都标注为估算值。这里的一切都不需要网络连接：价格来自随应用一起发布的价格表，"
    "分词器文件在存在时从本地缓存读取。如果文件缺失，就改用基于字符和词语的启发式方法，"
    "它足以用于预算和仪表盘，但不适合用于账单争议。"
)
JAPANESE = (
    "実行ログは、すべてのプロンプト送信を一つのローカルファイルに記録します。実行ページ、再生、比較、"
    "コストの画面はすべて同じ事実を読み取ります。プロバイダーが使用量を報告した場合は、種類ごとのトークン数を保存し、"
    "後で価格を計算します。ストリームが途中で切れた場合は推定値を使い、表示される場所ではそのことを明記します。"
)
TRUE_COUNTS = {
    # sample: (o200k_base, cl100k_base)
    "english": (ENGLISH, 138, 139),
    "python": (PYTHON, 201, 199),
    "chinese": (CHINESE, 156, 210),
    "japanese": (JAPANESE, 118, 152),
}


@pytest.fixture(autouse=True)
def fresh_process_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loaded encodings and download bookkeeping are per process: give each test its own."""
    monkeypatch.setattr(token_estimator, "_ENCODINGS", {})
    monkeypatch.setattr(token_estimator, "_DOWNLOADS", {})
    monkeypatch.setattr(token_estimator, "_DOWNLOAD_FAILED_AT", {})


@pytest.fixture
def cache_dir(ato_home: Path) -> Path:
    return ato_home / "cache" / "tiktoken"


def stand_in_ranks() -> bytes:
    """A tiny BPE vocabulary in the .tiktoken format: every byte, then he+ll+o merges."""
    tokens = [bytes([b]) for b in range(256)] + [b"he", b"ll", b"hell", b"hello"]
    lines = [
        base64.b64encode(token) + b" " + str(rank).encode() for rank, token in enumerate(tokens)
    ]
    return b"\n".join(lines) + b"\n"


@pytest.fixture
def stand_in(monkeypatch: pytest.MonkeyPatch) -> EncodingSpec:
    """Replace o200k_base's spec with the tiny vocabulary (the real file is never available)."""
    data = stand_in_ranks()
    spec = EncodingSpec(
        name="o200k_base",
        url="http://127.0.0.1:9/stand_in.tiktoken",
        sha256=hashlib.sha256(data).hexdigest(),
        pat_str=r"\S+|\s+",
        special_tokens={},
    )
    monkeypatch.setitem(ENCODING_SPECS, "o200k_base", spec)
    return spec


def with_url(monkeypatch: pytest.MonkeyPatch, spec: EncodingSpec, url: str) -> EncodingSpec:
    moved = EncodingSpec(spec.name, url, spec.sha256, spec.pat_str, spec.special_tokens)
    monkeypatch.setitem(ENCODING_SPECS, "o200k_base", moved)
    return moved


class _Handler(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:
        if self.path != "/stand_in.tiktoken":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def serve() -> Iterator[Callable[[bytes], str]]:
    """A loopback HTTP server; call it with the bytes to serve, get the file's URL back."""
    servers: list[http.server.ThreadingHTTPServer] = []

    def start(body: bytes) -> str:
        handler = type("Handler", (_Handler,), {"body": body})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/stand_in.tiktoken"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def join_downloads() -> None:
    for thread in list(token_estimator._DOWNLOADS.values()):
        thread.join(10)


# --------------------------------------------------------------------------- offline: heuristic


def test_offline_counts_use_the_heuristic_and_create_no_file(cache_dir: Path) -> None:
    estimator = TokenEstimator(cache_dir, allow_download=False)
    for model in ("gpt-4o", "gpt-4", "claude-sonnet-4-5", "llama3.1"):
        count = estimator.count(ENGLISH, model)
        assert count.method == HEURISTIC
        assert count.n > 0
    usage, method = estimator.estimate_usage(["system", "question"], "answer", "gpt-5")
    assert method == HEURISTIC
    assert usage.input_tokens > 0 and usage.output_tokens > 0
    assert not cache_dir.exists()

    cache_dir.mkdir(parents=True)
    TokenEstimator(cache_dir, allow_download=False).count(ENGLISH, "gpt-4o")
    assert list(cache_dir.iterdir()) == []


def test_offline_never_touches_the_network(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts: list[object] = []

    def no_urlopen(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        raise AssertionError("urlopen called while offline")

    def no_connect(self: socket.socket, address: object) -> None:
        attempts.append(address)
        raise AssertionError("socket connect while offline")

    monkeypatch.setattr(urllib.request, "urlopen", no_urlopen)
    monkeypatch.setattr(socket.socket, "connect", no_connect)
    threads_before = {thread.name for thread in threading.enumerate()}

    estimator = TokenEstimator(cache_dir, allow_download=False)
    estimator.count(ENGLISH, "gpt-4o")
    estimator.count(ENGLISH, "gpt-4")
    estimator.estimate_usage([ENGLISH], PYTHON, "o3")
    assert estimator.prefetch("gpt-4o") is False

    assert attempts == []
    started = {thread.name for thread in threading.enumerate()} - threads_before
    assert not any(name.startswith("tiktoken-download") for name in started)


@pytest.mark.parametrize("sample", sorted(TRUE_COUNTS))
def test_heuristic_is_within_a_sane_range_of_the_true_count(sample: str) -> None:
    text, o200k, cl100k = TRUE_COUNTS[sample]
    # Measured error on these samples is under 6%; docs/pricing.md gives the distribution.
    assert heuristic_count(text, "o200k_base") == pytest.approx(o200k, rel=0.15)
    assert heuristic_count(text, "cl100k_base") == pytest.approx(cl100k, rel=0.15)


def test_heuristic_scales_by_script() -> None:
    """CJK costs far more tokens per character than English; the old vocabulary more still."""
    per_char_en = heuristic_count(ENGLISH) / len(ENGLISH)
    per_char_zh = heuristic_count(CHINESE) / len(CHINESE)
    assert per_char_zh > 3 * per_char_en
    assert heuristic_count(CHINESE, "cl100k_base") > heuristic_count(CHINESE, "o200k_base")
    assert heuristic_count("") == 0
    assert heuristic_count("a") == 1
    assert heuristic_count("\n") == 1


@pytest.mark.parametrize(
    "text",
    ["\ud800 lone surrogate", "\x00\x01\x02", "🙂" * 50, " " * 10_000, "<|endoftext|>", "٣٤٥"],
)
def test_count_never_raises(cache_dir: Path, text: str) -> None:
    count = TokenEstimator(cache_dir, allow_download=False).count(text, "gpt-4o")
    assert count.n >= 1


def test_estimate_usage_adds_chat_framing(cache_dir: Path) -> None:
    estimator = TokenEstimator(cache_dir, allow_download=False)
    system, question, answer = "You are terse.", "Say hi", "Hi!"
    usage, method = estimator.estimate_usage([system, "", question], answer, "gpt-4o")
    assert method == HEURISTIC
    expected_input = (
        heuristic_count(system)
        + heuristic_count(question)
        + 2 * MESSAGE_OVERHEAD_TOKENS  # the empty part is skipped
        + REPLY_PRIMING_TOKENS
    )
    assert usage == TokenUsage(input_tokens=expected_input, output_tokens=heuristic_count(answer))
    assert estimator.estimate_usage([], "", "gpt-4o") == (TokenUsage(0, 0), HEURISTIC)


@pytest.mark.parametrize(
    ("model", "encoding"),
    [
        ("gpt-4o", "o200k_base"),
        ("gpt-4o-mini-2024-07-18", "o200k_base"),
        ("gpt-4.1", "o200k_base"),
        ("gpt-4.5-preview", "o200k_base"),
        ("gpt-5", "o200k_base"),
        ("gpt-5.1-codex", "o200k_base"),
        ("o1", "o200k_base"),
        ("o3-mini", "o200k_base"),
        ("o4-mini", "o200k_base"),
        ("codex-mini-latest", "o200k_base"),
        ("gpt-oss-20b", "o200k_base"),
        ("openai/gpt-oss-120b", "o200k_base"),
        ("chatgpt-4o-latest", "o200k_base"),
        ("ft:gpt-4o-2024-08-06:org::id", "o200k_base"),
        ("gpt-4", "cl100k_base"),
        ("gpt-4-turbo", "cl100k_base"),
        ("gpt-3.5-turbo", "cl100k_base"),
        ("GPT-3.5-Turbo", "cl100k_base"),
        ("text-embedding-3-small", "cl100k_base"),
        ("claude-sonnet-4-5", "o200k_base"),  # an approximation: Anthropic's tokenizer differs
        ("llama3.1:8b", "o200k_base"),
        ("", "o200k_base"),
    ],
)
def test_encoding_for_model(model: str, encoding: str) -> None:
    assert encoding_for_model(model) == encoding


def test_specs_match_the_installed_tiktoken(monkeypatch: pytest.MonkeyPatch) -> None:
    """Our copies of the URLs, hashes, patterns and special tokens have not drifted."""
    import tiktoken_ext.openai_public as openai_public

    def fake_load(url: str, expected_hash: str | None = None) -> dict[bytes, int]:
        return {url.encode(): 0, str(expected_hash).encode(): 1}

    monkeypatch.setattr(openai_public, "load_tiktoken_bpe", fake_load)
    for name, spec in ENCODING_SPECS.items():
        constructed = getattr(openai_public, name)()
        assert constructed["pat_str"] == spec.pat_str
        assert constructed["special_tokens"] == spec.special_tokens
        assert constructed["mergeable_ranks"] == {spec.url.encode(): 0, spec.sha256.encode(): 1}
        # tiktoken's own cache layout, so an existing TIKTOKEN_CACHE_DIR can be copied in.
        assert spec.cache_filename == hashlib.sha1(spec.url.encode()).hexdigest()


# --------------------------------------------------------------------------- tiktoken from cache


def test_a_cached_encoding_is_used(cache_dir: Path, stand_in: EncodingSpec) -> None:
    cache_dir.mkdir(parents=True)
    (cache_dir / stand_in.cache_filename).write_bytes(stand_in_ranks())
    estimator = TokenEstimator(cache_dir, allow_download=False)

    assert estimator.count("hello hello", "gpt-4o") == TokenCount(3, TIKTOKEN)
    assert estimator.count("hello", "claude-sonnet-4-5") == TokenCount(1, TIKTOKEN)
    assert estimator.count("", "gpt-4o") == TokenCount(0, TIKTOKEN)
    usage, method = estimator.estimate_usage(["hello"], "hello hello", "gpt-5")
    assert method == TIKTOKEN
    assert usage == TokenUsage(1 + MESSAGE_OVERHEAD_TOKENS + REPLY_PRIMING_TOKENS, 3)
    # cl100k_base is not cached: those models keep the heuristic.
    assert estimator.count("hello", "gpt-4").method == HEURISTIC
    # Loaded once per process: a second estimator shares it without reading the disk.
    (cache_dir / stand_in.cache_filename).unlink()
    assert TokenEstimator(cache_dir, allow_download=False).count("hello", "gpt-4o").method == (
        TIKTOKEN
    )


def test_a_corrupt_cached_file_is_ignored_and_left_alone(
    cache_dir: Path, stand_in: EncodingSpec
) -> None:
    cache_dir.mkdir(parents=True)
    corrupt = stand_in_ranks()[:-40]
    path = cache_dir / stand_in.cache_filename
    path.write_bytes(corrupt)
    assert TokenEstimator(cache_dir, allow_download=False).count("hello", "gpt-4o").method == (
        HEURISTIC
    )
    assert path.read_bytes() == corrupt


def test_a_file_copied_in_later_is_picked_up_by_prefetch(
    cache_dir: Path, stand_in: EncodingSpec
) -> None:
    estimator = TokenEstimator(cache_dir, allow_download=False)
    assert estimator.count("hello", "gpt-4o").method == HEURISTIC
    cache_dir.mkdir(parents=True)
    (cache_dir / stand_in.cache_filename).write_bytes(stand_in_ranks())
    assert estimator.prefetch("gpt-4o") is True
    assert estimator.count("hello", "gpt-4o") == TokenCount(1, TIKTOKEN)


# --------------------------------------------------------------------------- downloads (loopback)


def test_download_runs_in_the_background_and_is_verified(
    cache_dir: Path,
    stand_in: EncodingSpec,
    serve: Callable[[bytes], str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec = with_url(monkeypatch, stand_in, serve(stand_in_ranks()))
    estimator = TokenEstimator(cache_dir, allow_download=True)

    first = estimator.count("hello", "gpt-4o")  # never waits for the network
    join_downloads()
    assert first.method in (HEURISTIC, TIKTOKEN)
    assert estimator.count("hello hello", "gpt-4o") == TokenCount(3, TIKTOKEN)
    stored = cache_dir / spec.cache_filename
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == spec.sha256
    assert sorted(path.name for path in cache_dir.iterdir()) == [spec.cache_filename]  # no .tmp


def test_prefetch_downloads_now(
    cache_dir: Path,
    stand_in: EncodingSpec,
    serve: Callable[[bytes], str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with_url(monkeypatch, stand_in, serve(stand_in_ranks()))
    estimator = TokenEstimator(cache_dir, allow_download=True)
    assert estimator.prefetch("gpt-4o", timeout_s=10) is True
    assert estimator.count("hello", "gpt-4o") == TokenCount(1, TIKTOKEN)


def test_a_download_with_the_wrong_bytes_is_rejected(
    cache_dir: Path,
    stand_in: EncodingSpec,
    serve: Callable[[bytes], str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with_url(monkeypatch, stand_in, serve(b"not a vocabulary\n"))
    estimator = TokenEstimator(cache_dir, allow_download=True)
    assert estimator.prefetch("gpt-4o", timeout_s=10) is False
    assert estimator.count("hello", "gpt-4o").method == HEURISTIC
    assert not cache_dir.exists() or list(cache_dir.iterdir()) == []


def test_an_unreachable_server_fails_fast_and_is_not_retried_at_once(
    cache_dir: Path, stand_in: EncodingSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as sock:  # a loopback port with nothing listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with_url(monkeypatch, stand_in, f"http://127.0.0.1:{port}/stand_in.tiktoken")
    estimator = TokenEstimator(cache_dir, allow_download=True)

    started = time.monotonic()
    assert estimator.prefetch("gpt-4o", timeout_s=10) is False
    assert time.monotonic() - started < 5
    (attempt,) = token_estimator._DOWNLOADS.values()

    # The failure is remembered: counting again does not start another download.
    estimator._missing_until.clear()
    assert estimator.count("hello", "gpt-4o").method == HEURISTIC
    assert list(token_estimator._DOWNLOADS.values()) == [attempt]
    assert not attempt.is_alive()


# --------------------------------------------------------------------------- threads


def count_concurrently(
    estimator: TokenEstimator, texts: list[str], model: str, threads: int = 16
) -> list[list[TokenCount]]:
    barrier = threading.Barrier(threads)
    results: list[list[TokenCount]] = [[] for _ in range(threads)]

    def work(slot: int) -> None:
        barrier.wait()
        for _ in range(20):
            for text in texts:
                results[slot].append(estimator.count(text, model))

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    return results


def test_many_threads_counting_offline_agree(cache_dir: Path) -> None:
    estimator = TokenEstimator(cache_dir, allow_download=False)
    texts = [ENGLISH, PYTHON, CHINESE, JAPANESE, "", "hello"]
    expected = [estimator.count(text, "gpt-4o") for text in texts] * 20
    for result in count_concurrently(estimator, texts, "gpt-4o"):
        assert result == expected


def test_many_threads_racing_to_load_the_encoding_agree(
    cache_dir: Path, stand_in: EncodingSpec
) -> None:
    cache_dir.mkdir(parents=True)
    (cache_dir / stand_in.cache_filename).write_bytes(stand_in_ranks())
    estimator = TokenEstimator(cache_dir, allow_download=False)  # nothing loaded yet
    texts = ["hello hello", "hello", ENGLISH]
    results = count_concurrently(estimator, texts, "gpt-4o")
    expected = [TokenCount(3, TIKTOKEN), TokenCount(1, TIKTOKEN)]
    for result in results:
        assert result[:2] == expected
        assert all(count.method == TIKTOKEN for count in result)
        assert len(set(result)) == len(texts)
    assert len(token_estimator._ENCODINGS) == 1  # parsed once
