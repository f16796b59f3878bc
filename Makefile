# Berth: `make run` starts the all-in-one platform, `make test` runs every test.
SHELL := /bin/bash
export PATH := /opt/swift/usr/bin:$(PATH)

DATA_DIR ?= /var/lib/berth
LISTEN ?= 127.0.0.1:6443
PREFIX ?= /usr/local

.PHONY: deps build release install run test bench clean

deps:
	@bash scripts/install-deps.sh

build: deps
	swift build

# The release binary links the Swift runtime and Foundation statically: an agent then maps only
# the parts it uses instead of every shared library whole (idle agent RSS 43 -> 35 MB).
# Every function gets its own section, and the ones a profiled agent and server ran
# (link/hot-text.order, made by bench/tools/hot-text-order.sh) go first in .text: the kernel
# maps a binary's code in whole page-cache folios (64 KB and up), so code the agent runs that
# is scattered over 38 MB of text costs far more memory than the ~4 MB it is (link/README.md).
HOT_TEXT := -Xswiftc -use-ld=lld -Xswiftc -Xfrontend -Xswiftc -function-sections -Xcc -ffunction-sections \
	-Xlinker --symbol-ordering-file=$(CURDIR)/link/hot-text.order -Xlinker --no-warn-symbol-ordering
release: deps
	swift build -c release --static-swift-stdlib $(HOT_TEXT)

# `berth` on the PATH (the README's commands call it by name), with bash completion.
install: release
	install -D -m 0755 .build/release/berth $(PREFIX)/bin/berth
	mkdir -p /etc/bash_completion.d && $(PREFIX)/bin/berth completion bash > /etc/bash_completion.d/berth

run: install
	$(PREFIX)/bin/berth up --data-dir $(DATA_DIR) --listen $(LISTEN)

# The three-host cluster tests measure failover time against a deadline and each start a
# cluster of their own: they run after the rest, alone and one at a time, so the other tests'
# containers and clusters do not share the two cores with them. The rest run at most 8 at once:
# unbounded, every suite's server starts in the same second and requests time out on 2 cores.
test: deps
	swift build --build-tests
	SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH=8 swift test --skip-build --skip BerthClusterTests
	swift test --skip-build --no-parallel --filter BerthClusterTests

bench: release
	bash bench/run-all.sh

clean:
	rm -rf .build
