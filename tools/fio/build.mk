# The fio ioengine for /dev/ring: $(BUILD)/tools/fio/ring-fio.so, included
# by the top-level Makefile; paths are relative to the top.
#
# fio has no stable engine ABI: the engine is compiled against the headers
# and config-host.h of exactly the installed fio, whose Debian source
# tools/fio/fetch-src fetches (apt-get source, network, a deb-src entry:
# tools/deps.sh adds it) into $(BUILD)/fio-src once and configures. Without
# it the build fails and says why.

FIO_SRC_DIR	:= $(BUILD)/fio-src
FIO_DEB_VERSION	:= $(shell dpkg-query -W -f='$${Version}' fio 2>/dev/null)
# Debian version [EPOCH:]UPSTREAM[-REVISION] -> the tree fio-UPSTREAM.
FIO_UPSTREAM	:= $(shell echo '$(FIO_DEB_VERSION)' | sed 's/^[0-9]*://; s/-[^-]*$$//')
FIO_TREE	:= $(FIO_SRC_DIR)/fio-$(FIO_UPSTREAM)
FIO_ENGINE	:= $(BUILD)/tools/fio/ring-fio.so

# fio's own flags for its sources (its Makefile and configure); -isystem
# keeps our warnings for our code only.
FIO_ENGINE_CFLAGS := -isystem $(FIO_TREE) -include $(FIO_TREE)/config-host.h \
		     -D_LARGEFILE_SOURCE -D_FILE_OFFSET_BITS=64 -DFIO_INC_DEBUG \
		     -fvisibility=hidden

.PHONY: fio
fio: $(FIO_ENGINE)
tests: $(FIO_ENGINE)

$(FIO_TREE)/config-host.h:
	@if [ -z '$(FIO_DEB_VERSION)' ]; then \
		echo "tools/fio: fio is not installed: run tools/deps.sh" >&2; exit 1; fi
	tools/fio/fetch-src $(FIO_SRC_DIR)

# libring is linked in and hidden (--exclude-libs): the .so exports only
# `ioengine`. fio's functions resolve against the fio binary at dlopen, so
# each undefined symbol that is not libc's must be one fio exports.
$(FIO_ENGINE): tools/fio/ring-fio.c $(FIO_TREE)/config-host.h lib/libring.a \
		include/libring.h include/uapi/linux/ring.h tools/fio/build.mk
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(USER_CFLAGS) $(FIO_ENGINE_CFLAGS) -shared \
		-Wl,--exclude-libs,ALL -o $@.tmp $< lib/libring.a
	@exp=$$(nm -D --defined-only $@.tmp | awk '{ print $$3 }'); \
	if [ "$$exp" != ioengine ]; then \
		echo "$@ exports more than ioengine:" $$exp >&2; exit 1; fi
	@fio=$$(command -v fio); \
	miss=$$(comm -23 <(nm -D --undefined-only $@.tmp | \
			awk '$$1 == "U" && $$2 !~ /@/ { print $$2 }' | sort) \
		<(nm -D --defined-only "$$fio" | awk '{ print $$3 }' | sort)); \
	if [ -n "$$miss" ]; then \
		echo "$@ needs symbols $$fio does not export:" $$miss >&2; exit 1; fi
	mv $@.tmp $@

# fio's own benchmark program t/io_uring, from the same tree, as
# $(BUILD)/tools/fio/t-io_uring: io_uring's yardstick in make bench, run
# unmodified on io_uring and through tools/ring-run on /dev/ring. Built
# with the flags fio's Makefile gives it (`make t/io_uring` there), from the
# four sources of its T_IOU_RING_OBJS, without touching the tree.
# t-io_uring-libc is the same program making io_uring_enter() through libc's
# syscall() (tools/fio/t-io_uring-libc.c says why).
T_IO_URING	:= $(BUILD)/tools/fio/t-io_uring
T_IO_URING_LIBC	:= $(BUILD)/tools/fio/t-io_uring-libc
T_IO_URING_SRCS	:= t/io_uring.c lib/rand.c lib/pattern.c lib/strntol.c
T_IO_URING_CFLAGS := -std=gnu99 -O3 -g -ffast-math -D_GNU_SOURCE \
		     -D_LARGEFILE_SOURCE -D_FILE_OFFSET_BITS=64 -DFIO_INTERNAL \
		     -DFIO_INC_DEBUG -DBITS_PER_LONG=$(shell getconf LONG_BIT) \
		     -I$(FIO_TREE) -include $(FIO_TREE)/config-host.h

.PHONY: t-io_uring
t-io_uring: $(T_IO_URING) $(T_IO_URING_LIBC)
tests: $(T_IO_URING) $(T_IO_URING_LIBC)

$(T_IO_URING): $(FIO_TREE)/config-host.h tools/fio/build.mk
	@mkdir -p $(@D)
	$(CC) $(T_IO_URING_CFLAGS) -o $@.tmp \
		$(addprefix $(FIO_TREE)/,$(T_IO_URING_SRCS)) -lm -lpthread
	mv $@.tmp $@

$(T_IO_URING_LIBC): tools/fio/t-io_uring-libc.c $(FIO_TREE)/config-host.h tools/fio/build.mk
	@mkdir -p $(@D)
	$(CC) $(T_IO_URING_CFLAGS) -o $@.tmp $< \
		$(addprefix $(FIO_TREE)/,$(filter-out t/io_uring.c,$(T_IO_URING_SRCS))) \
		-lm -lpthread
	mv $@.tmp $@
