"""The execution log's schema as an ordered list of migrations, recorded in the database.

Conventions: timestamps are epoch milliseconds (INTEGER), durations nanoseconds; ids of runs,
agents, versions and threads are UUIDv7 hex (time-sortable). Runs carry an integer key (`run_no`)
that actions reference: with 10M actions a 32-character text key in every action row and index
would cost more than half a gigabyte.
"""

from __future__ import annotations

from dataclasses import dataclass

# The cost bands of run_volume_rollups (migration 18): a run's band is how many of these edges
# are at or below its cost (1-2-5 steps, $0.0001 to $1000), -1 when it has none. Written out once
# here, as the migration's SQL: a shipped migration never changes.
COST_BAND_EDGES: tuple[float, ...] = (
    0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5,
    1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0,
)  # fmt: skip
# A sum of comparisons: no math functions (not every SQLite build has them). {cost} is the
# column; every comparison is NULL without a cost, so the sum is too.
COST_BAND_SQL = (
    "coalesce(" + " + ".join(f"({{cost}} >= {edge!r})" for edge in COST_BAND_EDGES) + ", -1)"
)

# "ATO1" as a big-endian int: tells our files apart from any other SQLite database.
APPLICATION_ID = 0x41544F31


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


# The old row's count taken out of run_volume_rollups (and its row dropped at zero): the body
# shared by migration 18's delete and update triggers.
_VOLUME_TAKE_OLD = f"""            UPDATE run_volume_rollups SET runs = runs - 1,
                cost_usd = cost_usd - coalesce(old.cost_usd, 0.0)
            WHERE hour = old.started_at / 3600000 AND status = old.status
                AND agent_id = coalesce(old.agent_id, '')
                AND version_id = coalesce(old.agent_version_id, '')
                AND is_simulation = old.is_simulation
                AND band = {COST_BAND_SQL.format(cost="old.cost_usd")};
            DELETE FROM run_volume_rollups WHERE hour = old.started_at / 3600000
                AND status = old.status AND agent_id = coalesce(old.agent_id, '')
                AND version_id = coalesce(old.agent_version_id, '')
                AND is_simulation = old.is_simulation
                AND band = {COST_BAND_SQL.format(cost="old.cost_usd")} AND runs <= 0;"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "execution log: agents, versions, threads, messages, runs, actions",
        """
        CREATE TABLE schema_migrations (
            version     INTEGER PRIMARY KEY,
            name        TEXT NOT NULL,
            applied_at  INTEGER NOT NULL,
            app_version TEXT NOT NULL
        );

        CREATE TABLE agents (
            id              TEXT PRIMARY KEY,
            name            TEXT NOT NULL UNIQUE COLLATE NOCASE,
            created_at      INTEGER NOT NULL,
            updated_at      INTEGER NOT NULL,
            current_version INTEGER NOT NULL,
            is_demo         INTEGER NOT NULL DEFAULT 0
        );

        -- Every change of runtime, model, role-models, system prompt or parameters is a version.
        CREATE TABLE agent_versions (
            id            TEXT PRIMARY KEY,
            agent_id      TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
            version       INTEGER NOT NULL,
            created_at    INTEGER NOT NULL,
            runtime       TEXT NOT NULL,
            model         TEXT NOT NULL,
            config_json   TEXT NOT NULL,
            diff_json     TEXT NOT NULL,
            change_source TEXT NOT NULL,
            UNIQUE (agent_id, version)
        );

        CREATE TABLE threads (
            id         TEXT PRIMARY KEY,
            title      TEXT NOT NULL,
            agent_id   TEXT REFERENCES agents(id) ON DELETE SET NULL,
            runtime    TEXT,
            model      TEXT,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            is_demo    INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX idx_threads_updated ON threads (updated_at);

        CREATE TABLE messages (
            id         INTEGER PRIMARY KEY,
            thread_id  TEXT NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
            seq        INTEGER NOT NULL,
            role       TEXT NOT NULL,
            content    TEXT NOT NULL,
            run_id     TEXT,
            created_at INTEGER NOT NULL,
            UNIQUE (thread_id, seq)
        );

        CREATE TABLE runs (
            run_no             INTEGER PRIMARY KEY,
            id                 TEXT NOT NULL UNIQUE,
            agent_id           TEXT REFERENCES agents(id) ON DELETE SET NULL,
            agent_version_id   TEXT REFERENCES agent_versions(id) ON DELETE SET NULL,
            thread_id          TEXT REFERENCES threads(id) ON DELETE SET NULL,
            runtime            TEXT NOT NULL,
            model              TEXT NOT NULL,
            "trigger"          TEXT NOT NULL,
            status             TEXT NOT NULL,
            started_at         INTEGER NOT NULL,
            ended_at           INTEGER,
            duration_ns        INTEGER,
            ttft_ns            INTEGER,
            error_class        TEXT,
            error_message      TEXT,
            parent_run_id      TEXT,
            pipeline_id        TEXT,
            stage_index        INTEGER,
            stage_name         TEXT,
            replay_of          TEXT,
            tags_json          TEXT NOT NULL DEFAULT '{}',
            -- aggregates, maintained on every action write so lists never join actions
            input_tokens       INTEGER NOT NULL DEFAULT 0,
            output_tokens      INTEGER NOT NULL DEFAULT 0,
            cache_read_tokens  INTEGER NOT NULL DEFAULT 0,
            cache_write_tokens INTEGER NOT NULL DEFAULT 0,
            reasoning_tokens   INTEGER NOT NULL DEFAULT 0,
            tokens_estimated   INTEGER NOT NULL DEFAULT 0,
            cost_usd           REAL,
            cost_source        TEXT,
            action_count       INTEGER NOT NULL DEFAULT 0,
            success_count      INTEGER NOT NULL DEFAULT 0,
            -- live state of a running run
            owner              TEXT,
            last_event_at      INTEGER,
            partial_output     TEXT,
            live_action_json   TEXT,
            kill_requested_at  INTEGER,
            is_demo            INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX idx_runs_started ON runs (started_at, id);
        CREATE INDEX idx_runs_status ON runs (status, started_at, id);
        CREATE INDEX idx_runs_agent ON runs (agent_id, started_at, id);
        CREATE INDEX idx_runs_agent_status ON runs (agent_id, status, started_at, id);
        CREATE INDEX idx_runs_cost ON runs (cost_usd) WHERE cost_usd IS NOT NULL;
        CREATE INDEX idx_runs_live ON runs (owner) WHERE status = 'running';
        CREATE INDEX idx_runs_version ON runs (agent_version_id);
        CREATE INDEX idx_runs_replay_of ON runs (replay_of) WHERE replay_of IS NOT NULL;
        CREATE INDEX idx_runs_parent ON runs (parent_run_id) WHERE parent_run_id IS NOT NULL;
        CREATE INDEX idx_runs_thread ON runs (thread_id) WHERE thread_id IS NOT NULL;

        CREATE TABLE actions (
            run_no             INTEGER NOT NULL REFERENCES runs(run_no) ON DELETE CASCADE,
            seq                INTEGER NOT NULL,
            parent_seq         INTEGER,
            name               TEXT NOT NULL,
            kind               TEXT NOT NULL,
            inputs_json        TEXT,
            outputs_json       TEXT,
            input_tokens       INTEGER,
            output_tokens      INTEGER,
            cache_read_tokens  INTEGER,
            cache_write_tokens INTEGER,
            reasoning_tokens   INTEGER,
            tokens_estimated   INTEGER NOT NULL DEFAULT 0,
            ttft_ns            INTEGER,
            duration_ns        INTEGER,
            cost_usd           REAL,
            cost_source        TEXT,
            outcome            TEXT NOT NULL,
            started_at         INTEGER NOT NULL,
            ended_at           INTEGER,
            error_class        TEXT,
            error_message      TEXT,
            meta_json          TEXT,
            PRIMARY KEY (run_no, seq)
        );
        """,
    ),
    Migration(
        2,
        "runs page: index-only min-cost filtering, version pages, error-rate intercepts",
        """
        -- cost_usd rides at the end of every index the Runs page walks newest-first, so a
        -- min-cost filter is checked in the index and only matching rows are read from the
        -- table (measured on 1M runs: agent + rare min cost 64 ms -> 4 ms, an agent's daily
        -- spend for budget checks 65 ms -> 8 ms). Same indexes, same count: writes pay nothing
        -- beyond updating cost_usd in them when an action lands.
        DROP INDEX idx_runs_started;
        CREATE INDEX idx_runs_started ON runs (started_at, id, cost_usd);
        DROP INDEX idx_runs_status;
        CREATE INDEX idx_runs_status ON runs (status, started_at, id, cost_usd);
        DROP INDEX idx_runs_agent;
        CREATE INDEX idx_runs_agent ON runs (agent_id, started_at, id, cost_usd);
        DROP INDEX idx_runs_agent_status;
        CREATE INDEX idx_runs_agent_status ON runs (agent_id, status, started_at, id, cost_usd);
        -- Runs of one config version, newest first (Agents -> "runs of v3") without sorting.
        DROP INDEX idx_runs_version;
        CREATE INDEX idx_runs_version ON runs (agent_version_id, started_at, id, cost_usd);
        -- Runs with at least one action that did not succeed: the candidates for the "high
        -- error or intervention rate" intercept, newest first, without walking clean runs.
        CREATE INDEX idx_runs_unsuccessful ON runs (started_at, id)
            WHERE success_count < action_count;
        -- Demo rows: "is there demo data" and removing it, without scanning a million runs.
        CREATE INDEX idx_runs_demo ON runs (run_no) WHERE is_demo = 1;
        """,
    ),
    Migration(
        3,
        "MCP servers: the registry of tool servers agents may use",
        """
        -- Nothing secret lives here: env vars and HTTP headers whose values are secrets are
        -- listed by name only; their values are in the OS keyring (service "ato-desktop",
        -- user "mcp:<server>:env:<NAME>" / "mcp:<server>:header:<Name>").
        CREATE TABLE mcp_servers (
            id                       TEXT PRIMARY KEY,
            name                     TEXT NOT NULL UNIQUE COLLATE NOCASE,
            transport                TEXT NOT NULL CHECK (transport IN ('stdio', 'http')),
            command                  TEXT,
            args_json                TEXT NOT NULL DEFAULT '[]',
            env_json                 TEXT NOT NULL DEFAULT '{}',
            secret_env_names_json    TEXT NOT NULL DEFAULT '[]',
            url                      TEXT,
            secret_header_names_json TEXT NOT NULL DEFAULT '[]',
            timeout_s                REAL NOT NULL DEFAULT 30,
            created_at               INTEGER NOT NULL,
            updated_at               INTEGER NOT NULL,
            CHECK ((transport = 'stdio') = (command IS NOT NULL)),
            CHECK ((transport = 'http') = (url IS NOT NULL))
        );
        """,
    ),
    Migration(
        4,
        "evals: suites, suite runs, case results, run scores (manual and judge), online judges",
        """
        -- A suite is known by its name (the header's, else the file's stem): edits keep its
        -- history and its diffs. The text is kept so a suite can be run again without its
        -- file (Insights, "gather evidence").
        CREATE TABLE eval_suites (
            id            TEXT PRIMARY KEY,
            name          TEXT NOT NULL UNIQUE COLLATE NOCASE,
            path          TEXT,
            content_hash  TEXT NOT NULL,
            source_text   TEXT NOT NULL,
            case_count    INTEGER NOT NULL,
            created_at    INTEGER NOT NULL,
            updated_at    INTEGER NOT NULL
        );

        -- One row per run of a suite against a target; figures kept on the row so lists and
        -- "latest score per agent" never read case rows.
        CREATE TABLE eval_suite_runs (
            id                TEXT PRIMARY KEY,
            suite_id          TEXT NOT NULL REFERENCES eval_suites(id) ON DELETE CASCADE,
            content_hash      TEXT NOT NULL,
            agent_id          TEXT REFERENCES agents(id) ON DELETE SET NULL,
            agent_version_id  TEXT REFERENCES agent_versions(id) ON DELETE SET NULL,
            runtime           TEXT NOT NULL,
            model             TEXT NOT NULL,
            target            TEXT NOT NULL,
            -- 1: the agent's config ran on another runtime/model (a candidate), so the run
            -- speaks for that model, not for the agent's config version
            swapped           INTEGER NOT NULL DEFAULT 0,
            status            TEXT NOT NULL,
            started_at        INTEGER NOT NULL,
            ended_at          INTEGER,
            case_count        INTEGER NOT NULL,
            ran_count         INTEGER NOT NULL DEFAULT 0,
            passed_count      INTEGER NOT NULL DEFAULT 0,
            error_count       INTEGER NOT NULL DEFAULT 0,
            bad_line_count    INTEGER NOT NULL DEFAULT 0,
            pass_rate         REAL,
            mean_score        REAL,
            cost_usd          REAL,
            cost_source       TEXT,
            judge_cost_usd    REAL,
            judge_cost_source TEXT,
            p50_ms            REAL,
            p95_ms            REAL,
            details_json      TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX idx_suite_runs_suite ON eval_suite_runs (suite_id, target, started_at, id);
        CREATE INDEX idx_suite_runs_agent ON eval_suite_runs (agent_id, started_at, id)
            WHERE agent_id IS NOT NULL;
        CREATE INDEX idx_suite_runs_version ON eval_suite_runs (agent_version_id, started_at, id)
            WHERE agent_version_id IS NOT NULL;
        CREATE INDEX idx_suite_runs_model ON eval_suite_runs (runtime, model, started_at, id);
        CREATE INDEX idx_suite_runs_started ON eval_suite_runs (started_at, id);

        CREATE TABLE eval_case_results (
            suite_run_id  TEXT NOT NULL REFERENCES eval_suite_runs(id) ON DELETE CASCADE,
            case_id       TEXT NOT NULL,
            line_no       INTEGER NOT NULL,
            run_id        TEXT REFERENCES runs(id) ON DELETE SET NULL,
            status        TEXT NOT NULL,
            score         REAL NOT NULL,
            passed        INTEGER NOT NULL,
            scores_json   TEXT NOT NULL,
            output        TEXT,
            error         TEXT,
            cost_usd      REAL,
            cost_source   TEXT,
            judge_cost_usd REAL,
            duration_ms   REAL,
            PRIMARY KEY (suite_run_id, case_id)
        ) WITHOUT ROWID;
        CREATE INDEX idx_case_results_run ON eval_case_results (run_id) WHERE run_id IS NOT NULL;

        -- Scores on runs outside suites: a person's thumbs up/down (source manual) and the
        -- online judge's (source judge); one of each per run, the latest kept.
        CREATE TABLE run_scores (
            run_id           TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            source           TEXT NOT NULL CHECK (source IN ('manual', 'judge')),
            score            REAL NOT NULL CHECK (score BETWEEN 0 AND 1),
            passed           INTEGER NOT NULL,
            note             TEXT NOT NULL DEFAULT '',
            judge_run_id     TEXT,
            agent_id         TEXT,
            agent_version_id TEXT,
            created_at       INTEGER NOT NULL,
            PRIMARY KEY (run_id, source)
        ) WITHOUT ROWID;
        CREATE INDEX idx_run_scores_agent ON run_scores (agent_id, source, created_at)
            WHERE agent_id IS NOT NULL;

        -- Online judging per agent (see core.eval_scoring.OnlineJudgeSettings for why this is
        -- not part of the versioned agent config).
        CREATE TABLE online_judges (
            agent_id        TEXT PRIMARY KEY REFERENCES agents(id) ON DELETE CASCADE,
            enabled         INTEGER NOT NULL,
            sample_percent  REAL NOT NULL CHECK (sample_percent BETWEEN 0 AND 100),
            rubric          TEXT NOT NULL,
            judge_agent     TEXT,
            judge_runtime   TEXT,
            judge_model     TEXT,
            judge_base_url  TEXT,
            max_score       INTEGER NOT NULL,
            pass_score      REAL NOT NULL,
            seed            TEXT NOT NULL,
            updated_at      INTEGER NOT NULL
        );
        """,
    ),
    Migration(
        5,
        "searchable run metadata: user, tenant and error class filters through indexes",
        """
        -- Runs carry metadata in their tags ({"user": "alice", "tenant": "acme"}); the two the
        -- Runs page filters on get an expression index each, newest first within a value, so
        -- "runs of tenant acme" is an index range on a million runs, not a scan. Queries use
        -- the same expression (store.run_listing). Other tag keys are filtered per row.
        CREATE INDEX idx_runs_user ON runs (json_extract(tags_json, '$.user'), started_at, id);
        CREATE INDEX idx_runs_tenant
            ON runs (json_extract(tags_json, '$.tenant'), started_at, id);
        -- Failed runs by error class (timeout, rate_limit, ...), newest first.
        CREATE INDEX idx_runs_error_class ON runs (error_class, started_at, id)
            WHERE error_class IS NOT NULL;
        """,
    ),
    Migration(
        6,
        "automations: groups, schedules, hooks and skill flows with versions; pipeline indexes",
        """
        -- One row per definition; every change of its spec is a version (like agents).
        CREATE TABLE automations (
            id              TEXT PRIMARY KEY,
            kind            TEXT NOT NULL CHECK (kind IN ('group', 'schedule', 'hook', 'skill')),
            name            TEXT NOT NULL COLLATE NOCASE,
            enabled         INTEGER NOT NULL DEFAULT 1,
            current_version INTEGER NOT NULL,
            created_at      INTEGER NOT NULL,
            updated_at      INTEGER NOT NULL,
            UNIQUE (kind, name)
        );
        CREATE TABLE automation_versions (
            id            TEXT PRIMARY KEY,
            automation_id TEXT NOT NULL REFERENCES automations(id) ON DELETE CASCADE,
            version       INTEGER NOT NULL,
            created_at    INTEGER NOT NULL,
            spec_json     TEXT NOT NULL,
            diff_json     TEXT NOT NULL,
            change_source TEXT NOT NULL,
            UNIQUE (automation_id, version)
        );
        -- A schedule's progress: the newest fire time handled (fired, skipped or missed), so
        -- fires missed while the app was closed are found on the next start.
        CREATE TABLE schedule_state (
            automation_id TEXT PRIMARY KEY REFERENCES automations(id) ON DELETE CASCADE,
            last_fire_at  INTEGER NOT NULL,
            last_run_id   TEXT,
            last_note     TEXT NOT NULL DEFAULT '',
            updated_at    INTEGER NOT NULL
        );
        -- Pipelines: the parent run of each multi-stage dispatch (pipeline_id set, no stage),
        -- newest first; and the runs of one definition (parents and stages), newest first.
        -- Stages of a parent come through idx_runs_parent.
        CREATE INDEX idx_runs_pipeline_parents ON runs (started_at, id)
            WHERE pipeline_id IS NOT NULL AND stage_index IS NULL;
        CREATE INDEX idx_runs_pipeline ON runs (pipeline_id, started_at, id)
            WHERE pipeline_id IS NOT NULL;
        """,
    ),
    Migration(
        7,
        "full-text search for the palette: chat messages and named things, trigram FTS5",
        """
        -- Message bodies: an external-content trigram index (bodies are not stored twice; the
        -- rowid is messages.id, an INTEGER PRIMARY KEY, so VACUUM keeps them aligned). Trigrams
        -- find substrings anywhere in a word, in any script; queries under three characters
        -- take store.search's fallback. Triggers keep it in step with every write path.
        CREATE VIRTUAL TABLE search_messages USING fts5(
            content, content='messages', content_rowid='id', tokenize='trigram'
        );
        CREATE TRIGGER search_messages_ai AFTER INSERT ON messages BEGIN
            INSERT INTO search_messages (rowid, content) VALUES (new.id, new.content);
        END;
        CREATE TRIGGER search_messages_ad AFTER DELETE ON messages BEGIN
            INSERT INTO search_messages (search_messages, rowid, content)
                VALUES ('delete', old.id, old.content);
        END;
        CREATE TRIGGER search_messages_au AFTER UPDATE OF content ON messages BEGIN
            INSERT INTO search_messages (search_messages, rowid, content)
                VALUES ('delete', old.id, old.content);
            INSERT INTO search_messages (rowid, content) VALUES (new.id, new.content);
        END;
        INSERT INTO search_messages (search_messages) VALUES ('rebuild');

        -- Named things, one row each: agents, automations (group, schedule, hook, skill), MCP
        -- servers, secrets (an MCP server's secret env var / header NAMES; values live in the
        -- OS keyring and never come here) and chat thread titles. ref is the thing's id (for a
        -- secret, its server's id). Kept by triggers on the source tables.
        CREATE TABLE search_entities (
            id         INTEGER PRIMARY KEY,
            kind       TEXT NOT NULL,
            ref        TEXT NOT NULL,
            name       TEXT NOT NULL COLLATE NOCASE,
            detail     TEXT NOT NULL DEFAULT '',
            updated_at INTEGER NOT NULL
        );
        CREATE INDEX idx_search_entities_ref ON search_entities (ref, kind);
        CREATE VIRTUAL TABLE search_entities_fts USING fts5(
            name, content='search_entities', content_rowid='id', tokenize='trigram'
        );
        CREATE TRIGGER search_entities_ai AFTER INSERT ON search_entities BEGIN
            INSERT INTO search_entities_fts (rowid, name) VALUES (new.id, new.name);
        END;
        CREATE TRIGGER search_entities_ad AFTER DELETE ON search_entities BEGIN
            INSERT INTO search_entities_fts (search_entities_fts, rowid, name)
                VALUES ('delete', old.id, old.name);
        END;
        CREATE TRIGGER search_entities_au AFTER UPDATE OF name ON search_entities BEGIN
            INSERT INTO search_entities_fts (search_entities_fts, rowid, name)
                VALUES ('delete', old.id, old.name);
            INSERT INTO search_entities_fts (rowid, name) VALUES (new.id, new.name);
        END;

        CREATE TRIGGER search_agents_ai AFTER INSERT ON agents BEGIN
            INSERT INTO search_entities (kind, ref, name, updated_at)
                VALUES ('agent', new.id, new.name, new.updated_at);
        END;
        CREATE TRIGGER search_agents_au AFTER UPDATE OF name, updated_at ON agents BEGIN
            UPDATE search_entities SET name = new.name, updated_at = new.updated_at
                WHERE ref = new.id AND kind = 'agent';
        END;
        CREATE TRIGGER search_agents_ad AFTER DELETE ON agents BEGIN
            DELETE FROM search_entities WHERE ref = old.id AND kind = 'agent';
        END;

        CREATE TRIGGER search_automations_ai AFTER INSERT ON automations BEGIN
            INSERT INTO search_entities (kind, ref, name, updated_at)
                VALUES (new.kind, new.id, new.name, new.updated_at);
        END;
        CREATE TRIGGER search_automations_au AFTER UPDATE OF name, updated_at ON automations
        BEGIN
            UPDATE search_entities SET name = new.name, updated_at = new.updated_at
                WHERE ref = new.id AND kind = new.kind;
        END;
        CREATE TRIGGER search_automations_ad AFTER DELETE ON automations BEGIN
            DELETE FROM search_entities WHERE ref = old.id AND kind = old.kind;
        END;

        CREATE TRIGGER search_threads_ai AFTER INSERT ON threads BEGIN
            INSERT INTO search_entities (kind, ref, name, updated_at)
                VALUES ('thread', new.id, new.title, new.updated_at);
        END;
        CREATE TRIGGER search_threads_au AFTER UPDATE OF title, updated_at ON threads BEGIN
            UPDATE search_entities SET name = new.title, updated_at = new.updated_at
                WHERE ref = new.id AND kind = 'thread';
        END;
        CREATE TRIGGER search_threads_ad AFTER DELETE ON threads BEGIN
            DELETE FROM search_entities WHERE ref = old.id AND kind = 'thread';
        END;

        CREATE TRIGGER search_mcp_ai AFTER INSERT ON mcp_servers BEGIN
            INSERT INTO search_entities (kind, ref, name, detail, updated_at)
                VALUES ('mcp_server', new.id, new.name, new.transport, new.updated_at);
            INSERT INTO search_entities (kind, ref, name, detail, updated_at)
                SELECT 'secret', new.id, value, 'env:' || new.name, new.updated_at
                FROM json_each(new.secret_env_names_json)
                UNION ALL
                SELECT 'secret', new.id, value, 'header:' || new.name, new.updated_at
                FROM json_each(new.secret_header_names_json);
        END;
        CREATE TRIGGER search_mcp_au AFTER UPDATE ON mcp_servers BEGIN
            DELETE FROM search_entities
                WHERE ref = old.id AND kind IN ('mcp_server', 'secret');
            INSERT INTO search_entities (kind, ref, name, detail, updated_at)
                VALUES ('mcp_server', new.id, new.name, new.transport, new.updated_at);
            INSERT INTO search_entities (kind, ref, name, detail, updated_at)
                SELECT 'secret', new.id, value, 'env:' || new.name, new.updated_at
                FROM json_each(new.secret_env_names_json)
                UNION ALL
                SELECT 'secret', new.id, value, 'header:' || new.name, new.updated_at
                FROM json_each(new.secret_header_names_json);
        END;
        CREATE TRIGGER search_mcp_ad AFTER DELETE ON mcp_servers BEGIN
            DELETE FROM search_entities
                WHERE ref = old.id AND kind IN ('mcp_server', 'secret');
        END;

        -- Backfill what is already in the log (the triggers above fill the FTS table).
        INSERT INTO search_entities (kind, ref, name, updated_at)
            SELECT 'agent', id, name, updated_at FROM agents;
        INSERT INTO search_entities (kind, ref, name, updated_at)
            SELECT kind, id, name, updated_at FROM automations;
        INSERT INTO search_entities (kind, ref, name, updated_at)
            SELECT 'thread', id, title, updated_at FROM threads;
        INSERT INTO search_entities (kind, ref, name, detail, updated_at)
            SELECT 'mcp_server', id, name, transport, updated_at FROM mcp_servers;
        INSERT INTO search_entities (kind, ref, name, detail, updated_at)
            SELECT 'secret', s.id, e.value, 'env:' || s.name, s.updated_at
            FROM mcp_servers s, json_each(s.secret_env_names_json) e;
        INSERT INTO search_entities (kind, ref, name, detail, updated_at)
            SELECT 'secret', s.id, h.value, 'header:' || s.name, s.updated_at
            FROM mcp_servers s, json_each(s.secret_header_names_json) h;
        -- Exact and prefix matches through an index range (they rank first); recent first for
        -- 1-2 character substrings (a LIKE over a bounded window of the newest rows).
        CREATE INDEX idx_search_entities_name ON search_entities (name);
        CREATE INDEX idx_search_entities_recent ON search_entities (updated_at);
        """,
    ),
    Migration(
        8,
        "cloud sync over OTLP: settings, a durable outbox of ended runs, sync status",
        """
        -- One row of settings. Nothing secret lives here: tokens, basic-auth passwords and
        -- custom header values are in the OS keyring (service "ato-desktop", user
        -- "sync:bearer" / "sync:basic" / "sync:header:<name>"); only header NAMES are here.
        CREATE TABLE sync_config (
            id                INTEGER PRIMARY KEY CHECK (id = 1),
            enabled           INTEGER NOT NULL DEFAULT 0,
            endpoint          TEXT,
            auth_kind         TEXT NOT NULL DEFAULT 'none'
                CHECK (auth_kind IN ('none', 'bearer', 'basic', 'headers')),
            basic_user        TEXT,
            header_names_json TEXT NOT NULL DEFAULT '[]',
            -- empty: every run; else only runs of these agent ids
            agent_ids_json    TEXT NOT NULL DEFAULT '[]',
            include_content   INTEGER NOT NULL DEFAULT 0,
            redaction_json    TEXT NOT NULL DEFAULT '{}',
            batch_size        INTEGER NOT NULL DEFAULT 50,
            updated_at        INTEGER NOT NULL
        );
        INSERT INTO sync_config (id, updated_at) VALUES (1, 0);

        -- Runs waiting to be sent; a row goes only after the endpoint answered 2xx.
        CREATE TABLE sync_outbox (
            run_id          TEXT PRIMARY KEY,
            queued_at       INTEGER NOT NULL,
            attempts        INTEGER NOT NULL DEFAULT 0,
            next_attempt_at INTEGER NOT NULL DEFAULT 0,
            last_error      TEXT
        ) WITHOUT ROWID;
        CREATE INDEX idx_sync_outbox_due ON sync_outbox (next_attempt_at, queued_at);

        -- What the status line shows; auth_paused survives a restart (sign in again first).
        CREATE TABLE sync_status (
            id                  INTEGER PRIMARY KEY CHECK (id = 1),
            paused              INTEGER NOT NULL DEFAULT 0,
            auth_paused         INTEGER NOT NULL DEFAULT 0,
            last_success_at     INTEGER,
            last_sent_count     INTEGER NOT NULL DEFAULT 0,
            total_sent          INTEGER NOT NULL DEFAULT 0,
            last_error          TEXT,
            last_error_at       INTEGER,
            skipped_count       INTEGER NOT NULL DEFAULT 0,
            last_skipped_run_id TEXT,
            last_skipped_reason TEXT,
            updated_at          INTEGER NOT NULL
        );
        INSERT INTO sync_status (id, updated_at) VALUES (1, 0);

        -- A run is queued in the transaction that ends it, whatever ends it (the dispatcher,
        -- a pipeline, crash recovery), so no ended run can miss the outbox. Only while sync
        -- is enabled, for the agents chosen; demo runs never leave.
        CREATE TRIGGER sync_outbox_run_ended AFTER UPDATE OF status ON runs
        WHEN old.status = 'running' AND new.status <> 'running' AND new.is_demo = 0
            AND EXISTS (
                SELECT 1 FROM sync_config c WHERE c.id = 1 AND c.enabled = 1
                AND (c.agent_ids_json = '[]'
                     OR new.agent_id IN (SELECT value FROM json_each(c.agent_ids_json)))
            )
        BEGIN
            INSERT INTO sync_outbox (run_id, queued_at)
                VALUES (new.id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
                ON CONFLICT (run_id) DO NOTHING;
        END;
        """,
    ),
    Migration(
        9,
        "run rollups: an agent's production runs per day, runtime, model and status",
        # Cost recommendations read every agent's 30 days of runs per runtime and model: a
        # million runs are a million rows to visit, several seconds. The rollup keeps those
        # counts and sums per UTC day, maintained by triggers in the transaction of every write
        # (insert, update of a counted column, delete, and the SET NULL of a deleted agent), so
        # the read is a few hundred rows plus the runs of the first, partial day. Production:
        # an agent's runs that are not replays or evals. Costs count only when known.
        """
        CREATE TABLE run_rollups (
            agent_id   TEXT NOT NULL,
            day        INTEGER NOT NULL,  -- started_at / 86400000 (UTC days since the epoch)
            runtime    TEXT NOT NULL,
            model      TEXT NOT NULL,
            status     TEXT NOT NULL,
            runs       INTEGER NOT NULL,
            cost_usd   REAL NOT NULL,     -- the known costs' total
            costed     INTEGER NOT NULL,  -- runs with a known cost
            estimated  INTEGER NOT NULL,  -- runs whose cost is an estimate
            PRIMARY KEY (agent_id, day, runtime, model, status)
        ) WITHOUT ROWID;

        INSERT INTO run_rollups
            SELECT agent_id, started_at / 86400000, runtime, model, status, count(*),
                   total(CASE WHEN cost_usd IS NOT NULL AND coalesce(cost_source, '') != 'unknown'
                         THEN cost_usd END),
                   sum(cost_usd IS NOT NULL AND coalesce(cost_source, '') != 'unknown'),
                   sum(coalesce(cost_source = 'estimated', 0))
            FROM runs WHERE agent_id IS NOT NULL AND "trigger" NOT IN ('replay', 'eval')
            GROUP BY 1, 2, 3, 4, 5;

        CREATE TRIGGER run_rollups_insert AFTER INSERT ON runs
        WHEN new.agent_id IS NOT NULL AND new."trigger" NOT IN ('replay', 'eval')
        BEGIN
            INSERT INTO run_rollups VALUES (
                new.agent_id, new.started_at / 86400000, new.runtime, new.model, new.status, 1,
                CASE WHEN new.cost_usd IS NOT NULL AND coalesce(new.cost_source, '') != 'unknown'
                     THEN new.cost_usd ELSE 0.0 END,
                new.cost_usd IS NOT NULL AND coalesce(new.cost_source, '') != 'unknown',
                coalesce(new.cost_source = 'estimated', 0)
            ) ON CONFLICT DO UPDATE SET runs = runs + 1, cost_usd = cost_usd + excluded.cost_usd,
                costed = costed + excluded.costed, estimated = estimated + excluded.estimated;
        END;

        CREATE TRIGGER run_rollups_delete AFTER DELETE ON runs
        WHEN old.agent_id IS NOT NULL AND old."trigger" NOT IN ('replay', 'eval')
        BEGIN
            UPDATE run_rollups SET runs = runs - 1,
                cost_usd = cost_usd - CASE WHEN old.cost_usd IS NOT NULL
                    AND coalesce(old.cost_source, '') != 'unknown' THEN old.cost_usd ELSE 0.0 END,
                costed = costed - (old.cost_usd IS NOT NULL
                    AND coalesce(old.cost_source, '') != 'unknown'),
                estimated = estimated - coalesce(old.cost_source = 'estimated', 0)
            WHERE agent_id = old.agent_id AND day = old.started_at / 86400000
                AND runtime = old.runtime AND model = old.model AND status = old.status;
            DELETE FROM run_rollups WHERE agent_id = old.agent_id
                AND day = old.started_at / 86400000 AND runtime = old.runtime
                AND model = old.model AND status = old.status AND runs <= 0;
        END;

        CREATE TRIGGER run_rollups_update AFTER UPDATE OF
            agent_id, started_at, "trigger", status, runtime, model, cost_usd, cost_source ON runs
        WHEN (old.agent_id IS NOT NULL AND old."trigger" NOT IN ('replay', 'eval'))
            OR (new.agent_id IS NOT NULL AND new."trigger" NOT IN ('replay', 'eval'))
        BEGIN
            UPDATE run_rollups SET runs = runs - 1,
                cost_usd = cost_usd - CASE WHEN old.cost_usd IS NOT NULL
                    AND coalesce(old.cost_source, '') != 'unknown' THEN old.cost_usd ELSE 0.0 END,
                costed = costed - (old.cost_usd IS NOT NULL
                    AND coalesce(old.cost_source, '') != 'unknown'),
                estimated = estimated - coalesce(old.cost_source = 'estimated', 0)
            WHERE old.agent_id IS NOT NULL AND old."trigger" NOT IN ('replay', 'eval')
                AND agent_id = old.agent_id AND day = old.started_at / 86400000
                AND runtime = old.runtime AND model = old.model AND status = old.status;
            DELETE FROM run_rollups WHERE agent_id = old.agent_id
                AND day = old.started_at / 86400000 AND runtime = old.runtime
                AND model = old.model AND status = old.status AND runs <= 0;
            INSERT INTO run_rollups SELECT
                new.agent_id, new.started_at / 86400000, new.runtime, new.model, new.status, 1,
                CASE WHEN new.cost_usd IS NOT NULL AND coalesce(new.cost_source, '') != 'unknown'
                     THEN new.cost_usd ELSE 0.0 END,
                new.cost_usd IS NOT NULL AND coalesce(new.cost_source, '') != 'unknown',
                coalesce(new.cost_source = 'estimated', 0)
            WHERE new.agent_id IS NOT NULL AND new."trigger" NOT IN ('replay', 'eval')
            ON CONFLICT DO UPDATE SET runs = runs + 1, cost_usd = cost_usd + excluded.cost_usd,
                costed = costed + excluded.costed, estimated = estimated + excluded.estimated;
        END;
        """,
    ),
    Migration(
        10,
        "run rollups folded in batches: no trigger on inserting runs",
        # Any trigger on INSERT INTO runs, even one that does nothing, makes every row of a
        # bulk insert open a statement journal inside the writer's per-job savepoint: ingest
        # ran 2.4 times slower. So new runs are no longer rolled up as they are written: the
        # rollup holds the runs up to run_rollup_mark.run_no (all of them at this migration),
        # readers add the runs above the mark from the log (a rowid range), and
        # insights_queries.fold_run_rollups moves them in, in batches, now and then. Updates
        # and deletes of rolled-up runs still correct the rollup by trigger (single-row
        # statements: a run ending, a correction, retention).
        """
        DROP TRIGGER run_rollups_insert;
        DROP TRIGGER run_rollups_delete;
        DROP TRIGGER run_rollups_update;

        CREATE TABLE run_rollup_mark (
            id     INTEGER PRIMARY KEY CHECK (id = 1),
            run_no INTEGER NOT NULL
        );
        INSERT INTO run_rollup_mark VALUES (1, (SELECT coalesce(max(run_no), 0) FROM runs));

        CREATE TRIGGER run_rollups_delete AFTER DELETE ON runs
        WHEN old.agent_id IS NOT NULL AND old."trigger" NOT IN ('replay', 'eval')
            AND old.run_no <= (SELECT run_no FROM run_rollup_mark WHERE id = 1)
        BEGIN
            UPDATE run_rollups SET runs = runs - 1,
                cost_usd = cost_usd - CASE WHEN old.cost_usd IS NOT NULL
                    AND coalesce(old.cost_source, '') != 'unknown' THEN old.cost_usd ELSE 0.0 END,
                costed = costed - (old.cost_usd IS NOT NULL
                    AND coalesce(old.cost_source, '') != 'unknown'),
                estimated = estimated - coalesce(old.cost_source = 'estimated', 0)
            WHERE agent_id = old.agent_id AND day = old.started_at / 86400000
                AND runtime = old.runtime AND model = old.model AND status = old.status;
            DELETE FROM run_rollups WHERE agent_id = old.agent_id
                AND day = old.started_at / 86400000 AND runtime = old.runtime
                AND model = old.model AND status = old.status AND runs <= 0;
        END;

        CREATE TRIGGER run_rollups_update AFTER UPDATE OF
            agent_id, started_at, "trigger", status, runtime, model, cost_usd, cost_source ON runs
        WHEN old.run_no <= (SELECT run_no FROM run_rollup_mark WHERE id = 1)
            AND ((old.agent_id IS NOT NULL AND old."trigger" NOT IN ('replay', 'eval'))
                OR (new.agent_id IS NOT NULL AND new."trigger" NOT IN ('replay', 'eval')))
        BEGIN
            UPDATE run_rollups SET runs = runs - 1,
                cost_usd = cost_usd - CASE WHEN old.cost_usd IS NOT NULL
                    AND coalesce(old.cost_source, '') != 'unknown' THEN old.cost_usd ELSE 0.0 END,
                costed = costed - (old.cost_usd IS NOT NULL
                    AND coalesce(old.cost_source, '') != 'unknown'),
                estimated = estimated - coalesce(old.cost_source = 'estimated', 0)
            WHERE old.agent_id IS NOT NULL AND old."trigger" NOT IN ('replay', 'eval')
                AND agent_id = old.agent_id AND day = old.started_at / 86400000
                AND runtime = old.runtime AND model = old.model AND status = old.status;
            DELETE FROM run_rollups WHERE agent_id = old.agent_id
                AND day = old.started_at / 86400000 AND runtime = old.runtime
                AND model = old.model AND status = old.status AND runs <= 0;
            INSERT INTO run_rollups SELECT
                new.agent_id, new.started_at / 86400000, new.runtime, new.model, new.status, 1,
                CASE WHEN new.cost_usd IS NOT NULL AND coalesce(new.cost_source, '') != 'unknown'
                     THEN new.cost_usd ELSE 0.0 END,
                new.cost_usd IS NOT NULL AND coalesce(new.cost_source, '') != 'unknown',
                coalesce(new.cost_source = 'estimated', 0)
            WHERE new.agent_id IS NOT NULL AND new."trigger" NOT IN ('replay', 'eval')
            ON CONFLICT DO UPDATE SET runs = runs + 1, cost_usd = cost_usd + excluded.cost_usd,
                costed = costed + excluded.costed, estimated = estimated + excluded.estimated;
        END;
        """,
    ),
    Migration(
        11,
        "the change feed: every write's events, recorded for the other processes",
        # The log is the bus: each write records the events it publishes in the same
        # transaction, and every long-lived process follows the rows other processes wrote
        # (store/change_feed.py). AUTOINCREMENT keeps sequence numbers increasing even after
        # the table is pruned empty, so a follower's position is never reused; the writer
        # prunes rows older than a few minutes (a follower that fell behind reloads).
        """
        CREATE TABLE changes (
            seq     INTEGER PRIMARY KEY AUTOINCREMENT,
            origin  TEXT NOT NULL,
            at      INTEGER NOT NULL,
            kind    TEXT NOT NULL,
            payload TEXT NOT NULL
        );

        -- Work that must happen once, whichever process hears of it first (a hook firing on a
        -- run's end): the first INSERT of (scope, key) wins.
        CREATE TABLE claims (
            scope      TEXT NOT NULL,
            key        TEXT NOT NULL,
            owner      TEXT NOT NULL,
            claimed_at INTEGER NOT NULL,
            PRIMARY KEY (scope, key)
        ) WITHOUT ROWID;
        """,
    ),
    Migration(
        12,
        "the OTLP receiver's own runs and spans, and its exports being written",
        """
        -- The runs the receiver made, one per trace: a trace's later spans attach to its run
        -- and to nothing else (a dispatched run, or any run of another source, whose id
        -- happens to equal a trace id is never touched: that trace gets a run of its own).
        CREATE TABLE otlp_traces (
            trace_id      TEXT PRIMARY KEY,
            run_no        INTEGER NOT NULL UNIQUE REFERENCES runs(run_no) ON DELETE CASCADE,
            ingest_no     INTEGER NOT NULL DEFAULT 0,  -- the export that created it
            -- the run's last action in start order: a later export's spans that start after
            -- it are appended; others put the run's actions in order again
            last_start_ns INTEGER NOT NULL DEFAULT 0,
            last_span_id  TEXT NOT NULL DEFAULT ''
        ) WITHOUT ROWID;
        -- The spans written, per run: an exporter's retry is written once, and a span exported
        -- before or after its parent finds it. start_ns orders a run's actions by start time.
        -- ingest_no: the export that wrote the span (to take it back if that export fails).
        -- orphan: written before its parent span arrived (found through the small index below
        -- when the parent comes).
        CREATE TABLE otlp_spans (
            run_no         INTEGER NOT NULL REFERENCES runs(run_no) ON DELETE CASCADE,
            span_id        TEXT NOT NULL,
            seq            INTEGER NOT NULL,
            parent_span_id TEXT,
            start_ns       INTEGER NOT NULL,
            ingest_no      INTEGER NOT NULL DEFAULT 0,
            orphan         INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (run_no, span_id)
        ) WITHOUT ROWID;
        CREATE INDEX idx_otlp_spans_orphans ON otlp_spans (run_no, parent_span_id)
            WHERE orphan = 1;
        -- Exports being written in bounded batches (no write transaction holds the log for
        -- long). A row here means "not finished": the runs it created and the spans it added
        -- are removed if it fails, or at the next start if its process (owner: a lease token)
        -- died. Its last batch deletes the row, in the same transaction.
        CREATE TABLE otlp_ingests (
            ingest_no  INTEGER PRIMARY KEY,
            owner      TEXT NOT NULL,
            started_at INTEGER NOT NULL
        );
        -- The runs an unfinished export extended, with their columns before it (restored if
        -- the export is taken back).
        CREATE TABLE otlp_ingest_runs (
            ingest_no  INTEGER NOT NULL,
            run_no     INTEGER NOT NULL,
            prior_json TEXT NOT NULL,
            PRIMARY KEY (ingest_no, run_no)
        ) WITHOUT ROWID;
        CREATE INDEX idx_otlp_traces_ingest ON otlp_traces (ingest_no) WHERE ingest_no > 0;

        -- The receiver's runs so far (before this migration, a run's id was its trace id).
        INSERT INTO otlp_traces (trace_id, run_no)
            SELECT id, run_no FROM runs
            WHERE "trigger" = 'external' AND json_extract(tags_json, '$.source') = 'otlp';
        INSERT OR IGNORE INTO otlp_spans (run_no, span_id, seq, parent_span_id, start_ns, orphan)
            SELECT a.run_no, json_extract(a.meta_json, '$."otel.span_id"'), a.seq,
                   json_extract(a.meta_json, '$."otel.parent_span_id"'),
                   a.started_at * 1000000,
                   a.parent_seq IS NULL
                       AND json_extract(a.meta_json, '$."otel.parent_span_id"') IS NOT NULL
            FROM otlp_traces t JOIN actions a ON a.run_no = t.run_no
            WHERE json_extract(a.meta_json, '$."otel.span_id"') IS NOT NULL;
        -- Earlier runs were in arrival order: later spans of them order the run again.
        UPDATE otlp_traces SET last_start_ns = 9223372036854775807;
        """,
    ),
    Migration(
        13,
        "demo marks on automations and eval suites; the demo build under way",
        # The demo workspace includes groups, schedules, hooks, skill flows and eval suites with
        # their reports; they are marked like its agents, threads and runs, and removed with
        # them. A build writes for a while (a million runs: half an hour): its row says which
        # process builds it, so a build that was killed half-way is found by the next one and
        # cleaned up instead of being taken for a loaded demo. Demo data from before this
        # migration counts as a finished build.
        """
        ALTER TABLE automations ADD COLUMN is_demo INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE eval_suites ADD COLUMN is_demo INTEGER NOT NULL DEFAULT 0;

        CREATE TABLE demo_build (
            id          INTEGER PRIMARY KEY CHECK (id = 1),
            owner       TEXT NOT NULL,  -- the building process's lease (store.process_lease)
            seed        INTEGER NOT NULL,
            runs        INTEGER NOT NULL,
            started_at  INTEGER NOT NULL,
            finished_at INTEGER         -- NULL while it builds, or since it was killed
        );
        INSERT INTO demo_build (id, owner, seed, runs, started_at, finished_at)
            SELECT 1, '', 0, 0, 0, 0
            WHERE EXISTS (SELECT 1 FROM agents WHERE is_demo = 1)
               OR EXISTS (SELECT 1 FROM threads WHERE is_demo = 1)
               OR EXISTS (SELECT 1 FROM runs WHERE is_demo = 1);
        """,
    ),
    Migration(
        14,
        "charts: runs per hour of every run, and an agent's run durations per day in order",
        # The Runs timeline counts runs per time bucket and status under the page's filters,
        # and Insights -> Cost draws spend per day by agent, model or runtime. Counting a
        # million runs per chart costs seconds, so run_hour_rollups keeps every run (replays,
        # evals and runs without an agent included, unlike run_rollups) per UTC hour, agent,
        # config version, runtime, model and status. It is kept like run_rollups (migration
        # 10): it holds the runs up to run_rollup_mark (one mark for both rollups, folded in
        # the same write job), readers add the runs above the mark from the log, and updates
        # or deletes of rolled-up runs correct it by trigger. No trigger on INSERT.
        # The agent Trends chart draws a p95 latency per day: idx_runs_agent_day_duration
        # holds an agent's finished production runs' durations in order within each UTC day,
        # so a day's p95 is one short walk from the top of that day's range (no sort, no
        # table rows read: the columns the reads name ride along).
        """
        CREATE TABLE run_hour_rollups (
            hour        INTEGER NOT NULL,  -- started_at / 3600000 (UTC hours since the epoch)
            agent_id    TEXT NOT NULL,     -- '' for runs without an agent
            version_id  TEXT NOT NULL,     -- '' for runs without a config version
            runtime     TEXT NOT NULL,
            model       TEXT NOT NULL,
            status      TEXT NOT NULL,
            runs        INTEGER NOT NULL,
            cost_usd    REAL NOT NULL,     -- the known costs' total
            costed      INTEGER NOT NULL,  -- runs with a known cost
            estimated   INTEGER NOT NULL,  -- runs whose cost is an estimate
            -- finished production runs with a duration: idx_runs_agent_day_duration's entries
            timed       INTEGER NOT NULL,
            PRIMARY KEY (hour, agent_id, version_id, runtime, model, status)
        ) WITHOUT ROWID;

        INSERT INTO run_hour_rollups
            SELECT started_at / 3600000, coalesce(agent_id, ''), coalesce(agent_version_id, ''),
                   runtime, model, status, count(*),
                   total(CASE WHEN cost_usd IS NOT NULL AND coalesce(cost_source, '') != 'unknown'
                         THEN cost_usd END),
                   sum(cost_usd IS NOT NULL AND coalesce(cost_source, '') != 'unknown'),
                   sum(coalesce(cost_source = 'estimated', 0)),
                   sum(duration_ns IS NOT NULL AND status IN ('completed', 'failed')
                       AND "trigger" NOT IN ('replay', 'eval'))
            FROM runs WHERE run_no <= (SELECT run_no FROM run_rollup_mark WHERE id = 1)
            GROUP BY 1, 2, 3, 4, 5, 6;

        CREATE TRIGGER run_hour_rollups_delete AFTER DELETE ON runs
        WHEN old.run_no <= (SELECT run_no FROM run_rollup_mark WHERE id = 1)
        BEGIN
            UPDATE run_hour_rollups SET runs = runs - 1,
                cost_usd = cost_usd - CASE WHEN old.cost_usd IS NOT NULL
                    AND coalesce(old.cost_source, '') != 'unknown' THEN old.cost_usd ELSE 0.0 END,
                costed = costed - (old.cost_usd IS NOT NULL
                    AND coalesce(old.cost_source, '') != 'unknown'),
                estimated = estimated - coalesce(old.cost_source = 'estimated', 0),
                timed = timed - (old.duration_ns IS NOT NULL
                    AND old.status IN ('completed', 'failed')
                    AND old."trigger" NOT IN ('replay', 'eval'))
            WHERE hour = old.started_at / 3600000 AND agent_id = coalesce(old.agent_id, '')
                AND version_id = coalesce(old.agent_version_id, '') AND runtime = old.runtime
                AND model = old.model AND status = old.status;
            DELETE FROM run_hour_rollups WHERE hour = old.started_at / 3600000
                AND agent_id = coalesce(old.agent_id, '')
                AND version_id = coalesce(old.agent_version_id, '') AND runtime = old.runtime
                AND model = old.model AND status = old.status AND runs <= 0;
        END;

        CREATE TRIGGER run_hour_rollups_update AFTER UPDATE OF
            agent_id, agent_version_id, started_at, status, runtime, model, cost_usd, cost_source,
            duration_ns, "trigger" ON runs
        WHEN old.run_no <= (SELECT run_no FROM run_rollup_mark WHERE id = 1)
        BEGIN
            UPDATE run_hour_rollups SET runs = runs - 1,
                cost_usd = cost_usd - CASE WHEN old.cost_usd IS NOT NULL
                    AND coalesce(old.cost_source, '') != 'unknown' THEN old.cost_usd ELSE 0.0 END,
                costed = costed - (old.cost_usd IS NOT NULL
                    AND coalesce(old.cost_source, '') != 'unknown'),
                estimated = estimated - coalesce(old.cost_source = 'estimated', 0),
                timed = timed - (old.duration_ns IS NOT NULL
                    AND old.status IN ('completed', 'failed')
                    AND old."trigger" NOT IN ('replay', 'eval'))
            WHERE hour = old.started_at / 3600000 AND agent_id = coalesce(old.agent_id, '')
                AND version_id = coalesce(old.agent_version_id, '') AND runtime = old.runtime
                AND model = old.model AND status = old.status;
            DELETE FROM run_hour_rollups WHERE hour = old.started_at / 3600000
                AND agent_id = coalesce(old.agent_id, '')
                AND version_id = coalesce(old.agent_version_id, '') AND runtime = old.runtime
                AND model = old.model AND status = old.status AND runs <= 0;
            INSERT INTO run_hour_rollups VALUES (
                new.started_at / 3600000, coalesce(new.agent_id, ''),
                coalesce(new.agent_version_id, ''), new.runtime, new.model, new.status, 1,
                CASE WHEN new.cost_usd IS NOT NULL AND coalesce(new.cost_source, '') != 'unknown'
                     THEN new.cost_usd ELSE 0.0 END,
                new.cost_usd IS NOT NULL AND coalesce(new.cost_source, '') != 'unknown',
                coalesce(new.cost_source = 'estimated', 0),
                (new.duration_ns IS NOT NULL
                    AND new.status IN ('completed', 'failed')
                    AND new."trigger" NOT IN ('replay', 'eval'))
            ) ON CONFLICT DO UPDATE SET runs = runs + 1, cost_usd = cost_usd + excluded.cost_usd,
                costed = costed + excluded.costed, estimated = estimated + excluded.estimated,
                timed = timed + excluded.timed;
        END;

        -- started_at, status and trigger ride along so every read of it is index-only
        -- (SQLite 3.40 reads the table for a column the query names that the index lacks).
        CREATE INDEX idx_runs_agent_day_duration
            ON runs (agent_id, started_at / 86400000, duration_ns, started_at, status, "trigger")
            WHERE agent_id IS NOT NULL AND duration_ns IS NOT NULL
                AND status IN ('completed', 'failed') AND "trigger" NOT IN ('replay', 'eval');
        """,
    ),
    Migration(
        15,
        "cloud sync: a project name, sending received runs, one sender per log",
        # Assigned 16 (the sync branch), renumbered 15 to follow main's 14 with no gap.
        # Self-contained (no reference to another numbered migration), so it can be renumbered.
        """
        -- The project the traces land in (service.name / openinference.project.name); NULL:
        -- "ato-desktop".
        ALTER TABLE sync_config ADD COLUMN project_name TEXT;
        -- Runs received by the OTLP receiver (inserted already finished) are queued only when
        -- the user chooses to send them on.
        ALTER TABLE sync_config ADD COLUMN include_ingested INTEGER NOT NULL DEFAULT 0;
        -- The one process that sends, by its lease token (store/process_lease.py): others
        -- leave the outbox to it, and take over when its lease is free (it died).
        ALTER TABLE sync_status ADD COLUMN sender_token TEXT;
        ALTER TABLE sync_status ADD COLUMN sender_label TEXT;
        ALTER TABLE sync_status ADD COLUMN sender_since INTEGER;
        """,
    ),
    Migration(
        16,
        "sorting History by every column, simulations hidden, the Activity Ledger",
        # Sorting a million runs by cost, duration, end, action count or success rate is a walk
        # of one index per key, (value, started_at, rowid): no sort of the matches, and keyset
        # pages. An agent filter walks the agent's own index per key (its runs may all sit at
        # one end of the global order: an unpriced model's runs have no cost). status, cost
        # and is_simulation ride in every walked index so those filters, and the positions that
        # scrolling to any row needs (OFFSET), are checked without reading the table.
        # Simulation replays get a column (kept from tags_json by the writer and, for later tag
        # changes, a trigger): a JSON test per row would read every run to count them.
        # The Activity Ledger orders 10,000,000 actions by time, cost or duration, filtered by
        # their run's agent and model too: a narrow table of its own (below).
        """
        ALTER TABLE runs ADD COLUMN is_simulation INTEGER NOT NULL DEFAULT 0;
        UPDATE runs SET is_simulation = 1
            WHERE lower(json_extract(tags_json, '$.simulation')) = 'true'
               OR json_type(tags_json, '$.simulation') = 'true';
        CREATE TRIGGER runs_simulation_tags AFTER UPDATE OF tags_json ON runs
        BEGIN
            UPDATE runs SET is_simulation = (
                lower(json_extract(new.tags_json, '$.simulation')) = 'true'
                OR json_type(new.tags_json, '$.simulation') = 'true'
            ) IS 1 WHERE run_no = new.run_no;
        END;

        DROP INDEX idx_runs_started;
        CREATE INDEX idx_runs_started ON runs (started_at, id, cost_usd, status, is_simulation);
        DROP INDEX idx_runs_status;
        CREATE INDEX idx_runs_status ON runs (status, started_at, id, cost_usd, is_simulation);
        DROP INDEX idx_runs_agent;
        CREATE INDEX idx_runs_agent
            ON runs (agent_id, started_at, id, cost_usd, status, is_simulation);
        DROP INDEX idx_runs_agent_status;
        CREATE INDEX idx_runs_agent_status
            ON runs (agent_id, status, started_at, id, cost_usd, is_simulation);
        DROP INDEX idx_runs_cost;
        CREATE INDEX idx_runs_cost ON runs (cost_usd, started_at, run_no, status, is_simulation);
        CREATE INDEX idx_runs_ended
            ON runs (ended_at, started_at, run_no, status, cost_usd, is_simulation);
        CREATE INDEX idx_runs_duration
            ON runs (duration_ns, started_at, run_no, status, cost_usd, is_simulation);
        CREATE INDEX idx_runs_actions
            ON runs (action_count, started_at, run_no, status, cost_usd, is_simulation);
        CREATE INDEX idx_runs_success ON runs (
            (CASE WHEN action_count > 0 THEN CAST(success_count AS REAL) / action_count END),
            started_at, run_no, status, cost_usd, is_simulation
        );
        CREATE INDEX idx_runs_agent_cost
            ON runs (agent_id, cost_usd, started_at, run_no, status, is_simulation);
        CREATE INDEX idx_runs_agent_ended
            ON runs (agent_id, ended_at, started_at, run_no, status, cost_usd, is_simulation);
        CREATE INDEX idx_runs_agent_duration
            ON runs (agent_id, duration_ns, started_at, run_no, status, cost_usd, is_simulation);
        CREATE INDEX idx_runs_agent_actions
            ON runs (agent_id, action_count, started_at, run_no, status, cost_usd, is_simulation);
        CREATE INDEX idx_runs_agent_success ON runs (
            agent_id,
            (CASE WHEN action_count > 0 THEN CAST(success_count AS REAL) / action_count END),
            started_at, run_no, status, cost_usd, is_simulation
        );
        -- The Activity Ledger: every action in a narrow row of its own (the actions table's
        -- rows carry their payloads), under a small "stream" number that stands for its run's
        -- agent and model and its own kind, name and outcome. Each order (time, cost,
        -- duration) is one index led by the stream, so those five filters pick streams from a
        -- table of a few hundred rows and every page merges one exact index range per stream;
        -- time, cost and duration are checked inside the index. The writer adds the row with
        -- the action (store.ledger_rows), in the same transaction: a trigger on inserting
        -- actions would journal every row of a bulk insert (see migration 10).
        CREATE TABLE ledger_streams (
            id       INTEGER PRIMARY KEY,
            agent_id TEXT NOT NULL,  -- '' for runs without an agent
            model    TEXT NOT NULL,
            kind     TEXT NOT NULL,
            name     TEXT NOT NULL,
            outcome  TEXT NOT NULL,
            UNIQUE (agent_id, model, kind, name, outcome)
        );
        INSERT INTO ledger_streams (agent_id, model, kind, name, outcome)
            SELECT DISTINCT coalesce(r.agent_id, ''), r.model, a.kind, a.name, a.outcome
            FROM actions a JOIN runs r ON r.run_no = a.run_no;
        CREATE TABLE ledger_actions (
            run_no      INTEGER NOT NULL REFERENCES runs(run_no) ON DELETE CASCADE,
            seq         INTEGER NOT NULL,
            stream      INTEGER NOT NULL,
            started_at  INTEGER NOT NULL,
            cost_usd    REAL,
            duration_ns INTEGER,
            PRIMARY KEY (run_no, seq)
        ) WITHOUT ROWID;
        INSERT INTO ledger_actions (run_no, seq, stream, started_at, cost_usd, duration_ns)
            SELECT a.run_no, a.seq, s.id, a.started_at, a.cost_usd, a.duration_ns
            FROM actions a JOIN runs r ON r.run_no = a.run_no
            JOIN ledger_streams s ON s.agent_id = coalesce(r.agent_id, '') AND s.model = r.model
                AND s.kind = a.kind AND s.name = a.name AND s.outcome = a.outcome;
        CREATE INDEX idx_ledger_time
            ON ledger_actions (stream, started_at, run_no, seq, cost_usd, duration_ns);
        CREATE INDEX idx_ledger_cost
            ON ledger_actions (stream, cost_usd, started_at, run_no, seq, duration_ns);
        CREATE INDEX idx_ledger_duration
            ON ledger_actions (stream, duration_ns, started_at, run_no, seq, cost_usd);
        -- A run's model or agent set later (a trace extending an external run names its
        -- model): its actions move to the streams of the new pair. An agent's deletion (SET
        -- NULL) leaves them under its id: no filter can name a deleted agent.
        CREATE TRIGGER ledger_run_retagged AFTER UPDATE OF agent_id, model ON runs
        WHEN new.model IS NOT old.model
            OR (new.agent_id IS NOT NULL AND new.agent_id IS NOT old.agent_id)
        BEGIN
            INSERT OR IGNORE INTO ledger_streams (agent_id, model, kind, name, outcome)
                SELECT DISTINCT coalesce(new.agent_id, ''), new.model, s.kind, s.name, s.outcome
                FROM ledger_actions l JOIN ledger_streams s ON s.id = l.stream
                WHERE l.run_no = new.run_no;
            UPDATE ledger_actions SET stream = (
                SELECT n.id FROM ledger_streams o JOIN ledger_streams n
                    ON n.agent_id = coalesce(new.agent_id, '') AND n.model = new.model
                    AND n.kind = o.kind AND n.name = o.name AND n.outcome = o.outcome
                WHERE o.id = ledger_actions.stream
            ) WHERE run_no = new.run_no;
        END;
        """,
    ),
    Migration(
        17,
        "run syncs: where and when each run was sent by cloud sync, and with what redaction",
        # The outbox forgets a run once the endpoint took it; the inspector's compliance section
        # says whether, where and when a run left the machine. One row per run (the latest
        # send), written in the transaction that acks it, with the settings it was sent under.
        """
        CREATE TABLE run_syncs (
            run_id          TEXT PRIMARY KEY,
            endpoint        TEXT NOT NULL,
            synced_at       INTEGER NOT NULL,
            include_content INTEGER NOT NULL,
            redaction_json  TEXT NOT NULL
        ) WITHOUT ROWID;
        """,
    ),
    Migration(
        18,
        "the Runs timeline and count from a rollup that keeps cost bands and simulations",
        # The Runs timeline and the Runs page's count answer a filter change on a million runs:
        # counting them one by one through an index costs up to a second or more (a minimum cost
        # that matches half the log, every run of 30 days). run_volume_rollups keeps every run
        # per UTC hour, status, agent, config version, whether it is a simulation replay, and
        # cost band: the number of COST_BAND_EDGES at or below its cost (1-2-5 steps from
        # $0.0001 to $1000; -1 without a cost), with their cost's total (every cost, as the
        # intercepts' and the tray's budget-burn check sums an agent's spend per hour). A
        # minimum cost on an edge is a range of bands; between edges, the runs of its own
        # band are counted through a cost index. Kept like
        # run_hour_rollups (migration 14): up to run_rollup_mark, folded in the same write job,
        # readers add the runs above the mark, triggers correct updates and deletes.
        # The intercepts' walk of runs with an unsuccessful action (below) reads no row.
        f"""
        CREATE TABLE run_volume_rollups (
            hour          INTEGER NOT NULL,  -- started_at / 3600000
            status        TEXT NOT NULL,
            agent_id      TEXT NOT NULL,     -- '' for runs without an agent
            version_id    TEXT NOT NULL,     -- '' for runs without a config version
            is_simulation INTEGER NOT NULL,
            band          INTEGER NOT NULL,  -- edges at or below the cost; -1 without one
            runs          INTEGER NOT NULL,
            cost_usd      REAL NOT NULL,     -- total(cost_usd): every cost, whatever its source
            PRIMARY KEY (hour, status, agent_id, version_id, is_simulation, band)
        ) WITHOUT ROWID;

        INSERT INTO run_volume_rollups
            SELECT started_at / 3600000, status, coalesce(agent_id, ''),
                   coalesce(agent_version_id, ''), is_simulation,
                   {COST_BAND_SQL.format(cost="cost_usd")}, count(*), total(cost_usd)
            FROM runs WHERE run_no <= (SELECT run_no FROM run_rollup_mark WHERE id = 1)
            GROUP BY 1, 2, 3, 4, 5, 6;

        CREATE TRIGGER run_volume_rollups_delete AFTER DELETE ON runs
        WHEN old.run_no <= (SELECT run_no FROM run_rollup_mark WHERE id = 1)
        BEGIN
{_VOLUME_TAKE_OLD}
        END;

        CREATE TRIGGER run_volume_rollups_update AFTER UPDATE OF
            agent_id, agent_version_id, started_at, status, cost_usd, is_simulation ON runs
        WHEN old.run_no <= (SELECT run_no FROM run_rollup_mark WHERE id = 1)
        BEGIN
{_VOLUME_TAKE_OLD}
            INSERT INTO run_volume_rollups VALUES (
                new.started_at / 3600000, new.status, coalesce(new.agent_id, ''),
                coalesce(new.agent_version_id, ''), new.is_simulation,
                {COST_BAND_SQL.format(cost="new.cost_usd")}, 1, coalesce(new.cost_usd, 0.0)
            ) ON CONFLICT DO UPDATE SET runs = runs + 1, cost_usd = cost_usd + excluded.cost_usd;
        END;

        -- The intercepts walk the runs with an unsuccessful action newest first under the
        -- page's filters, and look closer only at those whose unsuccessful share reaches the
        -- error rate: the columns they check ride along, so the walk reads no table row.
        DROP INDEX idx_runs_unsuccessful;
        CREATE INDEX idx_runs_unsuccessful ON runs (
            started_at, id, status, cost_usd, is_simulation, agent_id, action_count, success_count
        ) WHERE success_count < action_count;
        """,
    ),
)

LATEST_VERSION = MIGRATIONS[-1].version
