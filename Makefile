# The two set-up commands of the README.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test test-repeat docs docs-figures format clean

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
	$(BIN)/lint-imports --no-cache
	$(BIN)/pytest -n auto --dist loadgroup

# make test-repeat N=20 K='distributed or terminated': the tests pytest -k K selects, N runs in a
# row, each as make test runs them (one worker per core); a failed run's output is kept in
# runs/test-repeat/run-I.log, and the target fails unless every run passed.
N ?= 20
K ?=
test-repeat: $(VENV)/.installed
	@mkdir -p runs/test-repeat; passed=0; \
	for i in $$(seq 1 $(N)); do \
	  start=$$(date +%s); \
	  if $(BIN)/pytest -n auto --dist loadgroup -p no:cacheprovider -k "$(K)" > runs/test-repeat/run-$$i.log 2>&1; \
	  then passed=$$((passed + 1)); echo "run $$i: passed ($$(( $$(date +%s) - start )) s)"; rm runs/test-repeat/run-$$i.log; \
	  else echo "run $$i: FAILED ($$(( $$(date +%s) - start )) s), output in runs/test-repeat/run-$$i.log"; fi; \
	done; \
	echo "$$passed of $(N) runs passed: pytest -k '$(K)'"; test $$passed -eq $(N)

docs: $(VENV)/.installed
	$(BIN)/python -m tndnas.config.reference docs/configuration.md

# the transcripts the docs quote, made anew by running their commands (about 20 minutes; run it
# alone: its timings are this machine's). NB201_TABLE=FILE.csv adds the NAS-Bench-201 lookup.
docs-figures: $(VENV)/.installed
	$(BIN)/python -m benchmarks.docs_figures

format: $(VENV)/.installed
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

clean:
	rm -rf $(VENV) runs .pytest_cache
