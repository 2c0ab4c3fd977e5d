#!/usr/bin/env bash
# Re-capture what the real Claude Code and Codex CLIs print, as fixtures for the parsers' tests.
#
#   bash scripts/capture-cli-fixtures.sh [DIR_WITH_NODE_MODULES]
#
# Installs @anthropic-ai/claude-code and @openai/codex with npm into DIR (default
# /tmp/ato-clis) when they are not there, then runs each scenario of
# tests/runtimes/fixtures/scenarios/ in a network namespace of its own (`unshare -n`, needs
# root): the loopback fake (tests/fakes/serve.py) is the only server the CLIs can reach, so
# nothing leaves the machine. Claude Code is pointed at it with ANTHROPIC_BASE_URL, Codex with a
# model provider in a throwaway CODEX_HOME. The streams land in
# tests/runtimes/fixtures/claude-code-<version>/ and codex-<version>/. Tests never run this:
# they read the committed fixtures.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
clis=${1:-/tmp/ato-clis}
python=${PYTHON:-$repo/.venv/bin/python}
[ -x "$python" ] || python=/work/main/.venv/bin/python
if [ ! -x "$clis/node_modules/.bin/claude" ] || [ ! -x "$clis/node_modules/.bin/codex" ]; then
    mkdir -p "$clis"
    npm install --prefix "$clis" --no-audit --no-fund @anthropic-ai/claude-code @openai/codex
fi
claude_version=$("$clis/node_modules/.bin/claude" --version | awk '{print $1}')
codex_version=$("$clis/node_modules/.bin/codex" --version | awk '{print $2}')
scenarios=$repo/tests/runtimes/fixtures/scenarios
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
port=18080

# One capture: scenario file, output file, then the command (run in $scratch/work).
capture() {
    local scenario=$1 out=$2
    shift 2
    rm -rf "$scratch/work" "$scratch/home" && mkdir -p "$scratch/work" "$scratch/home/.codex"
    cat > "$scratch/codex-config.toml" <<TOML
model_provider = "fake"
[model_providers.fake]
name = "Loopback fake"
base_url = "http://127.0.0.1:$port/v1"
env_key = "OPENAI_API_KEY"
wire_api = "responses"
request_max_retries = 1
stream_max_retries = 0
TOML
    cp "$scratch/codex-config.toml" "$scratch/home/.codex/config.toml"
    echo "${PROMPT:-Say hello}" | unshare -n bash -c '
        set -u
        ip link set lo up
        cd "$0" && "$1" -m tests.fakes.serve --port "$2" --scenario "$3" >/dev/null 2>&1 &
        server=$!
        for _ in $(seq 100); do
            curl -s "http://127.0.0.1:$2/_control/health" >/dev/null && break
            sleep 0.1
        done
        cd "$4/work"
        HOME="$4/home" CODEX_HOME="$4/home/.codex" \
        ANTHROPIC_BASE_URL="http://127.0.0.1:$2" ANTHROPIC_API_KEY=sk-ant-fixture-0123456789 \
        OPENAI_API_KEY=sk-proj-fixture-0123456789 CODEX_API_KEY=sk-proj-fixture-0123456789 \
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 DISABLE_AUTOUPDATER=1 DISABLE_TELEMETRY=1 \
        DISABLE_ERROR_REPORTING=1 "${@:6}" > "$5" || true
        kill $server
    ' "$repo" "$python" "$port" "$scenario" "$scratch" "$out" "$@"
    echo "captured $out"
}

claude_dir=$repo/tests/runtimes/fixtures/claude-code-$claude_version
codex_dir=$repo/tests/runtimes/fixtures/codex-$codex_version
mkdir -p "$claude_dir" "$codex_dir"
claude=("$clis/node_modules/.bin/claude" -p --output-format stream-json --verbose --include-partial-messages)
codex=("$clis/node_modules/.bin/codex" exec --json --skip-git-repo-check --sandbox read-only -)

capture "$scenarios/happy.json" "$claude_dir/happy.jsonl" "${claude[@]}" --permission-mode acceptEdits
PROMPT="Run a python script printing 42" capture "$scenarios/deny.json" "$claude_dir/deny.jsonl" \
    "${claude[@]}" --permission-mode default
PROMPT="Create a file named created_by_agent.txt" capture "$scenarios/deny_outside_workdir.json" \
    "$claude_dir/deny_outside_workdir.jsonl" "${claude[@]}" --permission-mode default
PROMPT="List /nonexistent-dir-xyz" capture "$scenarios/bash_exit.json" "$claude_dir/bash_exit.jsonl" \
    "${claude[@]}" --permission-mode acceptEdits --allowedTools Bash
PROMPT="Say hi in the shell" capture "$scenarios/bash_ok.json" "$claude_dir/bash_ok.jsonl" \
    "${claude[@]}" --permission-mode acceptEdits --allowedTools Bash
capture "$scenarios/retry.json" "$claude_dir/retry.jsonl" "${claude[@]}" \
    --permission-mode acceptEdits --model claude-haiku-4-5
capture "$scenarios/happy.json" "$codex_dir/happy.jsonl" "${codex[@]}"
capture "$scenarios/rate_limited.json" "$codex_dir/rate_limited.jsonl" "${codex[@]}"
