# ATO Desktop: `make run` starts the app, `make test` runs every check. Both set themselves up.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEPS_STAMP := $(VENV)/.deps-stamp

# Debian packages: Qt's runtime libraries, a virtual display, and a Secret Service for the
# keyring tests. Installed when missing and we are root; otherwise the command is printed.
QT_PACKAGES := libegl1 libgl1 libopengl0 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 \
	libfreetype6 libdbus-1-3 libglib2.0-0 libx11-xcb1 libxcb-cursor0 libxcb-icccm4 \
	libxcb-keysyms1 libxcb-shape0 libxcb-xinerama0 libxcb-randr0 libxcb-render-util0 \
	libxcb-image0 libxcb-xkb1 libsm6 libice6 fonts-dejavu-core
RUN_PACKAGES := python3-venv $(QT_PACKAGES)
TEST_PACKAGES := $(RUN_PACKAGES) xvfb xauth dbus dbus-x11 gnome-keyring desktop-file-utils
# `make package`: PyInstaller's binary analysis (objdump) and the AppStream validator.
PACKAGE_PACKAGES := $(TEST_PACKAGES) binutils appstream
PACKAGE_STAMP := $(VENV)/.package-stamp

.PHONY: run test check lint typecheck importlint pytest bench screenshots system-packages-run \
	system-packages-test venv clean package fuzz

run: system-packages-run $(DEPS_STAMP)
	$(BIN)/ato-desktop

test: system-packages-test $(DEPS_STAMP) check

check: lint typecheck importlint pytest

lint: $(DEPS_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(DEPS_STAMP)
	$(BIN)/mypy

importlint: $(DEPS_STAMP)
	$(BIN)/lint-imports

# The whole suite runs inside a throwaway D-Bus session with gnome-keyring, so the keyring tests
# talk to a real Secret Service; every other test uses an in-memory keyring.
# Three workers (pytest-xdist), each file's tests on one worker in order; PYTEST_WORKERS=0 runs
# them in this process. Three on a 2-core machine: many tests wait (on subprocesses, timers,
# sockets), and a fresh clone measured 12 min 5 s with three against 13 min 21 s with two.
PYTEST_WORKERS ?= 3
pytest: $(DEPS_STAMP)
	ATO_REQUIRE_SECRET_SERVICE=1 QT_QPA_PLATFORM=offscreen \
		bash scripts/with-secret-service.sh $(BIN)/python -m pytest \
		-n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# Every benchmark, figures against same-run baselines, into docs/benchmarks.md. The first run
# builds the 1,000,000-run / 10,000,000-action workspace in .bench/ (about half an hour, 15 GB).
bench: $(DEPS_STAMP)
	$(BIN)/python -m benchmarks.run_all

# Coverage-guided fuzzing (atheris, the `fuzz` extra) of the byte-level parsers: each harness in
# fuzz/ for FUZZ_SECONDS (default 60), printing its runs and crashes (docs/fuzzing.md). The
# hypothesis properties run in `make test`; thousands of examples each with ATO_FUZZ=deep.
FUZZ_SECONDS ?= 60
fuzz: $(DEPS_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,fuzz]'
	$(BIN)/python fuzz/run_all.py --seconds $(FUZZ_SECONDS)

# Screenshots of every main view with the demo workspace, light and dark, on a virtual display
# (with a throwaway keyring, so Settings shows keys as a user with a keyring sees them).
screenshots: system-packages-test $(DEPS_STAMP)
	bash scripts/with-secret-service.sh \
		xvfb-run -a -s "-screen 0 1600x1000x24" $(BIN)/python scripts/screenshots.py

# The PyInstaller one-dir bundle dist/ato-desktop/, an install tree and its tar.gz, each
# smoke-tested (packaging/README.md).
package: $(DEPS_STAMP) $(PACKAGE_STAMP)
	@bash scripts/ensure-system-packages.sh $(PACKAGE_PACKAGES)
	bash packaging/build.sh

$(PACKAGE_STAMP): pyproject.toml $(DEPS_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,package]'
	touch $(PACKAGE_STAMP)

venv: $(DEPS_STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(DEPS_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(DEPS_STAMP)

system-packages-run:
	@bash scripts/ensure-system-packages.sh $(RUN_PACKAGES)

system-packages-test:
	@bash scripts/ensure-system-packages.sh $(TEST_PACKAGES)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist *.egg-info
