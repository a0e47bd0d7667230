# vspace build: one core library (build/libvspace.a) linked by every binary and test.
#
#   make            build every binary into build/
#   make check      bootstrap deps, build, run all tests (plain and under ASan+UBSan)
#   make asan       build and run the unit tests under ASan+UBSan (build/asan/)
#   make demo       bootstrap deps, build, run the demo
#
# Sources are found by wildcard: every src/**/*.c except files named main.c goes
# into the library; src/<dir>/main.c is the program named in PROGRAMS below.
# Unit tests are tests/**/test_*.c, each linked against the library.

SHELL      := /bin/bash
CC         ?= cc
BUILD      ?= build
SAN        ?=
CSTD       := -std=c17 -D_GNU_SOURCE
WARN       := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
              -Wmissing-prototypes -Wvla -Wno-unused-parameter
OPT        ?= -O2 -g
CPPFLAGS   += -Isrc -MMD -MP
CFLAGS     += $(CSTD) $(WARN) $(OPT) $(SAN)
LDFLAGS    += $(SAN) -Wl,--as-needed
PKGS       := jansson inih
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
VIRT_LIBS  := $(shell pkg-config --libs libvirt 2>/dev/null)
LIBS       := $(PKG_LIBS) $(VIRT_LIBS) -lm -lpthread
TEST_LIBS  := -lcmocka

CPPFLAGS   += $(PKG_CFLAGS)
ifneq ($(shell pkg-config --exists libvirt 2>/dev/null && echo y),)
CPPFLAGS   += -DVS_HAVE_LIBVIRT=1
endif

# program name -> directory holding its main.c (only those that exist are built)
PROGRAMS   := vspace:cli vspaced:daemon vspacectl:ctl vspace-agent:agent
prog_name   = $(word 1,$(subst :, ,$(1)))
prog_dir    = $(word 2,$(subst :, ,$(1)))
PROG_LIST  := $(foreach p,$(PROGRAMS),$(if $(wildcard src/$(call prog_dir,$(p))/main.c),$(p)))
BINS       := $(foreach p,$(PROG_LIST),$(BUILD)/$(call prog_name,$(p)))

ALL_SRCS   := $(shell find src -name '*.c' -not -path 'src/fuzz/*' | sort)
MAIN_SRCS  := $(filter %/main.c,$(ALL_SRCS))
LIB_SRCS   := $(filter-out %/main.c,$(ALL_SRCS))
LIB_OBJS   := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
MAIN_OBJS  := $(patsubst %.c,$(BUILD)/obj/%.o,$(MAIN_SRCS))
LIBVS      := $(BUILD)/libvspace.a

TEST_SRCS  := $(shell find tests -name 'test_*.c' | sort)
TEST_BINS  := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRCS))
TEST_OBJS  := $(patsubst tests/%.c,$(BUILD)/obj/tests/%.o,$(TEST_SRCS))

.SECONDARY:
.PHONY: all check unit asan demo clean format format-check bootstrap test-bins

all: $(BINS)

# V=1 shows the full commands
Q          := $(if $(V),,@)

$(BUILD)/obj/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) -Itests $(CFLAGS) -c $< -o $@

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(LIBVS): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	@rm -f $@
	@$(if $(Q),echo "  AR      $@")
	$(Q)ar rcs $@ $^

# Programs linked the common way (the agent has its own rule below).
DYN_PROGS  := $(filter-out vspace-agent:agent,$(PROG_LIST))

define prog_rule
$(BUILD)/$(call prog_name,$(1)): $(BUILD)/obj/src/$(call prog_dir,$(1))/main.o $(LIBVS)
	@$$(if $$(Q),echo "  LD      $$@")
	$$(Q)$$(CC) $$(LDFLAGS) -o $$@ $$< $(LIBVS) $$(LIBS)
endef
$(foreach p,$(DYN_PROGS),$(eval $(call prog_rule,$(p))))

