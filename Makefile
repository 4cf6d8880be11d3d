# Two commands do everything on a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8
LOCK := requirements/test.lock
# The library alone (`pip install keras-vertex-zoo`, no extras), pinned to the same versions.
LIBRARY_LOCK := requirements/library.lock
STAMP := $(VENV)/.installed
# Keep TensorFlow quiet and on the CPU unless the user says otherwise.
export TF_CPP_MIN_LOG_LEVEL ?= 2
export KERAS_BACKEND ?= tensorflow

.PHONY: venv demo test test-slow test-all lock bench clean readme

venv: $(STAMP)

# Bytecode is compiled once at install: where PYTHONDONTWRITEBYTECODE is set (as on these machines) Python would
# otherwise recompile TensorFlow's sources in every process, 9 s instead of 4 for each pipeline step's import.
$(STAMP): $(LOCK) pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q "uv==$(UV_VERSION)"
	$(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python -r $(LOCK)
	$(BIN)/uv pip install -q --python $(BIN)/python --no-deps --config-settings editable_mode=compat -e .
	$(BIN)/python -m compileall -q zoo pipelines components benchmarks
	touch $@

demo: $(STAMP)
	$(BIN)/zoo run lenet5 --local --root runs/demo

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow -q

test-all: test test-slow

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

# Re-resolve the pinned set after changing pyproject.toml's dependencies.
lock:
	$(BIN)/uv pip compile pyproject.toml --extra pipelines --extra test --python-version 3.11 \
		--python-platform x86_64-manylinux_2_28 -o $(LOCK)
	$(BIN)/uv pip compile pyproject.toml --python-version 3.11 --constraint $(LOCK) \
		--python-platform x86_64-manylinux_2_28 -o $(LIBRARY_LOCK)

clean:
	rm -rf $(VENV) runs .pytest_cache

# Regenerate the README's model table from the registry (a test fails when it is stale).
readme: $(STAMP)
	$(BIN)/python -m zoo.readme README.md
