"""Token counts for text the provider did not count for us (killed runs, cut streams, no usage).

Two methods, reported with every count:

- ``tiktoken``: OpenAI's BPE encodings, exact for OpenAI models (o200k_base for gpt-4o, gpt-4.1,
  gpt-5, o-series, codex and gpt-oss; cl100k_base for gpt-4 and gpt-3.5). For Claude and every
  other model o200k_base is only an approximation: those models use tokenizers of their own, and
  Anthropic's count the same text differently (often higher).
- ``heuristic``: when the encoding file is not on disk and may not be downloaded (ATO_OFFLINE=1,
  always in tests) or the download fails. It counts words, letters, CJK characters, digit groups,
  punctuation and line breaks with ratios fitted to tiktoken's counts; docs/pricing.md gives the
  expected error per kind of text.

Encoding files are read from ``cache_dir`` in tiktoken's own cache layout (file name = sha1 of the
download URL), verified against tiktoken's published SHA-256 and parsed here: tiktoken's loader
would read TIKTOKEN_CACHE_DIR from the process environment, and we never mutate that global, and
would download with no timeout. Downloads, when allowed, run on a background thread with short
timeouts; counts meanwhile use the heuristic, so no caller ever waits on the network. Loaded
encodings are shared by every estimator in the process. Everything here is thread-safe, and
count() never raises.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import math
import os
import re
import threading
import time
import urllib.request
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ato_desktop.core.heavy_imports import import_heavy
from ato_desktop.core.models import TokenUsage

if TYPE_CHECKING:
    import tiktoken

log = logging.getLogger(__name__)

Method = Literal["tiktoken", "heuristic"]
TIKTOKEN: Method = "tiktoken"
HEURISTIC: Method = "heuristic"

# Chat framing around each message (role markers, separators) and the tokens that prime the reply,
# as OpenAI documents for its chat models; other providers frame messages similarly.
MESSAGE_OVERHEAD_TOKENS = 3
REPLY_PRIMING_TOKENS = 3

DOWNLOAD_TIMEOUT_S = 5.0  # per socket operation: fails fast when there is no network
DOWNLOAD_DEADLINE_S = 60.0  # the whole file (3.6 MB for o200k_base)
DOWNLOAD_RETRY_AFTER_S = 600.0  # after a failure, do not hammer the network on every count
_MAX_ENCODING_BYTES = 32 * 1024 * 1024
_LOAD_WAIT_S = 2.0  # how long count() waits for another thread loading the same file


@dataclass(frozen=True, slots=True)
class TokenCount:
    """A token count and how it was obtained ("tiktoken" or "heuristic")."""

    n: int
    method: Method


@dataclass(frozen=True, slots=True)
class EncodingSpec:
    """Where an encoding's ranks file lives, its SHA-256, and how to build the Encoding."""

    name: str
    url: str
    sha256: str
    pat_str: str
    special_tokens: dict[str, int]

    @property
    def cache_filename(self) -> str:
        """tiktoken's cache file name, so an existing TIKTOKEN_CACHE_DIR can be copied in."""
        return hashlib.sha1(self.url.encode()).hexdigest()


# Copied from tiktoken 0.14 (tiktoken_ext/openai_public.py); tests/engine/test_token_estimator.py
# checks they still match the installed tiktoken.
_O200K_PATTERN = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
ENCODING_SPECS: dict[str, EncodingSpec] = {
    "o200k_base": EncodingSpec(
        name="o200k_base",
        url="https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
        sha256="446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
        pat_str=_O200K_PATTERN,
        special_tokens={"<|endoftext|>": 199999, "<|endofprompt|>": 200018},
    ),
    "cl100k_base": EncodingSpec(
        name="cl100k_base",
        url="https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
        sha256="223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
        pat_str=(
            r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+"""
            r"""| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
        ),
        special_tokens={
            "<|endoftext|>": 100257,
            "<|fim_prefix|>": 100258,
            "<|fim_middle|>": 100259,
            "<|fim_suffix|>": 100260,
            "<|endofprompt|>": 100276,
        },
    ),
}

# gpt-4.1 and gpt-4.5 must win over the older gpt-4 prefix, so o200k is tried first.
_O200K_MODELS = re.compile(
    r"^(?:ft:)?(?:gpt-4o|gpt-4\.[1-9]|gpt-[5-9]|chatgpt-|o\d|codex|gpt-oss|computer-use)"
)
_CL100K_MODELS = re.compile(
    r"^(?:ft:)?(?:gpt-4|gpt-3\.5|gpt-35|text-embedding-|davinci-002|babbage-002)"
)


