# boson build.
#   make            build/boson and build/libboson.a (CPU backend, always builds)
#   make CUDA=1     also the CUDA backend (src/backend/cuda/*.cu, needs nvcc)
#   make test       set-up, C unit tests and the pytest suite (the full test run)
#   make test SAN=1 the same C unit tests built with ASan + UBSan (build/san/)
#   make check-unit C unit tests only;  make check-py  pytest only
#   make fuzz       libFuzzer targets (clang) in build/fuzz/;  make fuzz-smoke  short pass
#   make format-check, make lint (cppcheck), make fixtures

CC      ?= gcc
ifeq ($(CC),cc)
CC      := gcc
endif
SAN     ?= 0
CUDA    ?= 0
PKGS    := jansson libpcre2-8 libutf8proc libmicrohttpd

ifeq ($(FUZZLIB),1)
BUILD   ?= build/fuzz/lib
OPT     := -O1 -g -fsanitize=fuzzer-no-link,address,undefined
else ifeq ($(SAN),1)
BUILD   ?= build/san
OPT     := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
BUILD   ?= build
OPT     := -O2 -g
endif

WARN    := -Wall -Wextra -Werror -Wswitch-enum -Wvla -Wformat=2 -Wno-format-nonliteral
CPPFLAGS += -Iinclude -Isrc -D_GNU_SOURCE
CFLAGS  += -std=c17 $(OPT) $(WARN) -pthread $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm -pthread
SAN_LD  := -fsanitize=address,undefined
LDFLAGS += $(if $(filter 1,$(SAN)),$(SAN_LD))

# Reference data shared with the project (tokenizer, template, vectors) lives beside the clone.
export BOSON_SHARED ?= $(abspath ../shared)
export BOSON_SHARED_DATA ?= $(abspath ../shared/data)

LIB_SRC := $(shell find src -name '*.c' -not -path 'src/cli/*' -not -path 'src/backend/cuda/*' | sort)
CLI_SRC := $(sort $(wildcard src/cli/*.c))
TEST_SRC := $(sort $(wildcard tests/unit/test_*.c))
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))

LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
TEST_BIN := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)

ifeq ($(CUDA),1)
NVCC    ?= /usr/local/cuda/bin/nvcc
CU_SRC  := $(sort $(wildcard src/backend/cuda/*.cu))
CU_OBJ  := $(CU_SRC:%.cu=$(BUILD)/obj/%.o)
CPPFLAGS += -DBOSON_CUDA=1
NVFLAGS := -O3 -std=c++17 -gencode=arch=compute_90a,code=sm_90a -Iinclude -Isrc -Xcompiler -Wall
LDLIBS  += -L/usr/local/cuda/lib64 -lcudart -lcublas -lstdc++
LIB_OBJ += $(CU_OBJ)
endif

.PHONY: all demo setup test check-unit check-py check-server-san fuzz fuzz-smoke format format-check lint fixtures clean
all: $(BUILD)/boson $(BUILD)/libboson.a

$(BUILD)/libboson.a: $(LIB_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/boson: $(CLI_OBJ) $(BUILD)/libboson.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libboson.a $(LDLIBS)

# Per-ISA kernel files: compiled for their instruction set, chosen at run time.
ISA_avx2   := -mavx2 -mfma -mf16c
ISA_avx512 := -mavx512f -mavx512bw -mavx512vl -mavx512dq -mfma -mf16c
isa_flags = $(if $(findstring _avx512,$1),$(ISA_avx512),$(if $(findstring _avx2,$1),$(ISA_avx2)))

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(call isa_flags,$<) -MMD -MP -c -o $@ $<

$(BUILD)/obj/%.o: %.cu
	@mkdir -p $(@D)
	$(NVCC) $(NVFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libboson.a tests/unit/check.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itests/unit $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libboson.a $(LDLIBS)

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d)

setup:
	@scripts/setup

# The full test run: installs what is missing, builds, runs the C unit tests, then pytest.
test: setup
	@$(MAKE) --no-print-directory check-unit
	@if [ "$(SAN)" != "1" ]; then $(MAKE) --no-print-directory check-py; fi

check-unit: $(TEST_BIN) $(BUILD)/boson
	@echo "== C unit tests ($(BUILD)) =="
	@tests/run_unit.sh $(BUILD)/tests

check-py: $(BUILD)/boson fixtures
	@echo "== pytest =="
	@BOSON_BIN=$(abspath $(BUILD)/boson) .venv/bin/python -m pytest tests/py -q

# The HTTP server's tests against an ASan + UBSan build of boson (CI runs this).
check-server-san: fixtures
	@$(MAKE) --no-print-directory SAN=1 build/san/boson
	@echo "== pytest: server under ASan + UBSan =="
	@BOSON_BIN=$(abspath build/san/boson) .venv/bin/python -m pytest tests/py/test_server.py -q

fixtures: setup
	@.venv/bin/python -m tools.fixtures --out build/fixtures

# The README's first command: install the build dependencies, build, and continue a prompt
# with the bundled model (models/boson-tiny-4bit).
DEMO_PROMPT ?= It was a fine morning, and Elizabeth
demo:
	@scripts/setup --build-only
	@$(MAKE) --no-print-directory all
	$(BUILD)/boson run --raw --max-tokens 64 "$(DEMO_PROMPT)"

# libFuzzer targets: each tests/fuzz/fuzz_X.c links a clang-built, instrumented libboson.a.
FUZZ_FLAGS := -std=c17 -g -O1 -fsanitize=fuzzer,address,undefined $(CPPFLAGS) \
              $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
fuzz:
	@$(MAKE) --no-print-directory FUZZLIB=1 CC=clang build/fuzz/lib/libboson.a
	@$(MAKE) --no-print-directory $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)
build/fuzz/%: tests/fuzz/%.c build/fuzz/lib/libboson.a
	@mkdir -p $(@D)
	clang $(FUZZ_FLAGS) -o $@ $< build/fuzz/lib/libboson.a $(LDLIBS)

FUZZ_SECONDS ?= 20
fuzz-smoke: fuzz
	@for f in $(FUZZ_SRC:tests/fuzz/%.c=%); do \
	  mkdir -p build/fuzz/corpus-$$f; \
	  echo "fuzz $$f for $(FUZZ_SECONDS)s"; \
	  build/fuzz/$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=0 \
	    build/fuzz/corpus-$$f tests/fuzz/corpus/$$f 2>build/fuzz/$$f.log \
	    || { tail -n 40 build/fuzz/$$f.log; exit 1; }; \
	done; echo "fuzz-smoke: all targets clean"

FMT_FILES = $(shell find include src tests/unit tests/fuzz -name '*.[ch]' -o -name '*.cu' | sort)
format:
	clang-format -i $(FMT_FILES)
format-check:
	@clang-format --dry-run -Werror $(FMT_FILES) && echo "format-check: clean"

lint:
	@cppcheck --quiet --error-exitcode=1 --std=c11 --enable=warning,portability,performance \
	  --inline-suppr --suppress=missingIncludeSystem -Iinclude -Isrc -D__GNUC__ src include \
	  && echo "lint: cppcheck clean"

clean:
	rm -rf build
