# The two commands: `make run` and `make test`. Both install what is missing first.
BUILD_DIR ?= build
JOBS ?= 2
CMAKE_FLAGS ?=
# ccache hits across clones of the repository in other folders: paths under the clone are
# hashed relative to it, and the working directory (only in the debug info's DW_AT_comp_dir)
# is left out of the hash, so a fresh clone anywhere reuses the objects of the last.
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := true
# The main build and the clang sanitizer side build together fill ccache's default 5 GB, and
# its cleanups then evict what the next clone would have reused.
export CCACHE_MAXSIZE ?= 20G
ifdef CI
CMAKE_FLAGS += -DMINGUS_WERROR=ON
endif

.PHONY: all deps configure build run test package bench fuzz format clean

all: build

deps:
	@bash packaging/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j$(JOBS)

run: build
	@bash scripts/run-demo.sh $(BUILD_DIR)

test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j$(JOBS) --timeout 600

# Debian packages of the agent and the collector, in $(BUILD_DIR).
package: build
	@cd $(BUILD_DIR) && cpack -G DEB

# Full benchmark runs (make test runs them only as short smoke tests).
bench: build
	@/usr/bin/python3 tests/bench/agent_vs_node_exporter.py --agent $(BUILD_DIR)/agent/mingus-agent
	@/usr/bin/python3 tests/bench/intake_vs_peers.py --agent $(BUILD_DIR)/agent/mingus-agent
	@/usr/bin/python3 tests/bench/collector_vs_prometheus.py --together --agent $(BUILD_DIR)/agent/mingus-agent \
		--collector $(BUILD_DIR)/collector/mingus-collector
	@/usr/bin/python3 tests/bench/rules_vs_prometheus.py --collector $(BUILD_DIR)/collector/mingus-collector
	@/usr/bin/python3 tests/bench/notify_latency.py --collector $(BUILD_DIR)/collector/mingus-collector
	@/usr/bin/python3 tests/bench/dashboard_latency.py --collector $(BUILD_DIR)/collector/mingus-collector
	@/usr/bin/python3 tests/bench/python_sdk_bench.py --agent $(BUILD_DIR)/agent/mingus-agent
	@$(BUILD_DIR)/tests/xor_chunk_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
	@$(BUILD_DIR)/tests/promql_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
	@/usr/bin/python3 tests/bench/fingerprint_vs_pt.py --collector $(BUILD_DIR)/collector/mingus-collector
	@$(BUILD_DIR)/tests/fingerprint_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
	@$(BUILD_DIR)/tests/client_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true --benchmark_min_time=0.3
	@$(BUILD_DIR)/tests/insights_bench --events 10000000 --runs 5

# Longer fuzzing than the smoke runs of make test: each target for FUZZ_SECONDS, or to FUZZ_RUNS
# executions (and at most FUZZ_SECONDS when both are given); FUZZ_TARGET=NAME runs only that one,
# FUZZ_MERGE=1 adds what it found to the corpus (tests/fuzz/run.sh).
FUZZ_SECONDS ?= $(if $(FUZZ_RUNS),0,300)
fuzz: build
	@bash tests/fuzz/run.sh $(BUILD_DIR)/fuzz/tests/fuzz $(FUZZ_SECONDS) $(FUZZ_TARGET)

format:
	@clang-format -i $$(git ls-files '*.cpp' '*.h')

clean:
	@rm -rf $(BUILD_DIR)