# ---- vspace-agent: linked static so it drops into any guest ------------------
# Only libc, libjansson.a (libjansson-dev) and -lm; under the sanitizers
# (which cannot link static) it is linked dynamically.
AGENT_STATIC := $(if $(SAN),,-static)
$(BUILD)/vspace-agent: $(BUILD)/obj/src/agent/main.o $(LIBVS)
	@$(if $(Q),echo "  LD      $@ $(AGENT_STATIC)")
	$(Q)$(CC) $(LDFLAGS) $(AGENT_STATIC) -o $@ $< $(LIBVS) -l:libjansson.a -lm

# ---- fuzzing (clang + libFuzzer): make fuzz; run build/fuzz/fuzz_<name> CORPUS ----
# Saved corpora are replayed in every make check by gcc-built drivers calling the
# same entry points: tests/fuzz/test_fuzz_replay.c (tests/fuzz/proto/) and
# tests/loadgen/test_corpus.c (tests/loadgen/corpus/), tests/daemon/test_corpus.c
# (tests/fixtures/corpus/), tests/cli/test_vf_corpus.c (tests/fuzz/vf/). Run a fuzzer on
# a scratch copy of its corpus: libFuzzer adds new inputs to the first directory it is given.
FUZZ_CC    ?= clang
FUZZ_FLAGS := $(CSTD) -Isrc $(PKG_CFLAGS) -g -O1 -fsanitize=fuzzer,address,undefined
.PHONY: fuzz
fuzz: $(BUILD)/fuzz/fuzz_proto $(BUILD)/fuzz/fuzz_loadgen_reply $(BUILD)/fuzz/fuzz_parsers \
	$(BUILD)/fuzz/fuzz_vf
# the daemon's parsers span the library: build all of it instrumented
$(BUILD)/fuzz/fuzz_parsers: src/fuzz/fuzz_parsers.c $(LIB_SRCS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(filter -D%,$(CPPFLAGS)) -o $@ $^ $(LIBS)
# FlexVF's parsers (src/cli/vffuzz.h) span the library too; corpus tests/fuzz/vf/
$(BUILD)/fuzz/fuzz_vf: src/fuzz/fuzz_vf.c $(LIB_SRCS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(filter -D%,$(CPPFLAGS)) -o $@ $^ $(LIBS)
$(BUILD)/fuzz/fuzz_proto: src/fuzz/fuzz_proto.c src/proto/proto.c $(wildcard src/proto/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $(filter %.c,$^) $(PKG_LIBS)
$(BUILD)/fuzz/fuzz_loadgen_reply: src/fuzz/fuzz_loadgen_reply.c src/loadgen/proto.c $(wildcard src/loadgen/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $(filter %.c,$^) -lm

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(LIBVS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(LIBVS) $(TEST_LIBS) $(LIBS)

test-bins: $(TEST_BINS) $(BINS)

bootstrap:
	@scripts/bootstrap

# Unit tests only (what `make asan` runs under the sanitizers).
unit: test-bins
	@tests/run-tests --build $(BUILD) --unit

check: bootstrap
	@$(MAKE) --no-print-directory test-bins
	@$(MAKE) --no-print-directory asan-bins
	@tests/run-tests --build $(BUILD) --asan-build $(BUILD)/asan

asan-bins:
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/asan OPT="-O1 -g" \
	    SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" test-bins

asan: bootstrap asan-bins
	@ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	    tests/run-tests --build $(BUILD)/asan --unit

demo: bootstrap
	@$(MAKE) --no-print-directory all
	@scripts/demo $(BUILD)

format:
	clang-format -i $(ALL_SRCS) $(shell find src tests -name '*.h') $(TEST_SRCS)

format-check:
	clang-format --dry-run --Werror $(ALL_SRCS) $(shell find src tests -name '*.h') $(TEST_SRCS)

clean:
	rm -rf $(BUILD) out

-include $(LIB_OBJS:.o=.d) $(MAIN_OBJS:.o=.d) $(TEST_OBJS:.o=.d)
