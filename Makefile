# Revmentor — the two commands are `make run` and `make test`.
PYTHON ?= python3
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
DEMO_ADMIN_EMAIL ?= amara.okafor@northwind.example
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: run test test-deps install lint typecheck schema-check test-sqlite test-postgres coverage openapi bench bench-matching bench-reports bench-hris bench-graphql clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

## install: create .venv and install exactly what uv.lock pins, compiled to bytecode (every
## command and test server then starts in a third of the time, also where the environment
## forbids writing bytecode on import)
install: $(UV)
	$(UV) sync --frozen --quiet --compile-bytecode
	@$(BIN)/python -m compileall -q -j 0 app

## run: migrate, load the demo organisation if empty, print an admin token, serve
run: install
	@$(BIN)/revmentor migrate
	@$(BIN)/revmentor demo
	@echo ""
	@echo "Admin token for $(DEMO_ADMIN_EMAIL) (send as 'Authorization: Bearer <token>'):"
	@$(BIN)/revmentor token create --email $(DEMO_ADMIN_EMAIL) --role admin --name "make run" 2>/dev/null | tail -n 1
	@echo ""
	@echo "API docs:  http://$(HOST):$(PORT)/docs"
	@echo "REST base: http://$(HOST):$(PORT)/api/v1"
	@echo ""
	@$(BIN)/revmentor serve --host $(HOST) --port $(PORT) --no-migrate

## test: lint, types, schema drift, migrations and the whole suite on SQLite and PostgreSQL
test: install test-deps lint typecheck schema-check test-sqlite test-postgres coverage

OIDC := tests/oidc
$(OIDC)/node_modules/.package-lock.json: $(OIDC)/package-lock.json
	npm ci --prefix $(OIDC) --no-audit --no-fund --loglevel=error

## test-deps: the OpenID provider the SSO tests run against (Node.js; required in CI)
test-deps:
	@if command -v npm >/dev/null 2>&1; then \
		$(MAKE) --no-print-directory $(OIDC)/node_modules/.package-lock.json; \
	elif [ "$$CI" = "true" ]; then \
		echo "Node.js (npm) is required in CI for the OpenID provider tests" >&2; exit 1; \
	else \
		echo "npm not found: the OpenID provider tests are skipped (required in CI)"; \
	fi

lint:
	$(BIN)/ruff check app tests bench alembic
	$(BIN)/ruff format --check app tests bench alembic

typecheck:
	$(BIN)/mypy

schema-check:
	$(BIN)/revmentor openapi --check
	$(BIN)/revmentor graphql-schema --check

test-sqlite:
	rm -f .coverage .coverage.*
	REVMENTOR_TEST_DATABASE=sqlite COVERAGE_FILE=.coverage.sqlite \
		$(BIN)/pytest -n auto --maxprocesses=4 --cov=app --cov-report= -p no:cacheprovider

test-postgres:
	@if $(BIN)/python -m tests.postgres_available; then \
		REVMENTOR_TEST_DATABASE=postgresql \
			$(BIN)/pytest -n auto --maxprocesses=4 -p no:cacheprovider; \
	elif [ "$$CI" = "true" ]; then \
		echo "PostgreSQL is required in CI but is not reachable" >&2; exit 1; \
	else \
		echo "PostgreSQL not reachable: skipping the PostgreSQL leg (required in CI)"; \
	fi

## coverage: line coverage of app/, measured on the SQLite leg (measuring greenlet-switching
## code doubles a leg's time; the PostgreSQL leg runs the same suite unmeasured)
coverage:
	$(BIN)/coverage combine --keep -q .coverage.sqlite
	$(BIN)/coverage report --fail-under=90

## openapi: regenerate openapi/openapi.json and openapi/schema.graphql after changing an API
openapi: install
	$(BIN)/revmentor openapi
	$(BIN)/revmentor graphql-schema

## bench: run the benchmarks (see bench/README.md)
bench: install
	$(BIN)/python -m bench.rest

## bench-matching: the matching benchmark (SQLite and PostgreSQL)
bench-matching: install
	$(BIN)/python -m bench.matching

## bench-reports: the program report and CSV export benchmark (SQLite and PostgreSQL)
bench-reports: install
	$(BIN)/python -m bench.reports

## bench-hris: the HRIS sync benchmark (bulk API and CSV import, SQLite and PostgreSQL)
bench-hris: install
	$(BIN)/python -m bench.hris

## bench-graphql: a nested GraphQL query beside its REST equivalent (SQLite and PostgreSQL)
bench-graphql: install
	$(BIN)/python -m bench.graphql

clean:
	rm -rf $(VENV) $(TOOLS) .coverage .coverage.* .pytest_cache .mypy_cache .ruff_cache
