# liburing 2.3's own test suite, run through /dev/ring (included by the
# top-level Makefile; paths are relative to the top).
#
#   make liburing-tests   fetch Debian's liburing source (apt-get source,
#                         once, into $(BUILD)/liburing-src) and build its
#                         test programs against the installed liburing-dev
#                         into $(BUILD)/tests/liburing/bin (tests.mk)
#   make liburing-check   build, then run them in the VM through the drop-in
#                         liburing with io_uring switched off, on 6.12 and 6.1
#                         (tests/liburing/check; LIBURING_CHECK_ARGS)
#
# Not part of `make` (it needs the network once); `make check` runs the
# 6.12 half, or says SKIP with the reason when the source cannot be had.

LIBURING_SRC_DIR	:= $(BUILD)/liburing-src
LIBURING_DEB_VERSION	:= $(shell dpkg-query -W -f='$${Version}' liburing-dev 2>/dev/null)
LIBURING_UPSTREAM	:= $(shell echo '$(LIBURING_DEB_VERSION)' | sed 's/^[0-9]*://; s/-[^-]*$$//')
LIBURING_TREE		:= $(LIBURING_SRC_DIR)/liburing-$(LIBURING_UPSTREAM)
LIBURING_TEST_OUT	:= $(BUILD)/tests/liburing
IOURING_OFF		:= $(LIBURING_TEST_OUT)/iouring-off

.PHONY: liburing-tests liburing-check
tests: $(IOURING_OFF)

$(IOURING_OFF): tests/liburing/iouring-off.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -std=gnu11 -D_GNU_SOURCE $(WARN_CFLAGS) -o $@ $<

liburing-tests: $(IOURING_OFF)
	@tests/liburing/fetch-src $(LIBURING_SRC_DIR)
	@$(MAKE) --no-print-directory -f tests/liburing/tests.mk \
		TREE=$(LIBURING_TREE) OUT=$(LIBURING_TEST_OUT)

liburing-check: deps
	@$(MAKE) --no-print-directory all
	@tests/liburing/check $(LIBURING_CHECK_ARGS)
