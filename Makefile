# ring: top-level build.
#
#   make                 libring (lib/libring.so, lib/libring.a), the drop-in
#                        liburing.so.2 and libring-preload.so for tools/ring-run
#                        (build/lib/compat/), ring.ko for every kernel of the
#                        test matrix, and the test programs
#   make KDIR=/path      ring.ko for that one kernel tree, in kmod/ring.ko
#   make check           host tests, then the VM suite on every matrix kernel
#                        (CHECK_ARGS='--kernel REL ...': those kernels only)
#   make bench           the benchmark matrix, ring vs io_uring, on 6.1 and
#                        6.12 in the VM (BENCH_ARGS=--wall: wall clock)
#   make demo            a NOP round trip and NOP ops/s in the VM, per kernel
#   make liburing-check  liburing 2.3's own tests through the drop-in liburing
#                        on /dev/ring, io_uring off, in the VM (6.12 and 6.1)
#
# check, bench and demo first install whatever is missing (tools/deps.sh), then
# build in a sub-make, so that the kernel matrix is read after the install.
#
# The matrix is every kernel with both an image in /boot and a build tree in
# /lib/modules (tools/vm/kernels lists it); each gets build/REL/kmod/ring.ko.

SHELL		:= /bin/bash
BUILD		:= build
CC		?= cc
CFLAGS		?= -O2 -g
WARN_CFLAGS	:= -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
USER_CFLAGS	:= -std=gnu11 -D_GNU_SOURCE -fPIC $(WARN_CFLAGS) -Iinclude -Iinclude/uapi

KMOD_SRCS	:= $(wildcard kmod/*.c kmod/*.h) kmod/Kbuild Kbuild \
		   include/uapi/linux/ring.h

.PHONY: all lib modules tests check bench demo deps clean
all: lib modules tests

# ---- the module --------------------------------------------------------
ifneq ($(KDIR),)
modules:
	$(MAKE) -C $(KDIR) M=$(CURDIR) RING_WERROR=y modules
else
KERNELS		?= $(shell tools/vm/kernels 2>/dev/null)
KO_FILES	:= $(foreach k,$(KERNELS),$(BUILD)/$(k)/kmod/ring.ko)
modules: $(KO_FILES)

# Kbuild writes objects next to the sources, so each kernel builds in its
# own tree of links to them.
$(BUILD)/%/kmod/ring.ko: $(KMOD_SRCS)
	@mkdir -p $(BUILD)/$*/kmod $(BUILD)/$*/include
	@ln -sfn $(CURDIR)/Kbuild $(BUILD)/$*/Kbuild
	@ln -sfn $(CURDIR)/include/uapi $(BUILD)/$*/include/uapi
	@for f in kmod/Kbuild kmod/*.c kmod/*.h; do \
		ln -sfn $(CURDIR)/$$f $(BUILD)/$*/$$f; done
	$(MAKE) -C /lib/modules/$*/build M=$(CURDIR)/$(BUILD)/$* RING_WERROR=y modules
endif

# ---- libring and the tests (fragments owned by their directories) -----
-include lib/build.mk
-include lib/compat/build.mk
-include tests/unit/build.mk
-include tests/vm/build.mk
-include tools/build.mk
-include tools/ringbench/build.mk
-include tools/fio/build.mk
-include tests/fuzz/build.mk
-include tests/fuzz/faultsweep.mk
-include tools/install.mk
-include tests/liburing/build.mk

deps:
	@tools/deps.sh

check: deps
	@$(MAKE) --no-print-directory all
	@tools/check $(CHECK_ARGS)

bench: deps
	@$(MAKE) --no-print-directory all
	@tools/bench/run $(BENCH_ARGS)

demo: deps
	@$(MAKE) --no-print-directory all
	@for k in $$(tools/vm/kernels --no-debug); do \
		echo "== $$k"; \
		tools/vm/run --kernel $$k -- $(BUILD)/tools/nop-demo || exit 1; \
	done

clean:
	rm -rf $(BUILD) lib/libring.so* lib/libring.a
	rm -f kmod/*.o kmod/*.ko kmod/*.mod* kmod/.*.cmd kmod/modules.order \
		kmod/Module.symvers .*.cmd modules.order Module.symvers
