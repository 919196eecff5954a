# Set-up, build, test and demo. `make` is idempotent and incremental: with nothing changed it only checks.
# ROS_DISTRO selects the ROS 2 wheels (requirements/<distro>.txt); Jazzy is the default and keeps the
# plain names (.venv, build/, install/, log/), other distros get their own suffixed copies
# (`make test ROS_DISTRO=kilted`: .venv-kilted, build-kilted/, install-kilted/, log-kilted/), so that
# both live in one checkout. scripts/env.sh applies the same naming rule.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
PYTHON ?= python3.11
ROS_DISTRO ?= jazzy
DISTROS := jazzy kilted
ifeq ($(filter $(ROS_DISTRO),$(DISTROS)),)
$(error ROS_DISTRO=$(ROS_DISTRO): wheels exist for $(DISTROS) only (Humble: see the README))
endif
export ROS_DISTRO
SUFFIX := $(if $(filter jazzy,$(ROS_DISTRO)),,-$(ROS_DISTRO))
VENV := .venv$(SUFFIX)
BUILD_BASE := build$(SUFFIX)
INSTALL_BASE := install$(SUFFIX)
LOG_BASE := log$(SUFFIX)
DEPS_STAMP := $(VENV)/.deps-stamp
BUILD_STAMP := $(INSTALL_BASE)/.build-stamp
REQUIREMENTS := requirements/core.txt requirements/common.txt requirements/$(ROS_DISTRO).txt
# Files the colcon install space mirrors (symlink install: content edits are live, new files need a build).
SOURCES := $(shell find accident_anticipation_ros training msg launch config models scripts \
             -type f -not -path '*/__pycache__/*' 2>/dev/null | sort) package.xml CMakeLists.txt
ENV := source scripts/env.sh

# The ROS-free core under Python 3.10 (Humble's and JetPack 6's Python): requirements/core.txt only, the
# source package linked into the venv as colcon's symlink install does. Tests that need torch, rclpy or
# the colcon build skip themselves (pytest.importorskip); this list names the core's test files.
PYTHON310 ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.10.*/bin/python3.10) $(shell command -v python3.10))
VENV310 := .venv-py310
DEPS310_STAMP := $(VENV310)/.deps-stamp
CORE_TESTS := test/test_conversions.py test/test_metrics.py test/test_parameters.py \
              test/test_visualization.py test/test_frame_slots.py test/test_stream_stats.py \
              test/test_humble_api.py test/runtime test/bag test/replay

.PHONY: all setup build test test-distro test-py310 lint demo clean
all: build

setup: $(DEPS_STAMP)

# A first install needs ~6.5 GB (torch 2.14.1's x86_64 wheel is the CUDA build: nvidia-* 3.2 GB, triton
# 0.9 GB): say so before pip starts rather than stop half-way with "No space left on device".
NEED_FREE_GB := 7
$(DEPS_STAMP): $(REQUIREMENTS) scripts/fix_ros_wheel_cmake.py
	@if ! ls -d $(VENV)/lib/python3*/site-packages/torch >/dev/null 2>&1; then \
	  read -r free_kb mount < <(df -Pk . | awk 'NR == 2 {print $$4, $$6}'); \
	  if [ "$$free_kb" -lt $$(($(NEED_FREE_GB) * 1024 * 1024)) ]; then \
	    echo "setup: $$((free_kb / 1024)) MiB free on $$mount; $(VENV) needs about" \
	      "$(NEED_FREE_GB) GB (torch's CUDA build). Free some space and run make again." >&2; exit 1; fi; fi
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	@touch $(VENV)/COLCON_IGNORE
	$(VENV)/bin/python -m pip install --disable-pip-version-check -q -r requirements/$(ROS_DISTRO).txt
	$(VENV)/bin/python scripts/fix_ros_wheel_cmake.py
	@touch $@

build: $(BUILD_STAMP)

$(BUILD_STAMP): $(DEPS_STAMP) $(SOURCES)
	$(ENV) && colcon --log-base $(LOG_BASE) build --base-paths . --packages-select accident_anticipation_ros \
	  --build-base $(BUILD_BASE) --install-base $(INSTALL_BASE) \
	  --symlink-install --event-handlers console_direct- summary+ \
	  --cmake-args -DBUILD_TESTING=OFF -DPython3_EXECUTABLE=$$VIRTUAL_ENV/bin/python
	@touch $@

lint: $(DEPS_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Every target fails on a non-zero pytest exit, 5 ("no tests ran") included: no `|| true` anywhere.
# `make test`: the whole suite under $(ROS_DISTRO), then the ROS-free core under Python 3.10.
test: test-distro test-py310

test-distro: build lint
	$(ENV) && pytest

$(DEPS310_STAMP): requirements/core.txt
	@test -x $(VENV310)/bin/python || $(PYTHON310) -m venv $(VENV310)
	@touch $(VENV310)/COLCON_IGNORE
	$(VENV310)/bin/python -m pip install --disable-pip-version-check -q -r requirements/core.txt
	ln -sfn "$(CURDIR)/accident_anticipation_ros" \
	  "$$($(VENV310)/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/accident_anticipation_ros"
	@touch $@

ifeq ($(PYTHON310),)
test-py310:
	@echo "test-py310: SKIPPED: no Python 3.10 interpreter (pyenv 3.10.x or python3.10 on PATH; or PYTHON310=...)"
else
test-py310: $(DEPS310_STAMP)
	PYTHONDONTWRITEBYTECODE=1 $(VENV310)/bin/python -m pytest -q $(CORE_TESTS)
endif

# The main job on a fresh machine: set up, then synthetic bag -> node over DDS -> metrics, report, video.
demo: build
	./accident-anticipation demo --out demo_out$(SUFFIX)

clean:
	rm -rf $(BUILD_BASE) $(INSTALL_BASE) $(LOG_BASE)
