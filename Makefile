# Service Catalog. `make run` starts the catalog on an embedded local control
# plane; `make test` runs every test. Both build the pinned tools into bin/
# on first use (from source, several minutes once; reused afterwards).

SHELL := /usr/bin/env bash
BIN := $(CURDIR)/bin
CONTROLLER_GEN := $(BIN)/controller-gen
# Tests find kube-apiserver, etcd and kubectl here (controller-runtime envtest).
export KUBEBUILDER_ASSETS := $(BIN)

CONTROL_PLANE_TOOLS := kube-apiserver etcd kubectl kube-controller-manager

.PHONY: all
all: build

##@ Development

.PHONY: tools
tools: ## Build the pinned tools (controller-gen, kube-apiserver, etcd, kubectl, kube-controller-manager, helm 4 and 3) into bin/.
	@hack/build-tools.sh controller-gen $(CONTROL_PLANE_TOOLS) helm helm3

.PHONY: generate
generate: ## Write deepcopy code for the API types.
	@hack/build-tools.sh controller-gen
	$(CONTROLLER_GEN) object paths=./api/...

.PHONY: manifests
manifests: ## Write the CRDs, RBAC and webhook configurations into manifests/, the CRDs into the chart, docs/api-reference.md.
	@hack/build-tools.sh controller-gen
	$(CONTROLLER_GEN) crd paths=./api/... output:crd:dir=manifests/crd
	rm -f charts/service-catalog/crds/*.yaml && cp manifests/crd/*.yaml charts/service-catalog/crds/
	$(CONTROLLER_GEN) rbac:roleName=service-catalog-manager paths=./cmd/... paths=./controllers/... paths=./webhook/... output:rbac:dir=manifests/rbac
	$(CONTROLLER_GEN) webhook paths=./webhook/... output:webhook:dir=manifests/webhook
	go run ./hack/gen-injector-webhook manifests/webhook/injector.yaml
	go run ./hack/gen-api-docs manifests/crd docs/api-reference.md

.PHONY: verify
verify: ## Fail when generated files are stale, code is unformatted, go.mod untidy or go vet complains.
	@hack/verify.sh

.PHONY: build
build: generate ## Build the binaries into bin/ (static, as the Dockerfiles build them).
	@for b in $$(ls cmd); do hack/build-binary.sh $$b $(BIN)/$$b; done
	@cp $(BIN)/svcat $(BIN)/kubectl-svcat # kubectl runs it as `kubectl svcat` when it is on the PATH

.PHONY: test
test: tools verify ## Run unit and integration tests against a real kube-apiserver, then a short fuzz run.
	go test ./... -count=1
	@$(MAKE) --no-print-directory fuzz

FUZZTIME ?= 10s
.PHONY: fuzz
fuzz: ## Fuzz the admission handlers (instances, bindings, brokers), the schema check and the annotation parser for FUZZTIME each (default 10s).
	@# Each run starts from the seed corpus in testdata: the cached corpus grows
	@# with every run, and replaying it counts against FUZZTIME (500 inputs took
	@# 8 of the 10 s here, and the run then failed on its deadline).
	rm -rf "$$(go env GOCACHE)/fuzz/$$(go list -m)"
	go test ./webhook/serviceinstance -run '^$$' -fuzz '^FuzzInstanceAdmission$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 1s
	go test ./webhook/serviceinstance -run '^$$' -fuzz '^FuzzSchemaCheck$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 1s
	go test ./webhook/servicebinding -run '^$$' -fuzz '^FuzzBindingAdmission$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 1s
	go test ./webhook/broker -run '^$$' -fuzz '^FuzzBrokerAdmission$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 1s
	go test ./injector -run '^$$' -fuzz '^FuzzHandler$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 1s
	go test ./injector -run '^$$' -fuzz '^FuzzParseRequest$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 1s

.PHONY: bench
bench: tools build ## Run the benchmarks once each against a real API server: 1000 instances + 1000 bindings with and without broker latency, fairness next to a slow broker, a 1000-plan catalog sync, admission cost.
	go test ./... -run '^$$' -bench . -benchtime 1x -timeout 60m

.PHONY: run
run: build ## Run the catalog on an embedded local control plane (the first run builds it from source).
	@hack/build-tools.sh $(CONTROL_PLANE_TOOLS)
	go build -o $(BIN)/localenv ./hack/localenv
	$(BIN)/localenv

.PHONY: demo
demo: ## Walk through the catalog against a running `make run` (start that in another shell first).
	@go build -o $(BIN)/demo ./hack/demo
	@$(BIN)/demo

.PHONY: help
help: ## Show the targets.
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z_-]+:.*?##/ { printf "  %-12s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)
