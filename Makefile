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
# The verdict table goes to the terminal; the HTML report, JUnit XML and the leaked packets
# (pcapng per scenario and guard mode) to LAB_OUT.
LAB_OUT ?= build/lab
LAB_REPORTS = --html $(1)/report.html --junit $(1)/junit.xml --pcap-dir $(1)/pcap
lab: deps build
	mkdir -p $(LAB_OUT)
	$(BIN) lab run --runs 3 $(call LAB_REPORTS,$(LAB_OUT))

# The same catalogue against the lab's OpenVPN (certificates made per lab) instead of WireGuard.
lab-openvpn: deps build
	mkdir -p $(LAB_OUT)/openvpn
	$(BIN) lab run --vpn openvpn --runs 3 $(call LAB_REPORTS,$(LAB_OUT)/openvpn)

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
