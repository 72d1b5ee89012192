# vpnleak: the two set-up commands are `make lab` and `make test` (see README.md).
PRESET ?= ci
BUILD  := build/$(PRESET)
BIN    := $(BUILD)/apps/vpnleak/vpnleak
JOBS   ?= $(shell nproc)

.PHONY: all deps build test unit fuzz lab lab-openvpn asan format tidy clean

all: build

deps:
	bash scripts/deps.sh

$(BUILD)/build.ninja:
	cmake --preset $(PRESET)

build: $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

# Every test, including those that need root and network namespaces, then the fuzzers.
test: deps build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	$(MAKE) --no-print-directory fuzz

unit: build
	cd $(BUILD) && ctest --output-on-failure -L unit -j $(JOBS)

# Every libFuzzer harness (clang, ASan+UBSan, build/fuzz) for FUZZ_SECONDS each from fuzz/corpus/.
FUZZ_SECONDS ?= 20
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash fuzz/run.sh

# The full leak assessment in the built-in lab, guard off and on. Exit 0: the guard stopped every
# leak and the VPN alone leaked where expected; 1: a guard-on leak (or a leak not reproduced).
lab: deps build
	$(BIN) lab run --runs 3

# The same catalogue against the lab's OpenVPN (certificates made per lab) instead of WireGuard.
lab-openvpn: deps build
	$(BIN) lab run --vpn openvpn --runs 3

asan:
	cmake --preset asan
	cmake --build build/asan -j $(JOBS)
	cd build/asan && ctest --output-on-failure -L unit -j $(JOBS)

format:
	find src apps tests -name '*.cpp' -o -name '*.hpp' | xargs clang-format -i

tidy: $(BUILD)/build.ninja
	find src apps -name '*.cpp' | xargs clang-tidy -p $(BUILD) --quiet

clean:
	rm -rf build
