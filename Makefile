# The two commands of the README: `make run` and `make test`. Everything else is a helper.
SHELL := /bin/bash
BUILD ?= build
ASAN_BUILD ?= build-asan
PORT ?= 8080
DB ?= ./data/lms.db
JOBS ?= $(shell nproc)

.PHONY: run test setup build build-asan unit-test blackbox-test asan-test node-deps bench fuzz clean

setup:
	@bash scripts/setup.sh

$(BUILD)/build.ninja: CMakeLists.txt | setup
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release

build: setup $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

$(ASAN_BUILD)/build.ninja: CMakeLists.txt | setup
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLMS_SANITIZE=ON -DLMS_BENCH=OFF

build-asan: setup $(ASAN_BUILD)/build.ninja
	cmake --build $(ASAN_BUILD) -j $(JOBS)

# Starts the server on the embedded database; on an empty database it creates a demo
# organization and prints how to sign in. `make run DB=postgres` runs it on a private
# PostgreSQL server kept in $(PG_DIR) instead (started here, stopped when lms exits).
PG_DIR ?= ./data/pg
run: build
ifeq ($(DB),postgres)
	@echo "lms: starting on http://127.0.0.1:$(PORT) (PostgreSQL in $(PG_DIR)); Ctrl-C stops it"
	bash scripts/run_postgres.sh $(PG_DIR) $(BUILD)/lms serve --port $(PORT) --demo
else
	@echo "lms: starting on http://127.0.0.1:$(PORT) (database $(DB)); Ctrl-C stops it"
	$(BUILD)/lms serve --port $(PORT) --db $(DB) --demo
endif

# Every suite runs on SQLite and on PostgreSQL: scripts/with_postgres.sh starts a private
# server for each ctest run (LMS_TEST_POSTGRES_URL) and stops it afterwards, pass or fail.
# The release pass also runs them through nginx (nginx.*, *_nginx); the sanitizer pass leaves
# those out (the same lms code, twice the time).
test: build build-asan
	cd $(BUILD) && bash $(CURDIR)/scripts/with_postgres.sh ctest --output-on-failure -j 1
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 bash $(CURDIR)/scripts/with_postgres.sh ctest --output-on-failure -j 1 -E '^nginx\.|_nginx$$|^web_desk'
	bash scripts/fuzz.sh 10

bench: build
	bash bench/run.sh

fuzz:
	bash scripts/fuzz.sh 300

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
