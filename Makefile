# tgwebhook: `make run` (demo appliance) and `make test` (whole suite) work on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run serve test lint format bench dashboards clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.deps: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev-deps: requirements-dev.txt requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@ $(VENV)/.deps

data/secret_token:
	@mkdir -p data
	@umask 077; $(BIN)/python -c "import secrets; print(secrets.token_urlsafe(32))" > $@
	@echo "Generated a webhook secret token (shown once, kept in $@): $$(cat $@)"

# The appliance on SQLite with a generated secret (demo mode with the simulator replaces this).
run: $(VENV)/.deps data/secret_token
	TGWEBHOOK_SECRET_TOKEN_FILE=data/secret_token $(BIN)/python app.py serve

serve: $(VENV)/.deps
	$(BIN)/python app.py serve

test: $(VENV)/.dev-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q

lint: $(VENV)/.dev-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.dev-deps
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(VENV)/.dev-deps
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
