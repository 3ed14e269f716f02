# The two sacred commands: `make demo` and `make test`. Both create the virtual environment.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
UV_VERSION := 0.9.30

.PHONY: demo test lint bench clean

$(STAMP): requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found; set PYTHON=/path/to/python3.11"; exit 2; }
	@# The environment has no pip of its own: uv installs it (in parallel; pip took three times as
	@# long) and is itself installed by the interpreter's pip. A venv with pip costs 7 s more to create
	@# and 500 more files to compile. Without a usable pip outside, the venv gets pip (ensurepip) and
	@# installs uv, or everything, with it.
	$(PYTHON) -m venv --without-pip $(VENV)
	@if $(PYTHON) -m pip --python $(BIN)/python install --quiet --disable-pip-version-check uv==$(UV_VERSION) 2>/dev/null \
	   || { $(BIN)/python -m ensurepip --default-pip >/dev/null 2>&1 && \
	        $(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION) 2>/dev/null; }; then \
	  $(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements.lock && \
	  $(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e . ; \
	else \
	  { [ -x $(BIN)/pip ] || $(BIN)/python -m ensurepip --default-pip >/dev/null; } && \
	  $(BIN)/pip install --quiet -r requirements.lock && $(BIN)/pip install --quiet --no-deps -e . ; \
	fi
	@# Bytecode is compiled at install, so a first run does not pay for it; the libraries' own test
	@# suites (a quarter of their files, never imported by a run) are left out. A library's file for a
	@# newer Python (whenever/_typing_312.py) does not compile and is never imported: not a failure.
	$(BIN)/python -m compileall -q -j 0 -x '/tests?/' $$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') >/dev/null || true
	@# The project's own modules too: with PYTHONDONTWRITEBYTECODE set (as on this machine) every
	@# process would compile them again (a quarter of a second in each of some thirty processes of a test run).
	$(BIN)/python -m compileall -q -j 0 innomon tasks flows schemas deployments >/dev/null
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/innomon demo --out demo-output

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache  # the layers of pyproject.toml (docs/architecture.md)
	$(BIN)/python -m pytest -q -n auto --dist loadfile --no-loadscope-reorder

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

bench: $(STAMP)
	$(BIN)/python bench/run_annual.py

clean:
	rm -rf demo-output .pytest_cache
