# Host unit tests of libring: each tests/unit/NAME.c becomes
# build/tests/unit/NAME, linked against lib/libring.a with the syscalls
# libring makes wrapped (-Wl,--wrap) into the fake kernel in
# tests/unit/fake/. Both the plain and the LFS names are wrapped so that a
# build with -D_FILE_OFFSET_BITS=64 cannot slip past the fake.

UNIT_SRCS	:= $(wildcard tests/unit/*.c)
UNIT_TESTS	:= $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRCS))
UNIT_FAKE_OBJ	:= $(BUILD)/tests/unit/fake/fake_kernel.o
UNIT_FAKE_HDRS	:= tests/unit/fake/fake_kernel.h include/uapi/linux/ring.h
UNIT_WRAP	:= $(foreach f,open open64 close ioctl mmap mmap64 munmap,-Wl,--wrap=$(f))

tests: $(UNIT_TESTS)

$(UNIT_FAKE_OBJ): tests/unit/fake/fake_kernel.c $(UNIT_FAKE_HDRS) tests/unit/build.mk
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(USER_CFLAGS) -c -o $@ $<

$(BUILD)/tests/unit/%: tests/unit/%.c $(UNIT_FAKE_OBJ) $(UNIT_FAKE_HDRS) \
		include/libring.h lib/libring.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(USER_CFLAGS) -Itests/unit/fake -o $@ $< \
		$(UNIT_FAKE_OBJ) lib/libring.a -lcmocka $(UNIT_WRAP)

# test_shared links the shared library as applications do: real syscalls,
# no fake kernel.
$(BUILD)/tests/unit/test_shared: tests/unit/test_shared.c include/libring.h \
		lib/libring.so
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(USER_CFLAGS) -o $@ $< -Llib -lring \
		-Wl,-rpath,$(CURDIR)/lib -lcmocka -ldl

# Run them all (UNIT_RUNNER=valgrind... to run each under a tool).
.PHONY: unit-check
unit-check: $(UNIT_TESTS)
	@set -e; for t in $(UNIT_TESTS); do echo "== $$t"; $(UNIT_RUNNER) $$t; done

# The io_uring compatibility layer (lib/compat/build.mk): the translator's
# object linked in directly (hidden in the libraries) with ioctl wrapped
# for test_compat_translate; the drop-in's submission paths for
# test_compat_queue; the shim's syscall() for test_compat_preload;
# the layout pinned against <liburing.h> by test_compat_layout.
$(BUILD)/tests/unit/test_compat_translate: tests/unit/test_compat_translate.c \
		$(COMPAT_XL_OBJ) $(COMPAT_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(USER_CFLAGS) -Ilib/compat -o $@ $< $(COMPAT_XL_OBJ) \
		-lcmocka -lpthread -Wl,--wrap=ioctl

$(BUILD)/tests/unit/test_compat_preload: tests/unit/test_compat_preload.c \
		$(COMPAT_DIR)/preload.o $(COMPAT_DIR)/trap.o $(COMPAT_XL_OBJ) \
		$(COMPAT_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(USER_CFLAGS) -o $@ $< $(COMPAT_DIR)/preload.o \
		$(COMPAT_DIR)/trap.o $(COMPAT_XL_OBJ) -lcmocka -ldl -lpthread

# test_compat_queue: the drop-in's queue.c with xl_enter defined by the
# test (it records each ENTER), on a ring in plain memory.
$(BUILD)/tests/unit/test_compat_queue: tests/unit/test_compat_queue.c \
		$(COMPAT_DIR)/queue.o $(COMPAT_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(USER_CFLAGS) -Ilib/compat -o $@ $< \
		$(COMPAT_DIR)/queue.o -lcmocka

$(BUILD)/tests/unit/test_compat_layout: tests/unit/test_compat_layout.c \
		$(COMPAT_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(USER_CFLAGS) -Ilib/compat -o $@ $< -lcmocka
