"""A spend spike is announced once per agent and hour, whoever shows it (issue 19.2: the rule
moved out of the window's SpendWatch into core)."""

from __future__ import annotations

from ato_desktop.core.budgets import HOUR_MS, SpikeAnnouncements, burn_anomaly

T0 = 1_790_000_000_000 - 1_790_000_000_000 % HOUR_MS


def test_each_agent_hour_is_announced_once() -> None:
    anomaly = burn_anomaly(3.0, 0.3 * 168)
    assert anomaly is not None
    spikes = SpikeAnnouncements()
    first = spikes.new("agent-1", [("burner", T0 + 1000, anomaly)])
    assert [(s.agent_name, s.text) for s in first] == [("burner", f"@burner {anomaly.describe()}")]
    # Two more runs ending in the same hour find the same spike: nothing new.
    assert spikes.new("agent-1", [("burner", T0 + 5000, anomaly)]) == []
    assert spikes.new("agent-1", [("burner", T0 + HOUR_MS - 1, anomaly)]) == []
    # The next hour, or another agent, is news again; a nameless agent goes by its id's tail.
    assert len(spikes.new("agent-1", [("burner", T0 + HOUR_MS, anomaly)])) == 1
    [other] = spikes.new("0123456789abcdef", [(None, T0, anomaly)])
    assert other.agent_name == "89abcdef" and other.text.startswith("@89abcdef spent $3.00")
