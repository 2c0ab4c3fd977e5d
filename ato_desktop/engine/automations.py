"""Automation definitions (groups, schedules, hooks, skill flows): validation against the log,
versions on every change, skill files re-read on change. What runs them is
`engine.automation_engine.AutomationEngine`.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ato_desktop.core import cron
from ato_desktop.core.automations import (
    AutomationKind,
    DefinitionError,
    GroupSpec,
    HookEdge,
    HookSpec,
    ScheduleSpec,
    SkillSpec,
    Spec,
    TargetKind,
    find_cycle,
)
from ato_desktop.core.skill_flow import SkillParseError, parse_skill
from ato_desktop.core.terminal_text import name_problem
from ato_desktop.store import automations as automation_store
from ato_desktop.store.automations import AutomationRecord, AutomationVersionRecord
from ato_desktop.store.execution_log import ExecutionLog, NotFoundError, now_ms

MAX_SKILL_FILE_BYTES = 1_000_000
FILE_SOURCE = "file"


@dataclass(frozen=True, slots=True)
class DefinitionRow:
    """A definition as lists show it: kind, versions, enabled, next fire (schedules)."""

    record: AutomationRecord
    next_fire_at: int | None = None
    last_note: str = ""
    summary: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.record.as_dict(),
            "next_fire_at": self.next_fire_at,
            "last_note": self.last_note,
            "summary": self.summary,
        }


def read_skill_file(path: str) -> str:
    """The text of a skill file; SkillParseError says why it cannot be used."""
    target = Path(path).expanduser()
    try:
        size = target.stat().st_size
        if size > MAX_SKILL_FILE_BYTES:
            raise SkillParseError(f"the skill file {target} is {size:,} bytes; at most 1 MB")
        raw = target.read_bytes()
    except FileNotFoundError as exc:
        raise SkillParseError(f"the skill file {target} does not exist") from exc
    except IsADirectoryError as exc:
        raise SkillParseError(f"the skill file {target} is a folder") from exc
    except OSError as exc:
        raise SkillParseError(f"cannot read the skill file {target}: {exc.strerror}") from exc
    if b"\x00" in raw:
        raise SkillParseError(f"the skill file {target} is binary, not Markdown")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SkillParseError(f"the skill file {target} is not UTF-8 text") from exc


def summarize(spec: Spec) -> str:
    """One line for lists: what the definition does."""
    if isinstance(spec, GroupSpec):
        if spec.stages:
            return " → ".join(f"{s.name}@{s.agent}" for s in spec.stages)
        router = (
            f"router {spec.router_agent}" if spec.router_agent else f"{len(spec.rules)} rule(s)"
        )
        return f"routes to {', '.join(spec.members)} by {router}"
    if isinstance(spec, ScheduleSpec):
        return f"{spec.cron} ({spec.timezone}) → {spec.target_kind.value} {spec.target}"
    if isinstance(spec, HookSpec):
        return (
            f"on {spec.source_agent} {spec.event.value.replace('_', ' ')} → "
            f"{spec.target_kind.value} {spec.target}"
        )
    return f"{len(spec.steps)} step(s) from {spec.path}"


class AutomationService:
    """Definition operations shared by the CLI and the UI (synchronous: call from a thread or
    the CLI; the UI wraps them in asyncio.to_thread)."""

    def __init__(self, store: ExecutionLog) -> None:
        self._store = store

    # -- reads ------------------------------------------------------------------------------------

    def get(self, kind: AutomationKind, name: str) -> AutomationRecord:
        return automation_store.get_definition(self._store, kind, name)

    def rows(
        self, kind: AutomationKind | None = None, *, now: int | None = None
    ) -> list[DefinitionRow]:
        """Definitions with their next fire time (enabled schedules) and last note."""
        now = now if now is not None else now_ms()
        rows: list[DefinitionRow] = []
        for record in automation_store.list_definitions(self._store, kind):
            next_fire, note = None, ""
            if isinstance(record.spec, ScheduleSpec):
                state = automation_store.get_schedule_state(self._store, record.id)
                note = state.last_note if state else ""
                if record.enabled:
                    with contextlib.suppress(cron.CronError, ValueError):
                        next_fire = cron.next_fire(record.spec.cron, record.spec.timezone, now)
            rows.append(DefinitionRow(record, next_fire, note, summarize(record.spec)))
        return rows

    def history(self, kind: AutomationKind, name: str) -> list[AutomationVersionRecord]:
        return automation_store.definition_history(self._store, self.get(kind, name).id)

    # -- writes -----------------------------------------------------------------------------------

    def save(
        self, kind: AutomationKind, name: str, spec: Spec, *, source: str = "cli"
    ) -> tuple[AutomationRecord, bool]:
        """Create the definition, or record spec as its new version; (record, changed)."""
        problem = name_problem(name, kind.value)
        if problem is not None:
            raise DefinitionError(problem)
        spec = self.validate(kind, spec, name=name)
        try:
            record = self.get(kind, name)
        except NotFoundError:
            created = automation_store.create_definition(
                self._store, kind, name, spec, source=source
            ).result()
            return created, True
        return automation_store.update_definition(
            self._store, record.id, spec, source=source
        ).result()

    def add(
        self, kind: AutomationKind, name: str, spec: Spec, *, source: str = "cli"
    ) -> AutomationRecord:
        """Create a new definition; DefinitionError when the name is taken."""
        with contextlib.suppress(NotFoundError):
            self.get(kind, name)
            raise DefinitionError(
                f"a {kind.value} named {name!r} already exists; remove it first or pick a name"
            )
        record, _ = self.save(kind, name, spec, source=source)
        return record

    def set_enabled(self, kind: AutomationKind, name: str, enabled: bool) -> bool:
        record = self.get(kind, name)
        if enabled:
            self.validate(kind, record.spec, name=record.name)
        changed = automation_store.set_enabled(self._store, record.id, enabled).result()
        if changed and enabled and kind is AutomationKind.SCHEDULE:
            # Fires while it was disabled are not "missed": it starts afresh from now.
            automation_store.set_schedule_state(
                self._store, record.id, now_ms(), note="enabled", keep_run=True
            ).result()
        return changed

    def remove(self, kind: AutomationKind, name: str) -> bool:
        record = self.get(kind, name)
        return automation_store.delete_definition(self._store, record.id).result()

    def add_skill(
        self, name: str, path: str, agent: str, *, source: str = "cli"
    ) -> AutomationRecord:
        resolved = str(Path(path).expanduser().resolve())
        spec = parse_skill(read_skill_file(resolved), path=resolved, agent=agent)
        return self.add(AutomationKind.SKILL, name, spec, source=source)

    def sync_skill(self, name_or_id: str) -> AutomationRecord | None:
        """Re-read a skill flow's file: when its text changed, parse it and record a new
        version (change source "file"); None when unchanged. SkillParseError when the file
        cannot be read or parsed (the recorded version stays)."""
        record = self.get(AutomationKind.SKILL, name_or_id)
        spec = record.spec
        assert isinstance(spec, SkillSpec)
        text = read_skill_file(spec.path)
        parsed = parse_skill(text, path=spec.path, agent=spec.agent)
        if parsed.content_hash == spec.content_hash:
            return None
        self.validate(AutomationKind.SKILL, parsed, name=record.name)
        updated, changed = automation_store.update_definition(
            self._store, record.id, parsed, source=FILE_SOURCE
        ).result()
        return updated if changed else None

    def sync_skills(self) -> list[tuple[str, str | None]]:
        """Every skill flow: (name, error or None) for those that changed or cannot be read."""
        results: list[tuple[str, str | None]] = []
        for record in automation_store.list_definitions(self._store, AutomationKind.SKILL):
            try:
                if self.sync_skill(record.id) is not None:
                    results.append((record.name, None))
            except (DefinitionError, NotFoundError) as exc:
                results.append((record.name, str(exc)))
        return results

    # -- validation -------------------------------------------------------------------------------

    def validate(self, kind: AutomationKind, spec: Spec, *, name: str = "") -> Spec:
        """The spec with names checked against the log; DefinitionError / NotFoundError say
        what is wrong."""
        if isinstance(spec, GroupSpec):
            spec.validate()
            self._agents(spec.agents())
            return spec
        if isinstance(spec, ScheduleSpec):
            clean = cron.validate(spec.cron, spec.timezone)
            if not spec.prompt.strip():
                raise DefinitionError("a schedule needs a prompt")
            self._target(spec.target_kind, spec.target)
            return replace(spec, cron=clean)
        if isinstance(spec, HookSpec):
            spec.validate()
            self._agents([spec.source_agent])
            targets = self._target(spec.target_kind, spec.target)
            edges = [
                self._hook_edge(r.name, r.spec)
                for r in automation_store.list_definitions(self._store, AutomationKind.HOOK)
                if isinstance(r.spec, HookSpec) and r.name.lower() != name.lower()
            ]
            edges.append(HookEdge(name, spec.source_agent, tuple(targets)))
            cycle = find_cycle(edges)
            if cycle:
                raise DefinitionError(
                    "hooks would loop: " + " → ".join(cycle) + "; a hook chain must end"
                )
            return spec
        assert isinstance(spec, SkillSpec)
        if not spec.steps:
            raise SkillParseError(f"{spec.path}: no steps")
        self._agents([s.agent for s in spec.steps])
        return spec

    def _agents(self, names: list[str]) -> None:
        for name in dict.fromkeys(names):
            self._store.get_agent(name)  # NotFoundError: "No agent named 'x'. Known: ..."

    def _target(self, kind: TargetKind, target: str) -> list[str]:
        """The agents the target dispatches to (checking that it exists)."""
        if kind is TargetKind.AGENT:
            return [self._store.get_agent(target).name]
        definition_kind = AutomationKind.GROUP if kind is TargetKind.GROUP else AutomationKind.SKILL
        record = self.get(definition_kind, target)
        if isinstance(record.spec, GroupSpec):
            return record.spec.agents()
        assert isinstance(record.spec, SkillSpec)
        return [s.agent for s in record.spec.steps]

    def _hook_edge(self, name: str, spec: HookSpec) -> HookEdge:
        try:
            targets = self._target(spec.target_kind, spec.target)
        except (NotFoundError, DefinitionError):
            targets = []
        return HookEdge(name, spec.source_agent, tuple(targets))
