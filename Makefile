# One entry point for everything: `make demo`, `make test` (README); the rest are for developers.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export TF_CPP_MIN_LOG_LEVEL := 3
export PYTHONHASHSEED := 0

.PHONY: demo test bench fuzz corpus scoreboard clients lint clean docs docs-bugs docs-port docs-tutorial docs-checker docs-pictures

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt torch==2.13.0
	$(PY) -m pip install -q -c constraints.txt -e '.[all,jax,ray,hf,test,lint,docs,infer,clients]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) examples/demo.py
	$(PY) examples/common_bugs.py

# The page of common bugs is the real output of the script (a test keeps them in sync).
docs-bugs: $(STAMP)
	$(PY) examples/common_bugs.py --markdown > docs/common-bugs.md

# The porting tutorial in docs/porting.md is the real output of its script (a test checks).
docs-port: $(STAMP)
	$(PY) examples/porting_tutorial.py --write

# The pictures in docs/pictures.md are drawn by the real code (a test checks docs/img/).
docs-pictures: $(STAMP)
	$(PY) examples/pictures.py

# The seed scenarios as a tutorial, Keras and PyTorch side by side, from a real run (a test checks).
docs-tutorial: $(STAMP)
	$(PY) examples/seed_tutorial.py --markdown > docs/tutorial.md

# The generated checkers shown in docs/checker.md (a test checks they are today's).
docs-checker: $(STAMP)
	$(PY) examples/checker_page.py --write

test: $(STAMP)
	$(PY) -m pytest -q

# Timings: medians and ratios against baselines measured in the same run.
bench: $(STAMP)
	$(PY) benchmarks/bench_call_overhead.py
	$(PY) benchmarks/bench_contract_derivation.py
	$(PY) benchmarks/bench_streams.py
	$(PY) benchmarks/bench_guard.py
	$(PY) benchmarks/bench_port.py
	$(PY) benchmarks/bench_validate.py
	$(PY) benchmarks/bench_ray.py
	$(PY) benchmarks/bench_picture.py
	$(PY) benchmarks/bench_infer.py
	$(PY) benchmarks/bench_training_loop.py
	$(PY) benchmarks/bench_new_shapes.py
	$(PY) benchmarks/bench_pytree.py

# The docs site (mkdocs-material + mkdocstrings), strict: a broken link or reference fails.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir site

# Lint is part of done: ruff and mypy --strict (configured in pyproject.toml), run by CI.
lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks examples
	$(VENV)/bin/mypy

# Long property runs (the test suite runs a bounded slice): ~120k cases in all, 5 hypothesis
# tests x 24,500 examples + 4 differential loops x 500 (docs/guarantees.md).
fuzz: $(STAMP)
	SHAPECONTRACT_FUZZ_EXAMPLES=24500 SHAPECONTRACT_DIFF_CASES=500 \
		$(PY) -m pytest -q -s tests/test_agreement.py tests/test_differential.py \
		tests/test_fuzz_hostile.py tests/test_fuzz_losses.py tests/test_safety.py

# Every program of the correct-program corpora (make test runs a slice of the Keras ones).
corpus: $(STAMP)
	SHAPECONTRACT_CORPUS=all SHAPECONTRACT_SCOREBOARD=all $(PY) -m pytest -q \
		tests/test_corpus_keras.py tests/test_corpus_torch.py tests/test_corpus_targets.py \
		tests/test_scoreboard.py

# The public corpus of real shape bugs (tests/bugs, docs/scoreboard.md): caught / explained /
# right fix / false alarms per framework and kind (make test runs a bounded slice).
scoreboard: $(STAMP)
	$(PY) benchmarks/scoreboard.py

# Real clients (docs/real-code.md): equinox, lineax and optimistix's own test subsets, plain and
# under install_import_hook, with tests, functions hooked, skips, checks run and time. Their test
# files come from a git repository of each client (CLIENTS_SRC=DIR holding DIR/equinox, ...),
# taken at the release tag into .clients/ (gitignored); make test runs a bounded slice.
clients: $(STAMP)
	SHAPECONTRACT_CLIENTS_SRC=$(CLIENTS_SRC) $(PY) benchmarks/clients.py --json .clients/figures.json

clean:
	rm -rf $(VENV) build dist site .pytest_cache
