# Front door. `make run` and `make test` each install what they need.
SHELL := /bin/bash
PY := /usr/bin/python3
BUILD := build

.PHONY: all deps deps-build build build-asan build-release run test unit integration browser sdk fuzz bench format format-check clean

all: build-release

deps-build:
	@scripts/deps.sh build

deps:
	@scripts/deps.sh all

# Build output goes to stderr: `make run` keeps stdout for events only.
$(BUILD)/%/build.ninja:
	@echo "cmake --preset $*" >&2; cmake --preset $* >/dev/null

build-release: deps-build $(BUILD)/release/build.ninja
	@echo "cmake --build --preset release" >&2; cmake --build --preset release >&2

build-asan: deps $(BUILD)/asan-ubsan/build.ninja
	cmake --build --preset asan-ubsan

build: build-release

# The embedded demo: simulator + proxy with the stdout sink and a stats line.
run: build-release
	@scripts/run-demo.sh $(BUILD)/release/tickerd

unit: build-asan
	ctest --preset asan-ubsan

integration: build-asan
	TICKERD=$(CURDIR)/$(BUILD)/asan-ubsan/tickerd $(PY) -m pytest -q tests/integration

browser: build-asan
	TICKERD=$(CURDIR)/$(BUILD)/asan-ubsan/tickerd tests/browser/run.sh

sdk: build-asan
	TICKERD=$(CURDIR)/$(BUILD)/asan-ubsan/tickerd tests/sdk/run.sh

test: deps format-check unit integration browser sdk

fuzz: deps $(BUILD)/fuzz/build.ninja
	cmake --build --preset fuzz
	scripts/fuzz.sh $(BUILD)/fuzz $${FUZZ_SECONDS:-60}

bench: deps build-release
	scripts/bench.sh $(BUILD)/release

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check: deps
	@clang-format --dry-run -Werror $$(git ls-files '*.c' '*.h') && echo "format: ok"

clean:
	rm -rf $(BUILD)

# libtickerd, its header and tickerd.pc, the tickerd binary and the quote
# board (share/tickerd/web, where the installed tickerd finds it), under
# PREFIX (default: CMake's, /usr/local).
.PHONY: install docs dist
install: build-release
	cmake --install $(BUILD)/release $(if $(PREFIX),--prefix $(PREFIX))

# The documents generated from the options tables: docs/CONFIG.md,
# examples/tickerd.conf, docs/tickerd.1, contrib/bash-completion/tickerd.
# Rerun after adding or changing an option (make test checks they are current).
docs: build-release
	$(BUILD)/release/tickerd config --dump-reference .

# A source tarball of the committed tree (git archive of HEAD), with the
# commit recorded for `tickerd --version`: build/tickerd-VERSION.tar.gz.
# Unpacked, it builds with the README's commands.
VERSION = $(shell awk '/^project/ {print $$3; exit}' CMakeLists.txt)
dist:
	@mkdir -p $(BUILD)
	git archive --format=tar.gz --prefix=tickerd-$(VERSION)/ -o $(BUILD)/tickerd-$(VERSION).tar.gz HEAD
	@echo $(BUILD)/tickerd-$(VERSION).tar.gz
