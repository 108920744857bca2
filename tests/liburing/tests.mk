# liburing's own test programs, built against the installed liburing-dev
# headers (/usr/include/liburing.h) and linked dynamically with Debian's
# -luring (liburing.so.2), never against the source tree's src/.  Run by
# tests/liburing/build.mk once the source is fetched:
#
#   make -f tests/liburing/tests.mk TREE=build/liburing-src/liburing-2.3 \
#        OUT=build/tests/liburing
#
# Flags are liburing's test/Makefile's, except the include path: it has
# -I../src/include (the tree's own liburing.h); here <liburing.h> and
# "liburing.h" come from /usr/include.  The tests that include
# "../src/syscall.h" (or "../syscall.h", found through -iquote src/arch)
# get liburing's inline `syscall` instructions from the tree, as upstream.
#
# The tests marked not-built in tests/liburing/expected need functions
# Debian's liburing.so.2 does not export; each is compiled to an object and
# its undefined io_uring symbols are checked against the library's
# exports: $(OUT)/bin/NAME.notbuilt names the missing ones, and a test
# marked not-built that would link is an error.

SHELL		:= /bin/bash
CC		?= cc
CXX		?= c++
SRC		:= $(TREE)/test
BIN		:= $(OUT)/bin
EXPECTED	:= tests/liburing/expected

LU_CPPFLAGS	:= -D_GNU_SOURCE -D__SANE_USERSPACE_TYPES__ \
		   -include $(TREE)/config-host.h -iquote $(TREE)/src/arch
LU_CFLAGS	:= -g -O2 -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare \
		   -Wstringop-overflow=0 -Warray-bounds=0 -DLIBURING_BUILD_TEST
LU_LDLIBS	:= -luring -lpthread
LIBURING_SO	:= $(shell $(CC) -print-file-name=liburing.so)

ALL_SRCS	:= $(filter-out helpers.c,$(notdir $(wildcard $(SRC)/*.c $(SRC)/*.cc)))
ALL_NAMES	:= $(sort $(basename $(ALL_SRCS)))
NOT_BUILT	:= $(filter $(ALL_NAMES),$(shell awk '$$1 ~ /^[a-z0-9]/ && $$2 == "not-built" { print $$1 }' $(EXPECTED)))
NAMES		:= $(filter-out $(NOT_BUILT),$(ALL_NAMES))

ifeq ($(ALL_NAMES),)
$(error tests/liburing/tests.mk: no test sources in $(SRC))
endif

.PHONY: all
all: $(NAMES:%=$(BIN)/%.t) $(NOT_BUILT:%=$(BIN)/%.notbuilt) $(OUT)/tests.list

$(BIN)/helpers.o: $(SRC)/helpers.c $(SRC)/helpers.h
	@mkdir -p $(@D)
	$(CC) $(LU_CPPFLAGS) $(LU_CFLAGS) -c -o $@ $<

$(BIN)/%.t: $(SRC)/%.c $(BIN)/helpers.o
	$(CC) $(LU_CPPFLAGS) $(LU_CFLAGS) -o $@ $< $(BIN)/helpers.o $(LU_LDLIBS)

$(BIN)/%.t: $(SRC)/%.cc $(BIN)/helpers.o
	$(CXX) $(LU_CPPFLAGS) $(LU_CFLAGS) -std=c++11 -o $@ $< $(BIN)/helpers.o $(LU_LDLIBS)

$(BIN)/%.notbuilt: $(SRC)/%.c $(EXPECTED)
	@mkdir -p $(@D)
	$(CC) $(LU_CPPFLAGS) $(LU_CFLAGS) -c -o $(BIN)/$*.o $<
	@miss=$$(comm -23 <(nm -u $(BIN)/$*.o | awk '$$2 ~ /io_uring/ { print $$2 }' | sort -u) \
		<(nm -D --defined-only $(LIBURING_SO) | awk '{ sub(/@.*/, "", $$3); print $$3 }' | sort -u)); \
	rm -f $(BIN)/$*.o; \
	if [ -z "$$miss" ]; then \
		echo "tests/liburing: $* is marked not-built in $(EXPECTED) but links with $(LIBURING_SO)" >&2; \
		exit 1; fi; \
	echo $$miss > $@

$(OUT)/tests.list: $(EXPECTED) tests/liburing/tests.mk | $(NAMES:%=$(BIN)/%.t) $(NOT_BUILT:%=$(BIN)/%.notbuilt)
	@mkdir -p $(@D)
	@for n in $(ALL_NAMES); do \
		if [ -f $(BIN)/$$n.notbuilt ]; then echo "$$n not-built $$(cat $(BIN)/$$n.notbuilt)"; \
		else echo "$$n built"; fi; done > $@.tmp
	@mv $@.tmp $@
