"""The execution log's schema as an ordered list of migrations, recorded in the database.

Conventions: timestamps are epoch milliseconds (INTEGER), durations nanoseconds; ids of runs,
agents, versions and threads are UUIDv7 hex (time-sortable). Runs carry an integer key (`run_no`)
that actions reference: with 10M actions a 32-character text key in every action row and index
would cost more than half a gigabyte.
"""

from __future__ import annotations

from dataclasses import dataclass

# "ATO1" as a big-endian int: tells our files apart from any other SQLite database.
APPLICATION_ID = 0x41544F31


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


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
        # 19, not 11: numbers were handed out per helper to avoid clashes; renumber to the next
        # free one at merge time (nothing refers to the number but this line).
        19,
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
)

LATEST_VERSION = MIGRATIONS[-1].version
