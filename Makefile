# vspace build: one library per part of the house, each program linked with the parts it uses.
#
#   make            build every binary into build/
#   make check      bootstrap deps, build, run all tests (plain and under ASan+UBSan)
#   make asan       build and run the unit tests under ASan+UBSan (build/asan/)
#   make demo       bootstrap deps, build, run the demo
#
# Every src/<folder>/*.c but main.c belongs to the library that LIBRARIES
# below names for its folder (build/libvspace-<lib>.a); src/<dir>/main.c is
# the program named in PROGRAMS, linked with the libraries PROG_LIBS lists.
# A new file in a listed folder needs no edit here; a new folder, one word in
# LIBRARIES (and a line in tests/lint/include-matrix.txt, which says what it
# may include). Unit tests are tests/**/test_*.c, linked with every library.

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
VIRT_LIBS  := $(shell pkg-config --libs libvirt libvirt-qemu 2>/dev/null)
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

# ---- Libraries: library -> the folders of src/ it holds -----------------------------------
# Listed from the top down (a library uses only those after it); programs and
# tests link them in this order.
LIBRARIES  := fuzz:fuzz \
              cli:cli \
              daemon:daemon \
              sim:sim,simrun \
              agent:agent \
              memnet:memnet \
              loadgen:loadgen \
              linux:platform/linux \
              proto:proto \
              core:control,platform,policy,lib
lib_name    = $(word 1,$(subst :, ,$(1)))
lib_dirs    = $(subst $(comma), ,$(word 2,$(subst :, ,$(1))))
comma      := ,
LIB_NAMES  := $(foreach l,$(LIBRARIES),$(call lib_name,$(l)))
lib_file    = $(BUILD)/libvspace-$(1).a
# the sources of library $(1): every .c directly in its folders but main.c
lib_srcs    = $(filter-out %/main.c,$(sort $(foreach d,$(call lib_dirs,$(filter $(1):%,$(LIBRARIES))),$(wildcard src/$(d)/*.c))))

# What each program links, top down (the agent: see its rule below).
PROG_LIBS_vspace       := cli sim memnet loadgen linux proto core
PROG_LIBS_vspaced      := daemon memnet linux proto core
PROG_LIBS_vspacectl    := daemon core
PROG_LIBS_vspace-agent := agent memnet linux proto core

ALL_SRCS   := $(shell find src -name '*.c' | sort)
MAIN_SRCS  := $(filter %/main.c,$(ALL_SRCS))
LIB_SRCS   := $(foreach l,$(LIB_NAMES),$(call lib_srcs,$(l)))
LIB_OBJS   := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
MAIN_OBJS  := $(patsubst %.c,$(BUILD)/obj/%.o,$(MAIN_SRCS))
ALL_LIBS   := $(foreach l,$(LIB_NAMES),$(call lib_file,$(l)))
# a .c in no library's folder (a new folder not yet in LIBRARIES) is an error
UNHOMED    := $(filter-out $(LIB_SRCS) $(MAIN_SRCS),$(ALL_SRCS))
ifneq ($(UNHOMED),)
$(error $(UNHOMED): in no library: add the folder to LIBRARIES in the Makefile)
endif

TEST_SRCS  := $(shell find tests -name 'test_*.c' | sort)
TEST_BINS  := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRCS))
TEST_OBJS  := $(patsubst tests/%.c,$(BUILD)/obj/tests/%.o,$(TEST_SRCS))

.SECONDARY:
.PHONY: all check unit asan demo clean format format-check bootstrap test-bins print-libraries

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

define lib_rule
$(call lib_file,$(1)): $(patsubst %.c,$(BUILD)/obj/%.o,$(call lib_srcs,$(1)))
	@mkdir -p $$(dir $$@)
	@rm -f $$@
	@$$(if $$(Q),echo "  AR      $$@")
	$$(Q)ar rcs $$@ $$^
endef
$(foreach l,$(LIB_NAMES),$(eval $(call lib_rule,$(l))))

# Programs linked the common way (the agent has its own rule below): only
# their libraries; --as-needed keeps a system library only when an object
# pulled from them calls it.
DYN_PROGS  := $(filter-out vspace-agent:agent,$(PROG_LIST))
prog_archives = $(foreach l,$(PROG_LIBS_$(call prog_name,$(1))),$(call lib_file,$(l)))

define prog_rule
$(BUILD)/$(call prog_name,$(1)): $(BUILD)/obj/src/$(call prog_dir,$(1))/main.o $(call prog_archives,$(1))
	@$$(if $$(Q),echo "  LD      $$@")
	$$(Q)$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LIBS)
endef
$(foreach p,$(DYN_PROGS),$(eval $(call prog_rule,$(p))))

# ---- vspace-agent: linked static so it drops into any guest ------------------
# Only libc, libjansson.a (libjansson-dev) and -lm; under the sanitizers
# (which cannot link static) it is linked dynamically.
AGENT_STATIC := $(if $(SAN),,-static)
$(BUILD)/vspace-agent: $(BUILD)/obj/src/agent/main.o $(call prog_archives,vspace-agent:agent)
	@$(if $(Q),echo "  LD      $@ $(AGENT_STATIC)")
	$(Q)$(CC) $(LDFLAGS) $(AGENT_STATIC) -o $@ $^ -l:libjansson.a -lm

# ---- fuzzing (clang + libFuzzer): make fuzz; run build/fuzz/fuzz_<target> CORPUS ----
# src/fuzz/<target>.c is each target's entry point (the table: src/fuzz/targets.c),
# src/fuzz/main.c libFuzzer's way in; build/fuzz/fuzz_<target> links the whole
# library built instrumented. Each saved corpus, tests/fuzz/<target>/, replays in
# every make check through the same entry points built with gcc
# (tests/fuzz/test_corpus.c, counts against tests/fuzz/expected.txt). Run a
# fuzzer on a scratch copy of its corpus: libFuzzer adds new inputs to the first
# directory it is given.
FUZZ_CC      ?= clang
FUZZ_FLAGS   := $(CSTD) -Isrc $(PKG_CFLAGS) $(filter -D%,$(CPPFLAGS)) -g -O1 \
                -fsanitize=fuzzer-no-link,address,undefined
FUZZ_TARGETS := $(patsubst src/fuzz/%.c,%,$(filter-out src/fuzz/main.c src/fuzz/targets.c,$(wildcard src/fuzz/*.c)))
FUZZ_OBJS    := $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(LIB_SRCS))
.PHONY: fuzz
fuzz: $(foreach t,$(FUZZ_TARGETS),$(BUILD)/fuzz/fuzz_$(t))
$(BUILD)/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZCC  $<")
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) -c $< -o $@
$(BUILD)/fuzz/fuzz_%: src/fuzz/main.c $(FUZZ_OBJS)
	@$(if $(Q),echo "  FUZZLD  $@")
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer -DFUZZ_TARGET='"$*"' -o $@ $^ $(LIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(ALL_LIBS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(ALL_LIBS) $(TEST_LIBS) $(LIBS)

test-bins: $(TEST_BINS) $(BINS)

# "library:folder folder ..." per library, top down (tests/lint/test_includes.sh)
print-libraries:
	@$(foreach l,$(LIBRARIES),echo "$(call lib_name,$(l)):$(call lib_dirs,$(l))";)

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