def encoding_for_model(model: str) -> str:
    """The tiktoken encoding used to count for ``model`` (an approximation for non-OpenAI ones)."""
    name = model.strip().lower().rsplit("/", 1)[-1]  # "openai/gpt-oss-20b" served by vLLM
    if _O200K_MODELS.match(name):
        return "o200k_base"
    if _CL100K_MODELS.match(name):
        return "cl100k_base"
    return "o200k_base"  # Claude, Llama, Qwen...: the closest modern multilingual vocabulary


# --------------------------------------------------------------------------- the heuristic

_LATIN = "A-Za-z\u00c0-\u024f\u1e00-\u1eff"
_CJK = (
    "\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f"
    "\U00020000-\U0002ffff"
)
_CJK_PUNCT = "\u3000-\u303f\uff00-\uff65"  # 、。「」 and fullwidth forms: about a token each
_HANGUL = "\uac00-\ud7af\u1100-\u11ff\u3130-\u318f"
_CYRILLIC_GREEK = "\u0370-\u03ff\u0400-\u052f"
_ASCII_PUNCT = "!-/:-@\\[-`{-~"
_RUNS = re.compile(
    rf"(?P<latin>[{_LATIN}]+)"
    rf"|(?P<cjk>[{_CJK}]+)"
    rf"|(?P<cjk_punct>[{_CJK_PUNCT}]+)"
    rf"|(?P<hangul>[{_HANGUL}]+)"
    rf"|(?P<cyrillic>[{_CYRILLIC_GREEK}]+)"
    r"|(?P<digits>[0-9]+)"
    r"|(?P<line>\s*\n[^\S\n]*)"
    r"|(?P<spaces>[^\S\n]+)"
    rf"|(?P<punct>[{_ASCII_PUNCT}]+)"
    # Everything else that is not whitespace: Arabic, Hebrew, Indic, Thai, emoji, symbols...
    rf"|(?P<other>[^\s{_LATIN}{_CJK}{_CJK_PUNCT}{_HANGUL}{_CYRILLIC_GREEK}0-9{_ASCII_PUNCT}]+)"
)
_ACCENTED = re.compile("[\u00c0-\u024f\u1e00-\u1eff]")
_LONG_WORD = 8  # letters; common words up to this length are one token in both vocabularies


@dataclass(frozen=True, slots=True)
class HeuristicRatios:
    """Tokens per feature of the text, for one vocabulary.

    Whitespace follows tiktoken's pre-tokenizer (a line break is a token, indentation after it
    another, a single space joins the next word). The rest was fitted by least squares to
    tiktoken's own counts on English prose (licences, Python's reference docs, READMEs), Markdown,
    Python, JavaScript, JSON and text in 15 other languages; docs/pricing.md gives the errors.
    """

    word: float  # a run of Latin letters
    long_word_letter: float  # each letter past _LONG_WORD: rare words split into pieces
    accented_letter: float  # letters with diacritics fall outside the common merges
    cjk_char: float
    cjk_punct: float
    hangul_word: float
    hangul_char: float
    cyrillic_greek_word: float
    digit_group: float  # numbers are split into groups of up to three digits
    punct_run: float
    punct_char: float
    other_char: float  # Arabic, Hebrew, Indic, Thai, emoji...


O200K_RATIOS = HeuristicRatios(
    word=1.03,
    long_word_letter=0.27,
    accented_letter=0.96,
    cjk_char=0.76,
    cjk_punct=0.88,
    hangul_word=1.95,
    hangul_char=0.0,
    cyrillic_greek_word=2.0,
    digit_group=1.7,
    punct_run=0.55,
    punct_char=0.1,
    other_char=0.42,
)
# The older vocabulary splits non-Latin scripts much more finely.
CL100K_RATIOS = HeuristicRatios(
    word=1.05,
    long_word_letter=0.26,
    accented_letter=1.96,
    cjk_char=1.08,
    cjk_punct=0.27,
    hangul_word=2.54,
    hangul_char=0.17,
    cyrillic_greek_word=3.19,
    digit_group=2.02,
    punct_run=0.47,
    punct_char=0.1,
    other_char=0.98,
)


def heuristic_count(text: str, encoding: str = "o200k_base") -> int:
    """Estimate the tokens of ``text`` without a vocabulary; 0 only for empty text.

    ``encoding`` picks the ratios: "cl100k_base" for older OpenAI models, else o200k_base's.
    """
    if not text:
        return 0
    ratios = CL100K_RATIOS if encoding == "cl100k_base" else O200K_RATIOS
    total = 0.0
    for match in _RUNS.finditer(text):
        kind = match.lastgroup
        run = match.group()
        if kind == "latin":
            total += ratios.word + ratios.long_word_letter * max(0, len(run) - _LONG_WORD)
        elif kind == "spaces":
            if len(run) > 1:  # alignment; a single space belongs to the next word's token
                total += 1
        elif kind == "punct":
            total += ratios.punct_run + ratios.punct_char * len(run)
        elif kind == "line":
            # The line break, plus one for the indentation that follows it (if any).
            total += 1 if len(run.rsplit("\n", 1)[1]) < 2 else 2
        elif kind == "digits":
            total += ratios.digit_group * math.ceil(len(run) / 3)
        elif kind == "cjk":
            total += ratios.cjk_char * len(run)
        elif kind == "cjk_punct":
            total += ratios.cjk_punct * len(run)
        elif kind == "hangul":
            total += ratios.hangul_word + ratios.hangul_char * len(run)
        elif kind == "cyrillic":
            total += ratios.cyrillic_greek_word
        else:
            total += ratios.other_char * len(run)
    total += ratios.accented_letter * len(_ACCENTED.findall(text))
    return max(1, round(total))


