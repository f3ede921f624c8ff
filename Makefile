# The two set-up commands of the README.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test docs format clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

demo: $(VENV)/.installed
	$(BIN)/tndnas search --preset quick --out runs/quick

test: $(VENV)/.installed
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/pytest -n auto --dist loadgroup

docs: $(VENV)/.installed
	$(BIN)/python -m tndnas.config.reference docs/configuration.md

format: $(VENV)/.installed
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

clean:
	rm -rf $(VENV) runs .pytest_cache
