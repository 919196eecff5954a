# Set-up, build, test and demo. `make` is idempotent and incremental: with nothing changed it only checks.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
PYTHON ?= python3.11
VENV := .venv
DEPS_STAMP := $(VENV)/.deps-stamp
BUILD_STAMP := install/.build-stamp
# Files the colcon install space mirrors (symlink install: content edits are live, new files need a build).
SOURCES := $(shell find accident_anticipation_ros training msg launch config models scripts \
             -type f -not -path '*/__pycache__/*' 2>/dev/null | sort) package.xml CMakeLists.txt
ENV := source scripts/env.sh

.PHONY: all setup build test lint demo clean
all: build

setup: $(DEPS_STAMP)

$(DEPS_STAMP): requirements.txt scripts/fix_ros_wheel_cmake.py
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --disable-pip-version-check -q -r requirements.txt
	$(VENV)/bin/python scripts/fix_ros_wheel_cmake.py
	@touch $(VENV)/COLCON_IGNORE $@

build: $(BUILD_STAMP)

$(BUILD_STAMP): $(DEPS_STAMP) $(SOURCES)
	$(ENV) && colcon build --base-paths . --packages-select accident_anticipation_ros \
	  --symlink-install --event-handlers console_direct- summary+ \
	  --cmake-args -DBUILD_TESTING=OFF -DPython3_EXECUTABLE=$$VIRTUAL_ENV/bin/python
	@touch $@

lint: $(DEPS_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# pytest exits 5 when no test ran, which fails this target as it should.
test: build lint
	$(ENV) && pytest

# The main job on a fresh machine: set up, then synthetic bag -> node over DDS -> metrics, report, video.
demo: build
	./accident-anticipation demo --out demo_out

clean:
	rm -rf build install log
