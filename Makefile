# hivenet - build, lint and test entry points. Run `make help`.
#
# `make test` is what CI runs (.ci/run): provisioning, lint, host tests with
# the race detector against real ZooKeeper servers, every fuzz target, then
# the kernel datapath tests in QEMU VMs. It prints a timing summary per
# phase and exits non-zero if any phase failed.

SHELL       := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

GO          ?= go
FUZZTIME    ?= 7s
TESTFLAGS   ?=
GOBIN_DIR   := $(shell $(GO) env GOPATH 2>/dev/null | cut -d: -f1)/bin
STATICCHECK ?= $(GOBIN_DIR)/staticcheck
SUMMARY     := $(CURDIR)/build/test-summary.txt
PHASE       := $(CURDIR)/scripts/phase.sh
SUBMAKE     := $(MAKE) --no-print-directory

# Tests that need ZooKeeper must run against a real server, never skip.
# internal/zktest starts one per test binary (java + Debian's zookeeper
# package); set HIVENET_ZK_SERVERS to use an existing server instead.
export HIVENET_REQUIRE_ZK ?= 1
# Likewise for ovsdb-server (internal/ovsdbtest, Debian openvswitch-common
# and openvswitch-vtep).
export HIVENET_REQUIRE_OVSDB ?= 1
# Likewise for the openstack command (Debian python3-openstackclient) that
# drives the Neutron API in examples/cluster.
export HIVENET_REQUIRE_OPENSTACK ?= 1

.PHONY: help all build provision test test-host test-kernel fuzz lint fmt-check vet staticcheck bench bench-ratios scale clean

help:
	@echo "make build        go build ./..."
	@echo "make test         provision, lint, host tests (-race, real ZooKeeper), fuzz, kernel tests (CI)"
	@echo "make test-host    host tests only: go test -race -skip '^TestKernel' ./..."
	@echo "make test-kernel  TestKernel* tests in QEMU VMs (internal/vmtest)"
	@echo "make fuzz         every Fuzz* target for FUZZTIME (default 7s) each"
	@echo "make lint         gofmt -l, go vet, staticcheck"
	@echo "make bench        all benchmarks -> bench/latest.txt, then bench-ratios"
	@echo "make bench-ratios the target ratios, 5 interleaved rounds -> bench/ratios.txt"
	@echo "make scale        scale harness (3-node ZooKeeper, up to 250 agents) -> docs/scale.md + SVGs (12-16 min on 2 busy cores)"
	@echo "make provision    install Debian packages and Go tools (scripts/provision.sh)"
	@echo "variables: FUZZTIME=7s (per fuzz target), TESTFLAGS= (extra go test flags for test-host/test-kernel)"

all: build test

build:
	$(GO) build ./...

provision:
	scripts/provision.sh

# Every phase runs even if an earlier one failed (except provisioning), so
# one run reports everything; the exit status is non-zero if any failed.
test:
	@mkdir -p $(dir $(SUMMARY)); rm -f $(SUMMARY); rc=0; \
	$(PHASE) $(SUMMARY) provision scripts/provision.sh || { $(PHASE) --report $(SUMMARY); exit 1; }; \
	$(PHASE) $(SUMMARY) lint        $(SUBMAKE) lint        || rc=1; \
	$(PHASE) $(SUMMARY) host-tests  $(SUBMAKE) test-host   || rc=1; \
	$(PHASE) $(SUMMARY) fuzz        $(SUBMAKE) fuzz        || rc=1; \
	$(PHASE) $(SUMMARY) kernel-tests $(SUBMAKE) test-kernel || rc=1; \
	$(PHASE) --report $(SUMMARY); exit $$rc

test-host:
	CGO_ENABLED=1 $(GO) test -race -count=1 -skip '^TestKernel' $(TESTFLAGS) ./...

test-kernel:
	scripts/test-kernel.sh $(TESTFLAGS)

fuzz:
	FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

lint: fmt-check vet staticcheck

fmt-check:
	@files=$$(find . \( -name .git -o -name .cache -o -name testdata -o -name vendor \) -prune -o -name '*.go' -type f -print); \
	[ -n "$$files" ] || { echo "gofmt: no Go files"; exit 1; }; \
	bad=$$(gofmt -l $$files); \
	if [ -n "$$bad" ]; then echo "gofmt: these files need formatting (run gofmt -w):"; echo "$$bad"; exit 1; fi; \
	echo "gofmt: ok"

vet:
	$(GO) vet ./...

staticcheck:
	@[ -x $(STATICCHECK) ] || scripts/provision.sh
	$(STATICCHECK) ./...

# Benchmarks that need ZooKeeper get a real server, as tests do; the
# BenchmarkKernel* ones run inside the VM (emulated CPU: slow). The output
# is standard `go test -bench` text (benchstat reads it); bench/latest.txt
# is replaced only when every benchmark succeeded.
bench:
	@mkdir -p bench
	@echo "# load before: $$(cat /proc/loadavg 2>/dev/null) on $$(nproc 2>/dev/null) cores" | tee bench/latest.txt.tmp
	$(GO) test -run '^$$' -bench . -benchmem -count=1 ./... | tee -a bench/latest.txt.tmp
	scripts/test-kernel.sh --bench 2>&1 | grep -v '^vmtest/build:' | tee -a bench/latest.txt.tmp
	@echo "# load after: $$(cat /proc/loadavg 2>/dev/null)" | tee -a bench/latest.txt.tmp
	mv bench/latest.txt.tmp bench/latest.txt
	@echo "bench: wrote bench/latest.txt"
	@scripts/bench-ratios.sh bench/latest.txt
	@$(MAKE) --no-print-directory bench-ratios

# The target ratios as the README states them: 5 interleaved rounds of
# FlowSetup (a million new flows each), SimulateL3 and GopacketDLP, medians
# (bench/ratios.txt). About two minutes.
bench-ratios:
	GO=$(GO) scripts/bench-rounds.sh 5

# The scale harness (examples/scale, logic in internal/scale) starts its own
# 3-node ZooKeeper ensemble and regenerates docs/scale.md and its plots. It
# is not part of `make test`; internal/scale's test runs it in quick mode.
scale:
	$(GO) run ./examples/scale -v -o docs $(SCALEFLAGS)

clean:
	rm -rf build bench/latest.txt.tmp
	$(GO) clean -testcache