# --------------------------------------------------------------------------- tiktoken loading

# Loaded encodings, shared by every estimator in the process; keyed by (name, sha256) so a test's
# stand-in spec can never be mistaken for the real vocabulary.
_ENCODINGS: dict[tuple[str, str], tiktoken.Encoding] = {}
_LOAD_LOCK = threading.Lock()
_DOWNLOADS: dict[tuple[str, str], threading.Thread] = {}
_DOWNLOAD_FAILED_AT: dict[tuple[str, str], float] = {}


class TokenEstimator:
    """Counts tokens with tiktoken when its encoding is available, else with the heuristic.

    ``cache_dir`` holds the encoding files (DataPaths.tiktoken_cache); it is created only when a
    download succeeds. With ``allow_download`` False nothing ever touches the network.
    """

    def __init__(self, cache_dir: Path, allow_download: bool) -> None:
        self.cache_dir = Path(cache_dir)
        self.allow_download = allow_download
        # Encodings found missing on disk: not looked for again until the given monotonic time,
        # so a run of counts does not stat the cache directory each time.
        self._missing_until: dict[tuple[str, str], float] = {}
        self._missing_lock = threading.Lock()

    def count(self, text: str, model: str) -> TokenCount:
        """Count the tokens of ``text`` as ``model`` would (approximately, for non-OpenAI ones)."""
        name = encoding_for_model(model)
        encoding = self._encoding(name)
        return self._count_with(encoding, name, text)

    def estimate_usage(
        self, prompt_parts: Sequence[str], output_text: str, model: str
    ) -> tuple[TokenUsage, Method]:
        """Usage for a call whose provider did not report one: prompt parts in, text out.

        Each prompt part (system prompt, each message) carries the chat framing overhead; an
        empty prompt counts as 0. Returns the usage and the method used for every part.
        """
        name = encoding_for_model(model)
        encoding = self._encoding(name)  # once, so every part uses the same method
        parts = [part for part in prompt_parts if part]
        input_tokens = sum(self._count_with(encoding, name, part).n for part in parts)
        if parts:
            input_tokens += MESSAGE_OVERHEAD_TOKENS * len(parts) + REPLY_PRIMING_TOKENS
        output = self._count_with(encoding, name, output_text)
        return TokenUsage(input_tokens=input_tokens, output_tokens=output.n), output.method

    def prefetch(self, model: str, timeout_s: float = DOWNLOAD_DEADLINE_S) -> bool:
        """Make the encoding for ``model`` available now, downloading if allowed; True if ready.

        For a CLI command or a settings button; count() itself never waits on the network.
        """
        name = encoding_for_model(model)
        spec = ENCODING_SPECS[name]
        self._forget_missing(spec)  # the user may have just copied the file in
        if self._encoding(name) is not None:
            return True
        if not self.allow_download:
            return False
        thread = self._start_download(spec, force=True)
        if thread is not None:
            thread.join(timeout_s)
        self._forget_missing(spec)
        return self._encoding(name) is not None

    # ---------------------------------------------------------------- internals

    def _forget_missing(self, spec: EncodingSpec) -> None:
        with self._missing_lock:
            self._missing_until.pop((spec.name, spec.sha256), None)

    @staticmethod
    def _count_with(encoding: tiktoken.Encoding | None, name: str, text: str) -> TokenCount:
        if not text:
            return TokenCount(0, TIKTOKEN if encoding is not None else HEURISTIC)
        if encoding is not None:
            try:
                # encode_ordinary: "<|endoftext|>" in a prompt is text, not a special token.
                return TokenCount(len(encoding.encode_ordinary(text)), TIKTOKEN)
            except Exception:  # never let counting break a dispatch
                log.warning("tiktoken failed to encode; using the heuristic", exc_info=True)
        return TokenCount(heuristic_count(text, name), HEURISTIC)

    def _encoding(self, name: str) -> tiktoken.Encoding | None:
        spec = ENCODING_SPECS[name]
        key = (spec.name, spec.sha256)
        loaded = _ENCODINGS.get(key)
        if loaded is not None:
            return loaded
        with self._missing_lock:
            if time.monotonic() < self._missing_until.get(key, 0.0):
                return None
        # Another thread may be parsing the same file (well under a second): wait a little for
        # it rather than count this text differently, but never long.
        if not _LOAD_LOCK.acquire(timeout=_LOAD_WAIT_S):
            return None
        try:
            loaded = _ENCODINGS.get(key)
            if loaded is None:
                loaded = _load_from_cache(spec, self.cache_dir)
        finally:
            _LOAD_LOCK.release()
        if loaded is not None:
            return loaded
        if self.allow_download:
            self._start_download(spec)
        with self._missing_lock:
            # Look again soon when a download may be filling the cache, else after a minute (a
            # user may copy the file in by hand).
            retry = 1.0 if self.allow_download else 60.0
            self._missing_until[key] = time.monotonic() + retry
        return None

    def _start_download(
        self, spec: EncodingSpec, *, force: bool = False
    ) -> threading.Thread | None:
        key = (spec.name, spec.sha256)
        with _LOAD_LOCK:
            running = _DOWNLOADS.get(key)
            if running is not None and running.is_alive():
                return running
            failed_at = _DOWNLOAD_FAILED_AT.get(key)
            if (
                not force
                and failed_at is not None
                and time.monotonic() - failed_at < DOWNLOAD_RETRY_AFTER_S
            ):
                return None
            thread = threading.Thread(
                target=_download_and_load,
                args=(spec, self.cache_dir),
                name=f"tiktoken-download-{spec.name}",
                daemon=True,  # never keeps the app from quitting
            )
            _DOWNLOADS[key] = thread
            thread.start()
            return thread


