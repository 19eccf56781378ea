# logpacker — build, test, benchmark.
#
#   make build   static bin/logpacker (./appliance/cmd/logpacker) and bin/lpbench (./bench)
#   make run     build, then bin/logpacker run (embedded defaults: 127.0.0.1:5514 UDP+TCP,
#                HTTP 127.0.0.1:8080, WAL and events.jsonl under ./data)
#   make deps    install what tests and benchmarks need, only what is missing (.ci/install-deps.sh)
#   make lint    go vet + gofmt check
#   make test    deps, lint, then go test -race on every package (what .ci/run runs)
#   make bench   every Benchmark*, then bin/lpbench -scenario both (under loggen, one receiver
#                each: rsyslog, logpacker writing a file with the store off, and logpacker-default,
#                the default outputs as `make run` (file + store; delivered = what the store has,
#                its lag sampled); then a 3-node logpacker chain vs 2 rsyslog over RELP)
#   make fuzz    every Fuzz* target for FUZZTIME each (default 20s)
#   make image   the container image FROM scratch (image/build.sh; IMAGE=logpacker:latest), size printed
#   make vm-image  bin/vm/logpacker.qcow2 (+ vmlinuz, initrd.img): Debian 12 by debootstrap, the
#                systemd units, NoCloud first boot (image/vm/build.sh; needs root)
#   make test-vm boot it under qemu and check it takes syslog and serves /healthz (not in make test)
#   make deb     bin/logpacker_VERSION_ARCH.deb (binary, systemd units, conffile), checked by lintian
#   make clean   remove bin/ (keeps ./data and the unpacked loggen in .cache/)
#
# Variables: GO, FUZZTIME, LPBENCH_FLAGS (e.g. LPBENCH_FLAGS='-duration 5s -receiver rsyslog,logpacker-default';
# '-scenario chain' only the chain; '-receiver logpacker -cpuprofile /tmp/lp.prof' saves a CPU
# profile of logpacker under the load, in the chain one per node: /tmp/lp-leaf.prof, -mid, -root),
# RUN_FLAGS (extra flags for `make run`, e.g. RUN_FLAGS='-c server.ini').

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

GO            ?= go
FUZZTIME      ?= 20s
LPBENCH_FLAGS ?=
RUN_FLAGS     ?=
IMAGE         ?= logpacker:latest
TEST_TIMEOUT  ?= 25m

# Integration tests and lpbench find loggen through this (the unpacked syslog-ng-core copy;
# see .ci/install-deps.sh). rsyslogd lives in /usr/sbin, which non-root PATHs often lack.
export LOGPACKER_LOGGEN := $(CURDIR)/.ci/loggen.sh
export PATH := $(PATH):/usr/sbin:/sbin

BUILD_FLAGS := -trimpath -ldflags='-s -w'

.PHONY: build run test bench fuzz lint fmt-check vet deps clean distclean image docker-check vm-image test-vm deb

build:
	CGO_ENABLED=0 $(GO) build $(BUILD_FLAGS) -o bin/logpacker ./appliance/cmd/logpacker
	CGO_ENABLED=0 $(GO) build $(BUILD_FLAGS) -o bin/lpbench ./bench

run: build
	bin/logpacker run $(RUN_FLAGS)

deps:
	.ci/install-deps.sh

vet:
	$(GO) vet ./...

# gofmt over every .go file except the unpacked debs, .git and testdata (fuzz corpora and
# golden inputs may be deliberately malformed Go-looking files).
fmt-check:
	@files=$$(find . \( -path ./.cache -o -path ./.git -o -path ./bin -o -name testdata \) -prune \
		-o -name '*.go' -print0 | xargs -0 -r gofmt -l); \
	if [ -n "$$files" ]; then echo "gofmt: these files need gofmt -w:"; echo "$$files"; exit 1; fi; \
	echo "gofmt: ok"

lint: vet fmt-check

test: deps lint docker-check
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) ./...
	# allocation counts are only exact without the race detector
	$(GO) test -count=1 -run 'Allocates' ./appliance/match/

# The container image: FROM scratch, nothing pulled (see image/doc.go).
image:
	GO=$(GO) image/build.sh $(IMAGE)

# The VM image (see image/vm/doc.go); its debootstrap tree is cached in bin/vm/rootfs.tar.
vm-image:
	.ci/install-deps.sh vm
	GO=$(GO) image/vm/build.sh bin/vm

test-vm: vm-image
	LOGPACKER_VM_TEST=1 LOGPACKER_VM_DIR=$(CURDIR)/bin/vm $(GO) test -count=1 -v -timeout 30m -run TestVMIntegration ./image/vm/

# The Debian package (see image/deb/build.sh); lintian must find no error and no warning.
deb:
	.ci/install-deps.sh deb
	GO=$(GO) image/deb/build.sh bin

# The image and fleet tests (./image) need a Docker engine; without one they
# skip, and this says so where nobody can miss it.
docker-check:
	@if ! docker info >/dev/null 2>&1; then \
		echo "################################################################################"; \
		echo "# WARNING: no Docker engine answers here: the container image test and the fleet"; \
		echo "# test (image/TestImageIntegration, TestFleetIntegration) will SKIP, not run."; \
		echo "################################################################################"; \
	fi

bench: deps build
	$(GO) test -run '^$$' -bench . -benchmem ./protocol/... ./wal/... ./appliance/...
	# the store's engine as the binary has it: pure Go (its zstd is then klauspost/compress, not cgo)
	CGO_ENABLED=0 LOGPACKER_STORE_BENCH_EVENTS=$${STORE_BENCH_EVENTS:-10000000} $(GO) test -run '^$$' -bench Store10M -benchtime 1x -timeout 60m ./appliance/store
	bin/lpbench -logpacker bin/logpacker -loggen .ci/loggen.sh -scenario both $(LPBENCH_FLAGS)

fuzz:
	FUZZTIME=$(FUZZTIME) GO=$(GO) .ci/fuzz.sh

clean:
	rm -rf bin

# also forget the unpacked loggen (make deps unpacks it again)
distclean: clean
	rm -rf .cache
