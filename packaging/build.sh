#!/usr/bin/env bash
# Build the one-dir bundle and the install tree, then smoke-test them (`make package` runs this
# after installing PyInstaller and the validators). From the repository root:
#   bash packaging/build.sh
# Outputs (none committed):
#   dist/ato-desktop/                        the PyInstaller bundle (run dist/ato-desktop/ato-desktop)
#   dist/install/usr/...                     bin/, lib/ato-desktop/, share/{applications,metainfo,icons}
#   dist/ato-desktop-VERSION-linux-ARCH.tar.gz  that tree, to unpack under /usr or ~/.local
#   dist/smoke-home/                         the data directory the smoke test left (a real log)
set -euo pipefail
cd "$(dirname "$0")/.."

PY=.venv/bin/python
APP_ID=dev.ato.Desktop
SMOKE_TIMEOUT=${SMOKE_TIMEOUT:-180}
VERSION=$($PY -c 'import ato_desktop; print(ato_desktop.__version__)')
ARCH=$(uname -m)
BUNDLE=dist/ato-desktop
INSTALL=dist/install/usr
TARBALL=dist/ato-desktop-$VERSION-linux-$ARCH.tar.gz
SMOKE_HOME=dist/smoke-home
started=$(date +%s)

step() { printf '\n== %s\n' "$*"; }

step "desktop entry, AppStream metainfo and icons"
desktop-file-validate "packaging/linux/$APP_ID.desktop"
appstreamcli validate --no-net "packaging/linux/$APP_ID.metainfo.xml"
QT_QPA_PLATFORM=offscreen $PY packaging/linux/render_icons.py --check
echo "icons match resources/icons/ato-desktop.svg"

step "PyInstaller one-dir bundle -> $BUNDLE/"
$PY -m PyInstaller --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller \
  packaging/ato-desktop.spec
echo "bundle: $(du -sh "$BUNDLE" | cut -f1) ($(find "$BUNDLE" -type f | wc -l) files)"

step "smoke test: $BUNDLE/ato-desktop self-test (offscreen)"
rm -rf "$SMOKE_HOME"
QT_QPA_PLATFORM=offscreen timeout "$SMOKE_TIMEOUT" "$BUNDLE/ato-desktop" self-test \
  --data-dir "$SMOKE_HOME"

if command -v xvfb-run >/dev/null 2>&1; then
  step "smoke test on a virtual X display (xcb)"
  QT_QPA_PLATFORM=xcb timeout "$SMOKE_TIMEOUT" xvfb-run -a "$BUNDLE/ato-desktop" self-test
else
  step "no xvfb-run: skipped the xcb smoke test"
fi

step "install tree -> $INSTALL/"
rm -rf dist/install
mkdir -p "$INSTALL/bin" "$INSTALL/lib" "$INSTALL/share/applications" "$INSTALL/share/metainfo" \
  "$INSTALL/share/icons"
cp -a "$BUNDLE" "$INSTALL/lib/ato-desktop"
ln -s ../lib/ato-desktop/ato-desktop "$INSTALL/bin/ato-desktop"
install -m 0644 "packaging/linux/$APP_ID.desktop" "$INSTALL/share/applications/"
install -m 0644 "packaging/linux/$APP_ID.metainfo.xml" "$INSTALL/share/metainfo/"
cp -r packaging/linux/icons/hicolor "$INSTALL/share/icons/"
tar -czf "$TARBALL" -C "$INSTALL" --owner=0 --group=0 bin lib share
echo "$TARBALL: $(du -h "$TARBALL" | cut -f1)"

step "the archive unpacked elsewhere: its bin/ato-desktop runs the CLI on the smoke-test log"
rm -rf dist/unpacked && mkdir -p dist/unpacked && tar -xzf "$TARBALL" -C dist/unpacked
CLI=dist/unpacked/bin/ato-desktop
timeout 60 "$CLI" --version
export ATO_HOME="$SMOKE_HOME" ATO_OFFLINE=1 NO_PROXY=127.0.0.1,localhost
# Never the builder's own keyring: keys come from the environment here.
export PYTHON_KEYRING_BACKEND=keyring.backends.fail.Keyring
timeout 60 "$CLI" demo --runs 100

step "the bundle streams from providers and talks to an MCP server (loopback fakes, tests/fakes)"
# The fakes speak the real Anthropic and OpenAI wire formats (SSE) and MCP over stdio; they run
# on the build venv's Python, the app under test is the unpacked bundle.
coproc FAKE { exec "$PY" -m tests.fakes.serve --port 0; }
FAKE_SERVER=$FAKE_PID
trap 'kill "$FAKE_SERVER" 2>/dev/null || true' EXIT
read -r FAKE_URL <&"${FAKE[0]}"
ANTHROPIC_API_KEY=sk-ant-package-smoke ANTHROPIC_BASE_URL="$FAKE_URL" timeout 60 "$CLI" \
  dispatch --runtime claude --model claude-sonnet-4-5 "Say hello"
OPENAI_API_KEY=sk-package-smoke timeout 60 "$CLI" \
  dispatch --runtime codex --model gpt-5 --base-url "$FAKE_URL/v1" "Say hello"
kill "$FAKE_SERVER"
timeout 60 "$CLI" mcp add smoke-tools --command "$PWD/$PY" --arg=-m --arg tests.fakes.mcp_server \
  --arg=--stdio --env "PYTHONPATH=$PWD"
timeout 60 "$CLI" mcp test smoke-tools
timeout 60 "$CLI" runs list --limit 4
rm -rf dist/unpacked

step "done in $(($(date +%s) - started)) s"
echo "bundle $BUNDLE/ $(du -sh "$BUNDLE" | cut -f1), archive $TARBALL $(du -h "$TARBALL" | cut -f1)"
echo "run it: $BUNDLE/ato-desktop   install it: tar -xzf $TARBALL -C ~/.local (or sudo ... -C /usr)"
