"""The figures a dispatch records, checked end to end (official SDKs -> loopback fakes -> a real
log): waits and rate limits (15.3), calls that never reached the model (15.14), 1-hour cache
writes (16.1), cut and killed Claude streams (16.2), the base URL really called (16.10)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import pytest

from ato_desktop.core.models import (
    AgentConfig,
    ChatMessage,
    CostSource,
    ErrorClass,
    RunStatus,
    TokenUsage,
    ToolSpec,
    Trigger,
)
from ato_desktop.engine.dispatcher import DispatchRequest, DispatchResult
from ato_desktop.engine.settings_file import SettingsFileError, max_retry_wait_s
from ato_desktop.engine.workspace import Workspace
from tests.fakes import FakeLLMServer, Scenario, UsageSpec
from tests.support.builders import base_url, dispatch

MODELS = {"claude": "claude-haiku-4-5", "codex": "gpt-5", "openai-compatible": "gpt-4o-mini"}


def _agent(ws: Workspace, fake: FakeLLMServer, runtime: str, **config: object) -> str:
    name = f"agent-{runtime}"
    values: dict[str, object] = {"base_url": base_url(fake, runtime), **config}
    ws.agents.create(name, AgentConfig(runtime, MODELS[runtime], **values))  # type: ignore[arg-type]
    return name


def _kill_when(
    ws: Workspace, request: DispatchRequest, ready: Callable[[list[str]], bool]
) -> DispatchResult:
    """Dispatch, and kill the run as soon as ``ready(chunks so far)`` (polled every 20 ms)."""

    async def go() -> DispatchResult:
        chunks: list[str] = []
        task = asyncio.get_running_loop().create_task(
            ws.dispatcher.dispatch(request, on_text=chunks.append)
        )
        for _ in range(1000):
            if ws.live.run_ids and ready(chunks):
                break
            await asyncio.sleep(0.02)
        (run_id,) = ws.live.run_ids
        ws.live.kill([run_id])
        result = await task
        await ws.live.aclose()
        return result

    return asyncio.run(go())


# ----------------------------------------------------------------------- 15.3 rate limits


@pytest.mark.parametrize("trigger", [Trigger.CRON, Trigger.PIPELINE, Trigger.CLI])
def test_a_long_retry_after_fails_any_dispatch_as_rate_limit_with_the_wait(
    workspace: Workspace, fake: FakeLLMServer, trigger: Trigger
) -> None:
    fake.scenario = Scenario(status=429, retry_after="3600")
    name = _agent(workspace, fake, "claude")

    result = dispatch(workspace, DispatchRequest("go", agent=name, trigger=trigger))

    assert result.status is RunStatus.FAILED
    assert result.error_class is ErrorClass.RATE_LIMIT
    assert result.error_message is not None
    assert "asked to retry in 1 h" in result.error_message
    assert len(fake.requests) == 1
    run = workspace.store.get_run(result.run_id)
    assert (run.status, run.error_class, run.error_message) == (
        "failed",
        "rate_limit",
        result.error_message,
    )


def test_settings_json_sets_the_longest_retry_wait(
    workspace: Workspace, fake: FakeLLMServer
) -> None:
    workspace.paths.settings_file.write_text(
        json.dumps({"dispatch": {"max_retry_wait_s": 2}}), encoding="utf-8"
    )
    fake.scenario = Scenario(status=429, retry_after="10")
    name = _agent(workspace, fake, "codex")

    result = dispatch(workspace, DispatchRequest("go", agent=name))

    assert result.error_class is ErrorClass.RATE_LIMIT
    assert result.error_message is not None
    assert "asked to retry in 10 s, longer than ATO waits (2 s" in result.error_message
    assert len(fake.requests) == 1


def test_a_bad_retry_wait_setting_is_reported_and_the_default_used(
    workspace: Workspace, fake: FakeLLMServer, caplog: pytest.LogCaptureFixture
) -> None:
    workspace.paths.settings_file.write_text(
        json.dumps({"dispatch": {"max_retry_wait_s": "soon"}}), encoding="utf-8"
    )
    with pytest.raises(SettingsFileError, match=r"dispatch\.max_retry_wait_s must be a number"):
        max_retry_wait_s(workspace.paths)
    fake.scenario = Scenario(status=429, retry_after="3600")

    result = dispatch(workspace, DispatchRequest("go", agent=_agent(workspace, fake, "claude")))

    assert result.error_message is not None
    assert "longer than ATO waits (60 s" in result.error_message
    assert "max_retry_wait_s must be a number" in caplog.text


# ------------------------------------------------------------ 15.14 never reached the model


@pytest.mark.parametrize("runtime", list(MODELS))
def test_a_call_refused_before_any_token_records_no_cost(
    workspace: Workspace, fake: FakeLLMServer, runtime: str
) -> None:
    fake.scenario = Scenario(status=429, retry_after="3600")

    result = dispatch(workspace, DispatchRequest("go", agent=_agent(workspace, fake, runtime)))

    assert result.cost is None and result.usage is None
    run = workspace.store.get_run(result.run_id)
    assert (run.cost_usd, run.cost_source) == (None, None)
    (action,) = workspace.store.get_actions(result.run_id)
    assert (action.cost_usd, action.cost_source, action.usage) == (None, None, None)


def test_a_run_killed_while_waiting_out_a_rate_limit_records_no_cost(
    workspace: Workspace, fake: FakeLLMServer
) -> None:
    fake.scenario = Scenario(status=429, retry_after="30")  # under the 60 s limit: waited out
    name = _agent(workspace, fake, "claude", params={})

    result = _kill_when(
        workspace, DispatchRequest("go", agent=name), lambda _chunks: len(fake.requests) >= 1
    )

    assert result.status is RunStatus.KILLED
    assert result.cost is None
    (action,) = workspace.store.get_actions(result.run_id)
    assert (action.cost_usd, action.cost_source, action.usage) == (None, None, None)


# ------------------------------------------------------------------ 16.1 1-hour cache writes


def test_one_hour_cache_writes_are_recorded_and_priced_at_their_rate(
    workspace: Workspace, fake: FakeLLMServer
) -> None:
    usage = UsageSpec(
        uncached_input_tokens=500,
        cache_read_tokens=0,
        cache_write_tokens=10_000,
        cache_write_1h_tokens=6_000,
        output_tokens=700,
    )
    fake.scenario = Scenario(usage=usage)

    result = dispatch(workspace, DispatchRequest("go", agent=_agent(workspace, fake, "claude")))

    (action,) = workspace.store.get_actions(result.run_id)
    assert action.usage == TokenUsage(10_500, 700, 0, 10_000, 0, cache_write_1h_tokens=6_000)
    expected = workspace.prices.cost("claude", "claude-haiku-4-5", action.usage)
    five_minute = workspace.prices.cost(
        "claude", "claude-haiku-4-5", TokenUsage(10_500, 700, 0, 10_000)
    )
    assert action.cost_usd == pytest.approx(expected.usd)
    assert five_minute.usd is not None and action.cost_usd > five_minute.usd
    assert action.cost_source == CostSource.ESTIMATED


# ------------------------------------------------------------- 16.2 cut and killed streams


def test_a_claude_stream_cut_before_message_delta_estimates_the_output(
    workspace: Workspace, fake: FakeLLMServer
) -> None:
    chunks = tuple(f"word{n} " for n in range(60))
    usage = UsageSpec(uncached_input_tokens=40, cache_read_tokens=0, cache_write_tokens=0)
    fake.scenario = Scenario(chunks=chunks, usage=usage, cut_after=50)

    result = dispatch(workspace, DispatchRequest("go", agent=_agent(workspace, fake, "claude")))

    assert result.error_class is ErrorClass.STREAM_INTERRUPTED
    (action,) = workspace.store.get_actions(result.run_id)
    assert action.tokens_estimated
    assert action.usage is not None
    assert action.usage.input_tokens == 40  # message_start's count, exact
    text = "".join(chunks[:50])
    counted = workspace.estimator.count(text, "claude-haiku-4-5").n
    assert action.usage.output_tokens == counted > 1  # not message_start's placeholder of 1
    run = workspace.store.get_run(result.run_id)
    assert run.tokens_estimated and run.cost_source == "estimated"


def test_a_killed_claude_run_keeps_the_input_count_the_provider_gave(
    workspace: Workspace, fake: FakeLLMServer
) -> None:
    usage = UsageSpec(uncached_input_tokens=4_321, cache_read_tokens=1_000, cache_write_tokens=0)
    fake.scenario = Scenario(chunks=("one ", "two ", "three"), usage=usage, stall_after=2)
    name = _agent(workspace, fake, "claude", system_prompt="Be brief.")

    result = _kill_when(workspace, DispatchRequest("go", agent=name), lambda c: len(c) >= 2)

    assert result.status is RunStatus.KILLED
    (action,) = workspace.store.get_actions(result.run_id)
    assert action.tokens_estimated and action.usage is not None
    assert action.usage.input_tokens == 5_321  # as counted at message_start, not re-estimated
    assert action.usage.cache_read_tokens == 1_000
    assert action.usage.output_tokens == workspace.estimator.count("one two ", "x").n


def test_an_estimated_input_counts_the_tool_schemas_sent(
    workspace: Workspace, fake: FakeLLMServer
) -> None:
    """A killed call with no usage at all (codex sends it only at the end) is estimated from
    what was sent, and the tool schemas are part of what the provider counts."""
    fake.scenario = Scenario(chunks=("one ", "two ", "three"), stall_after=2)
    name = _agent(workspace, fake, "codex")
    schema = {
        "type": "object",
        "properties": {
            f"field_{n}": {"type": "string", "description": "x" * 40} for n in range(30)
        },
    }
    tools = (ToolSpec("lookup_customer_record", "Looks a customer record up.", schema),)

    inputs = []
    for offered in ((), tools):
        request = DispatchRequest(
            "go", agent=name, tools=offered, messages=(ChatMessage("user", "go"),)
        )
        result = _kill_when(workspace, request, lambda c: len(c) >= 2)
        (action,) = workspace.store.get_actions(result.run_id)
        assert action.tokens_estimated and action.usage is not None
        inputs.append(action.usage.input_tokens)

    schema_tokens = workspace.estimator.count(json.dumps(schema), "gpt-5").n
    assert inputs[1] - inputs[0] >= schema_tokens


# -------------------------------------------------------------- 16.10 the server really called


@pytest.mark.parametrize("runtime", ["claude", "codex"])
def test_a_base_url_from_the_environment_is_recorded_and_named_in_errors(
    workspace: Workspace, fake: FakeLLMServer, monkeypatch: pytest.MonkeyPatch, runtime: str
) -> None:
    env_var = "ANTHROPIC_BASE_URL" if runtime == "claude" else "OPENAI_BASE_URL"
    monkeypatch.setenv(env_var, base_url(fake, runtime))
    workspace.agents.create("proxied", AgentConfig(runtime, MODELS[runtime]))  # no base_url

    ok = dispatch(workspace, DispatchRequest("go", agent="proxied"))
    fake.scenario = Scenario(status=429, retry_after="3600")
    failed = dispatch(workspace, DispatchRequest("go", agent="proxied"))

    for result in (ok, failed):
        (action,) = workspace.store.get_actions(result.run_id)
        assert action.meta is not None
        assert action.meta["base_url"] == base_url(fake, runtime)
    assert failed.error_message is not None
    assert failed.error_message.startswith(f"Rate limit hit at the server at {fake.url}")
    assert "Anthropic" not in failed.error_message and "OpenAI" not in failed.error_message
    fake.scenario = Scenario(status=401)
    rejected = dispatch(workspace, DispatchRequest("go", agent="proxied"))
    assert rejected.error_message is not None
    assert rejected.error_message.startswith(f"The server at {fake.url}")
    assert "rejected the API key (401)" in rejected.error_message


# ------------------------------------------------------------------ 16.4 models served locally


def test_a_model_on_a_local_openai_compatible_server_is_local(
    workspace: Workspace, fake: FakeLLMServer
) -> None:
    workspace.agents.create(
        "ollama", AgentConfig("openai-compatible", "llama3.1:8b", base_url=fake.openai_base_url)
    )

    result = dispatch(workspace, DispatchRequest("hi", agent="ollama"))

    assert result.cost is not None and (result.cost.usd, result.cost.source) == (0.0, "local")
    run = workspace.store.get_run(result.run_id)
    assert (run.cost_usd, run.cost_source) == (0.0, "local")
    assert (
        workspace.prices.cost("openai-compatible", "llama3.1:8b", TokenUsage(1000, 1000)).source
        is CostSource.ESTIMATED
    )  # what it was priced at before: a reseller's rate