def _load_from_cache(spec: EncodingSpec, cache_dir: Path) -> tiktoken.Encoding | None:
    """Parse the cached ranks file if present and intact; caller holds _LOAD_LOCK."""
    path = cache_dir / spec.cache_filename
    try:
        data = path.read_bytes()
    except OSError:
        return None  # absent (the usual case offline) or unreadable
    if hashlib.sha256(data).hexdigest() != spec.sha256:
        # Truncated or tampered: ignore it, and leave it for the user to inspect; a download, if
        # allowed, replaces it with a verified copy.
        log.warning("ignoring %s: its SHA-256 does not match %s", path, spec.name)
        return None
    try:
        encoding = _build_encoding(spec, data)
    except Exception:
        log.warning("could not build the %s encoding from %s", spec.name, path, exc_info=True)
        return None
    _ENCODINGS[(spec.name, spec.sha256)] = encoding
    return encoding


def _build_encoding(spec: EncodingSpec, data: bytes) -> tiktoken.Encoding:
    import_heavy("tiktoken")  # under the import lock; the import below then finds it loaded
    import tiktoken

    # The .tiktoken format: one "base64(token) rank" pair per line (tiktoken.load's format).
    ranks: dict[bytes, int] = {}
    for line in data.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return tiktoken.Encoding(
        name=spec.name,
        pat_str=spec.pat_str,
        mergeable_ranks=ranks,
        special_tokens=dict(spec.special_tokens),
    )


def _download_and_load(spec: EncodingSpec, cache_dir: Path) -> None:
    """Fetch, verify, store atomically and load one encoding; runs on a background thread."""
    key = (spec.name, spec.sha256)
    try:
        data = _download(spec.url)
        if hashlib.sha256(data).hexdigest() != spec.sha256:
            raise ValueError(f"downloaded {spec.name} does not match its SHA-256")
        cache_dir.mkdir(parents=True, exist_ok=True)
        final = cache_dir / spec.cache_filename
        partial = cache_dir / f"{spec.cache_filename}.{uuid.uuid4().hex}.tmp"
        try:
            partial.write_bytes(data)
            os.replace(partial, final)  # readers see the whole file or none of it
        finally:
            partial.unlink(missing_ok=True)
        encoding = _build_encoding(spec, data)
    except Exception as exc:
        log.info("tiktoken %s unavailable (%s); token counts use the heuristic", spec.name, exc)
        with _LOAD_LOCK:
            _DOWNLOAD_FAILED_AT[key] = time.monotonic()
        return
    with _LOAD_LOCK:
        _ENCODINGS[key] = encoding
        _DOWNLOAD_FAILED_AT.pop(key, None)


def _download(url: str) -> bytes:
    deadline = time.monotonic() + DOWNLOAD_DEADLINE_S
    chunks: list[bytes] = []
    size = 0
    with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
        while True:
            if time.monotonic() > deadline:
                raise TimeoutError(f"download took longer than {DOWNLOAD_DEADLINE_S:.0f} s")
            chunk = response.read(256 * 1024)
            if not chunk:
                break
            size += len(chunk)
            if size > _MAX_ENCODING_BYTES:
                raise ValueError("encoding file is larger than expected")
            chunks.append(chunk)
    return b"".join(chunks)
