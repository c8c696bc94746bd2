# Tim's tasks. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

BIN        := bin
GO         ?= go
TESTPG_DIR ?= /tmp/tim-testpg
LINT       := tools/lint/node_modules/.bin
WEB        := web/node_modules/.bin
# What make generate writes; make check-generated compares it with git.
GENERATED  := gen internal/docs/assets

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

$(BIN)/oapi-codegen: go.mod go.sum
	$(GO) build -o $@ github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen

$(BIN)/sqlc: go.mod go.sum
	$(GO) build -o $@ github.com/sqlc-dev/sqlc/cmd/sqlc

.PHONY: tools
tools: $(BIN)/oapi-codegen $(BIN)/sqlc ## build the pinned code generators

.PHONY: generate
generate: generate-api generate-sql generate-web ## regenerate gen/ from api/ and queries/

.PHONY: generate-api
generate-api: $(BIN)/oapi-codegen ## regenerate the server, models and client from api/openapi.yaml
	$(BIN)/oapi-codegen -config gen/api/cfg.yaml api/openapi.yaml
	$(BIN)/oapi-codegen -config gen/client/cfg.yaml api/openapi.yaml

.PHONY: generate-sql
generate-sql: $(BIN)/sqlc ## regenerate gen/db from migrations/ and queries/
	$(BIN)/sqlc generate

$(WEB)/tsc: web/package.json web/package-lock.json
	npm ci --prefix web --no-audit --no-fund
	@touch $@

.PHONY: generate-web
generate-web: $(WEB)/tsc ## regenerate gen/ts (TypeScript types of api/openapi.yaml) and the /docs Redoc bundle with web/'s pinned packages
	node web/scripts/generate.mjs

.PHONY: check-generated
check-generated: generate ## fail when gen/ differs from what the generators produce
	@git add -N $(GENERATED) >/dev/null 2>&1 || true
	@if ! git diff --exit-code --stat -- $(GENERATED); then \
		echo "generated files are stale: run 'make generate' and commit the result"; exit 1; fi
	$(GO) mod tidy
	@git diff --exit-code --stat -- go.mod go.sum || { echo "go.mod/go.sum are not tidy: run 'go mod tidy'"; exit 1; }

.PHONY: build
build: ## build the server and the load generator into bin/
	$(GO) build -o $(BIN)/tim ./cmd/tim
	$(GO) build -o $(BIN)/loadtest ./cmd/loadtest

.PHONY: run
run: build ## run the server on :8081 with a private PostgreSQL under ./data
	$(BIN)/tim

$(LINT)/spectral: tools/lint/package.json tools/lint/package-lock.json
	npm ci --prefix tools/lint --no-audit --no-fund
	@touch $@

.PHONY: lint
lint: $(LINT)/spectral $(WEB)/tsc ## vet the code, lint the OpenAPI and AsyncAPI documents, type-check the TypeScript client
	@test -z "$$(gofmt -l $$(git ls-files '*.go' | grep -v '^gen/'))" || { gofmt -l $$(git ls-files '*.go' | grep -v '^gen/'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...
	$(LINT)/spectral lint --ruleset .spectral.yaml --fail-severity=warn api/openapi.yaml
	node tools/lint/validate-asyncapi.mjs api/asyncapi.yaml
	$(WEB)/tsc --strict --noEmit -p web/tsconfig.json

.PHONY: testpg
testpg: ## start the shared test PostgreSQL (idempotent)
	@$(GO) run ./internal/testdb/cmd/testpg -dir $(TESTPG_DIR) >/dev/null

.PHONY: test
test: ## run every test with -race against a private PostgreSQL
	@set -e; url=$$($(GO) run ./internal/testdb/cmd/testpg -dir $(TESTPG_DIR) | sed -n 's/^TIM_TEST_DATABASE_URL=//p'); \
	trap '$(GO) run ./internal/testdb/cmd/testpg -dir $(TESTPG_DIR) -stop >/dev/null 2>&1 || true' EXIT; \
	TIM_TEST_DATABASE_URL="$$url" $(GO) test -race -count=1 -timeout 20m ./...

.PHONY: bench
bench: build ## run the load generator's default scenario against a fresh server
	./scripts/bench.sh

.PHONY: clean
clean: ## remove build output (not ./data)
	rm -rf $(BIN)
