#!/usr/bin/env bash
# Run a command against a real, throwaway Secret Service.
#
#   scripts/with-secret-service.sh COMMAND [ARG...]
#   e.g. scripts/with-secret-service.sh .venv/bin/python -m pytest -m keyring_real tests/keyring_real
#
# What it does:
#   1. makes a temporary sandbox directory and points HOME, XDG_DATA_HOME, XDG_CONFIG_HOME,
#      XDG_CACHE_HOME and XDG_RUNTIME_DIR into it, so neither the daemon nor python-keyring can
#      read or write the caller's real keyrings or keyring config;
#   2. starts a private D-Bus session bus with dbus-run-session (the caller's session bus, if any,
#      is never used);
#   3. on that bus starts `gnome-keyring-daemon --foreground --unlock --components=secrets`, feeding
#      a random throwaway password on stdin: the daemon creates the "login" keyring with it,
#      unlocks it and makes it the default collection (what SecretStorage writes to);
#   4. waits until org.freedesktop.secrets is owned on the bus, exports
#      ATO_THROWAWAY_SECRET_SERVICE=1 (tests that write to the Secret Service refuse to run
#      without it, so they can never touch a developer's real login keyring), runs COMMAND, stops
#      the daemon, removes the sandbox and exits with COMMAND's status.
#
# COMMAND runs as a child rather than being exec'd, so that the daemon is stopped and the
# sandbox removed only after the daemon has flushed and exited (no race with rm -rf).
#
# Debian packages: dbus-daemon (dbus-run-session, dbus-daemon), dbus-bin (dbus-send),
# gnome-keyring (gnome-keyring-daemon). Install them with --no-install-recommends; gnome-keyring
# pulls in gcr and libsecret-1-0. On the Python side python-keyring talks to the daemon through
# SecretStorage and jeepney (pure Python, installed with keyring); libsecret is not used by it.
#
# Notes for containers and CI:
#   - Works as root and as an unprivileged user. gnome-keyring-daemon wants CAP_IPC_LOCK to lock
#     its memory; without it, it carries on with ordinary memory, fine for a throwaway keyring.
#   - dbus-daemon as root in a container prints "Failed to set fd limit to 65536: Operation not
#     permitted": harmless (it keeps the current limit).
#   - DISPLAY and WAYLAND_DISPLAY are unset: an unlock or confirmation prompt can then never open
#     a window (gcr-prompter fails at once and the request counts as dismissed) and a test that
#     locks the keyring gets KeyringLocked instead of hanging on a dialog.
#   - The password is exported as ATO_THROWAWAY_KEYRING_PASSWORD so tests can unlock the login
#     keyring again after locking it on purpose; it protects nothing but this sandbox.
set -euo pipefail

die() {
    echo "with-secret-service: $*" >&2
    exit 2
}

if [[ "${_ATO_SECRET_SERVICE_STAGE:-}" != inner ]]; then
    [[ $# -gt 0 ]] || die "usage: $0 COMMAND [ARG...]"
    command -v dbus-run-session >/dev/null || die "dbus-run-session not found (apt-get install dbus-daemon)"
    command -v dbus-send >/dev/null || die "dbus-send not found (apt-get install dbus-bin)"
    command -v gnome-keyring-daemon >/dev/null || die "gnome-keyring-daemon not found (apt-get install gnome-keyring)"

    sandbox="$(mktemp -d "${TMPDIR:-/tmp}/ato-secret-service.XXXXXX")"
    trap 'rm -rf "$sandbox"' EXIT
    status=0
    # The bus daemon's stderr (and so that of services it activates, such as gcr-prompter
    # failing to open a window) goes to a log file; the command gets the real stderr back
    # through fd 3.
    _ATO_SECRET_SERVICE_STAGE=inner _ATO_SECRET_SERVICE_SANDBOX="$sandbox" \
        dbus-run-session -- bash "${BASH_SOURCE[0]}" "$@" 3>&2 2>"$sandbox/dbus.log" || status=$?
    if [[ ! -e "$sandbox/started" ]]; then
        echo "with-secret-service: dbus-run-session failed (status $status):" >&2
        cat "$sandbox/dbus.log" >&2 || true
        [[ $status -ne 0 ]] || status=2
    fi
    exit "$status"
fi

# --- inner stage: inside the private session bus ---------------------------------------------
exec 2>&3 3>&-
unset _ATO_SECRET_SERVICE_STAGE
sandbox="$_ATO_SECRET_SERVICE_SANDBOX"
unset _ATO_SECRET_SERVICE_SANDBOX
: >"$sandbox/started"

export HOME="$sandbox/home"
export XDG_DATA_HOME="$HOME/.local/share"
export XDG_CONFIG_HOME="$HOME/.config"
export XDG_CACHE_HOME="$HOME/.cache"
export XDG_RUNTIME_DIR="$sandbox/run"
mkdir -p "$XDG_DATA_HOME" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME" "$XDG_RUNTIME_DIR"
chmod 700 "$sandbox" "$HOME" "$XDG_RUNTIME_DIR"
# Nothing may steer python-keyring away from the Secret Service or pop up a window.
unset PYTHON_KEYRING_BACKEND KEYRING_PROPERTY_PRIORITY GNOME_KEYRING_CONTROL SSH_AUTH_SOCK
unset DISPLAY WAYLAND_DISPLAY

password="throwaway-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
daemon_log="$sandbox/gnome-keyring.log"
printf '%s' "$password" |
    gnome-keyring-daemon --foreground --unlock --components=secrets >"$daemon_log" 2>&1 &
daemon_pid=$!

secret_service_up() {
    dbus-send --session --print-reply=literal --dest=org.freedesktop.DBus /org/freedesktop/DBus \
        org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null |
        grep -q true
}

for _ in $(seq 100); do  # up to ~10 s; it usually takes a fraction of a second
    secret_service_up && break
    kill -0 "$daemon_pid" 2>/dev/null || break
    sleep 0.1
done
if ! secret_service_up; then
    echo "with-secret-service: gnome-keyring-daemon did not provide org.freedesktop.secrets" >&2
    cat "$daemon_log" >&2 || true
    kill "$daemon_pid" 2>/dev/null || true
    exit 2
fi

export ATO_THROWAWAY_SECRET_SERVICE=1
export ATO_THROWAWAY_KEYRING_PASSWORD="$password"
status=0
"$@" || status=$?

kill "$daemon_pid" 2>/dev/null || true
wait "$daemon_pid" 2>/dev/null || true
exit "$status"
