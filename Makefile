# Tim's tasks. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

BIN        := bin
GO         ?= go
# The test cluster of this checkout: two checkouts on one machine must not
# share (and stop) one cluster. Override with `make test TESTPG_DIR=...`.
ifeq ($(origin TESTPG_DIR),undefined)
TESTPG_DIR := /tmp/tim-testpg-$(shell printf '%s' '$(CURDIR)' | sha256sum | cut -c1-12)
endif
LINT       := tools/lint/node_modules/.bin
WEB        := web/node_modules/.bin
# What make generate writes; make check-generated compares it with git.
GENERATED  := gen

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

$(BIN)/oapi-codegen: go.mod go.sum
	$(GO) build -o $@ github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen

$(BIN)/sqlc: go.mod go.sum
	$(GO) build -o $@ github.com/sqlc-dev/sqlc/cmd/sqlc

$(BIN)/staticcheck: go.mod go.sum
	$(GO) build -o $@ honnef.co/go/tools/cmd/staticcheck

# The S3-compatible server the blob store's tests run against (SeaweedFS,
# Apache-2.0), pinned in a module of its own so that go.mod does not gain
# its dependencies; Go's build cache makes later builds quick.
$(BIN)/weed: tools/s3server/go.mod tools/s3server/go.sum
	cd tools/s3server && $(GO) build -o $(abspath $@) github.com/seaweedfs/seaweedfs/weed

.PHONY: tools
tools: $(BIN)/oapi-codegen $(BIN)/sqlc $(BIN)/staticcheck ## build the pinned code generators and staticcheck

.PHONY: generate
generate: generate-api generate-sql generate-web ## regenerate gen/ from api/ and queries/

.PHONY: generate-api
generate-api: $(BIN)/oapi-codegen ## regenerate the models, server and client from api/openapi.yaml
	$(BIN)/oapi-codegen -config gen/models/cfg.yaml api/openapi.yaml
	$(BIN)/oapi-codegen -config gen/server/cfg.yaml api/openapi.yaml
	$(BIN)/oapi-codegen -config gen/client/cfg.yaml api/openapi.yaml

.PHONY: generate-sql
generate-sql: $(BIN)/sqlc ## regenerate gen/db from migrations/ and queries/
	$(BIN)/sqlc generate

$(WEB)/tsc: web/package.json web/package-lock.json
	npm ci --prefix web --no-audit --no-fund
	@touch $@

.PHONY: generate-web
generate-web: $(WEB)/tsc ## regenerate gen/ts (TypeScript types of api/openapi.yaml), the /docs Redoc bundle (gen/docsassets) and the web client of / (gen/webassets) with web/'s pinned packages
	node web/scripts/generate.mjs

# Inputs of `make generate`, copied into a scratch directory by check-generated.
GEN_INPUTS := Makefile go.mod go.sum sqlc.yaml api migrations queries gen/models/cfg.yaml gen/server/cfg.yaml gen/client/cfg.yaml web/package.json web/package-lock.json web/tsconfig.json web/scripts web/client web/app

.PHONY: check-generated
check-generated: $(BIN)/oapi-codegen $(BIN)/sqlc $(WEB)/tsc ## fail when gen/ (with the docs and web client bundles), go.mod or go.sum differ from what the tools produce (touches nothing)
	@set -e; tmp=$$(mktemp -d -t tim-check-generated-XXXXXX); trap 'rm -rf "$$tmp"' EXIT; \
	cp -R --parents $(GEN_INPUTS) "$$tmp"; ln -s $(abspath web/node_modules) "$$tmp/web/node_modules"; \
	$(MAKE) -s -C "$$tmp" generate BIN=$(abspath $(BIN)) -o $(abspath $(BIN))/oapi-codegen -o $(abspath $(BIN))/sqlc -o $(WEB)/tsc >/dev/null; \
	for d in $(GENERATED); do if ! diff -r "$$d" "$$tmp/$$d"; then \
		echo "$$d is stale (a file above differs, is missing, or has no source any more): run 'make generate' and commit the result"; exit 1; fi; done
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run 'go mod tidy'"; exit 1; }

.PHONY: check-generated-test
check-generated-test: $(BIN)/oapi-codegen $(BIN)/sqlc $(WEB)/tsc ## prove that check-generated fails on a generated file whose query file is gone
	@set -e; tmp=$$(mktemp -d -t tim-check-generated-test-XXXXXX); trap 'rm -rf "$$tmp"' EXIT; \
	git ls-files -z --cached --others --exclude-standard | tar --null --ignore-failed-read -T - -cf - 2>/dev/null | tar -xf - -C "$$tmp"; \
	rm -rf "$$tmp/web/node_modules"; ln -s $(abspath web/node_modules) "$$tmp/web/node_modules"; \
	$(MAKE) -s -C "$$tmp" check-generated BIN=$(abspath $(BIN)) -o $(abspath $(BIN))/oapi-codegen -o $(abspath $(BIN))/sqlc -o $(WEB)/tsc >/dev/null 2>&1 || \
		{ echo "check-generated fails on an unchanged copy"; exit 1; }; \
	rm "$$tmp/queries/presence.sql"; \
	if $(MAKE) -s -C "$$tmp" check-generated BIN=$(abspath $(BIN)) -o $(abspath $(BIN))/oapi-codegen -o $(abspath $(BIN))/sqlc -o $(WEB)/tsc >"$$tmp.log" 2>&1; then \
		cat "$$tmp.log"; rm -f "$$tmp.log"; echo "check-generated passed with queries/presence.sql deleted"; exit 1; fi; \
	if ! grep -q 'presence.sql.gen.go' "$$tmp.log"; then \
		cat "$$tmp.log"; rm -f "$$tmp.log"; echo "check-generated failed, but not for gen/db/presence.sql.gen.go"; exit 1; fi; \
	rm -f "$$tmp.log"; echo "check-generated catches a generated file whose source was deleted"

