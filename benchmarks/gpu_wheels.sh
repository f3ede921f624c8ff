#!/usr/bin/env bash
# Fetch, on a machine with internet, the pure-Python dependencies of tndnas that a GPU host's
# ready-made PyTorch environment may lack (omegaconf and its parser runtime), as wheels in .whl/.
# benchmarks/gpu_search.sh installs them from there when `import omegaconf` fails; carry .whl/
# to the GPU host with the repository.  .whl/ is git-ignored.
set -euo pipefail
PY=${PY:-python3}
mkdir -p .whl
"$PY" -m pip download --quiet --no-deps --only-binary=:all: -d .whl omegaconf==2.3.0
# antlr4-python3-runtime 4.9.3 is published as a source archive only: build its (pure-Python) wheel
"$PY" -m pip wheel --quiet --no-deps -w .whl antlr4-python3-runtime==4.9.3
ls -l .whl