.PHONY: vet-sql
vet-sql: $(BIN)/sqlc ## compile the queries, then vet them (sqlc vet) against a migrated database on the test cluster
	$(BIN)/sqlc compile
	@set -e; out=$$($(GO) run ./internal/testdb/cmd/testpg -dir $(TESTPG_DIR) -migrated tim_sqlc_vet); \
	trap '$(GO) run ./internal/testdb/cmd/testpg -dir $(TESTPG_DIR) -stop >/dev/null 2>&1 || true' EXIT; \
	TIM_SQLC_VET_DATABASE_URL=$$(sed -n 's/^TIM_MIGRATED_DATABASE_URL=//p' <<<"$$out") $(BIN)/sqlc vet && echo "sqlc vet: no findings"

.PHONY: build
build: build-server ## build the server and the load generator into bin/
	$(GO) build -o $(BIN)/loadtest ./cmd/loadtest

.PHONY: build-server
build-server: ## build the server alone into bin/tim
	$(GO) build -o $(BIN)/tim ./cmd/tim

.PHONY: run
run: build-server ## build the server alone and run it on :8081 with a private PostgreSQL under ./data
	$(BIN)/tim

$(LINT)/spectral: tools/lint/package.json tools/lint/package-lock.json
	npm ci --prefix tools/lint --no-audit --no-fund
	@touch $@

.PHONY: lint
lint: $(LINT)/spectral $(WEB)/tsc $(BIN)/staticcheck ## gofmt, go vet and staticcheck the code; lint the OpenAPI and AsyncAPI documents; type-check the TypeScript client and the web client
	@test -z "$$(gofmt -l $$(git ls-files '*.go' | grep -v '^gen/'))" || { gofmt -l $$(git ls-files '*.go' | grep -v '^gen/'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...
	$(BIN)/staticcheck ./...
	$(LINT)/spectral lint --ruleset .spectral.yaml --fail-severity=warn api/openapi.yaml
	node tools/lint/validate-asyncapi.mjs api/asyncapi.yaml
	$(WEB)/tsc --strict --noEmit -p web/tsconfig.json

.PHONY: testpg
testpg: ## start the shared test PostgreSQL (idempotent)
	@$(GO) run ./internal/testdb/cmd/testpg -dir $(TESTPG_DIR) >/dev/null

# The tests mostly wait on PostgreSQL, sockets and timers: running six
# packages, and four tests in each, at once (go's default: one per core)
# keeps two cores busy. Override with `make test TESTFLAGS=...`.
TESTFLAGS ?= -p 6 -parallel 4
# go test starts packages in the order named: the longest first, so that
# none of them starts last and runs alone (the list of every package but
# the deploy tests adds the rest, once each).
TESTPKGS  ?= ./internal/realtime ./internal/media ./internal/webclient \
	./internal/webapp ./internal/social ./internal/app \
	$(filter-out tim/deploy tim/deploy/%,$(shell $(GO) list ./...))
# The deploy tests run real nginx, Caddy, NATS clusters and tim processes
# (about a minute on their own): make test-deploy runs them.
DEPLOYPKGS ?= ./deploy ./deploy/cluster

.PHONY: test
test: $(BIN)/weed ## run every test but the deploy tests with -race against a private PostgreSQL (or TIM_TEST_DATABASE_URL's)
	@set -e; export TIM_S3_TESTS=required TIM_WEED=$(abspath $(BIN)/weed); if [ -n "$${TIM_TEST_DATABASE_URL:-}" ]; then exec $(GO) test -race -count=1 -timeout 20m $(TESTFLAGS) $(TESTPKGS); fi; \
	url=$$($(GO) run ./internal/testdb/cmd/testpg -dir $(TESTPG_DIR) | sed -n 's/^TIM_TEST_DATABASE_URL=//p'); \
	trap '$(GO) run ./internal/testdb/cmd/testpg -dir $(TESTPG_DIR) -stop >/dev/null 2>&1 || true' EXIT; \
	TIM_TEST_DATABASE_URL="$$url" $(GO) test -race -count=1 -timeout 20m $(TESTFLAGS) $(TESTPKGS)

.PHONY: test-deploy
test-deploy: ## run the deploy tests (real nginx, Caddy, a three-node NATS cluster) as make test runs the others
	@$(MAKE) --no-print-directory test TESTPKGS="$(DEPLOYPKGS)"

.PHONY: bench
bench: build ## run the load generator's default scenario against a fresh server
	./scripts/bench.sh

.PHONY: clean
clean: ## remove build output (not ./data)
	rm -rf $(BIN)
