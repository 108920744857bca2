# VM tests: cmocka programs run inside the VM (tests/vm/run-suite) against
# the real module. Each tests/vm/test_NAME.c becomes build/tests/vm/test_NAME,
# linked with the shared helpers (vmtest.c, iotest.c) and libring.

VMTEST_SRCS	:= $(wildcard tests/vm/test_*.c)
VMTEST_BINS	:= $(patsubst tests/vm/%.c,$(BUILD)/tests/vm/%,$(VMTEST_SRCS))
VMTEST_HELPER	:= $(BUILD)/tests/vm/vmtest.o $(BUILD)/tests/vm/iotest.o
VMTEST_DEPS	:= $(wildcard tests/vm/*.h) include/uapi/linux/ring.h \
		   include/libring.h

tests: $(VMTEST_BINS)

$(VMTEST_HELPER): $(BUILD)/tests/vm/%.o: tests/vm/%.c $(VMTEST_DEPS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(USER_CFLAGS) -c -o $@ $<

$(VMTEST_BINS): $(BUILD)/tests/vm/%: tests/vm/%.c $(VMTEST_HELPER) \
		lib/libring.a $(VMTEST_DEPS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(USER_CFLAGS) -o $@ $< $(VMTEST_HELPER) lib/libring.a \
		-lcmocka -lpthread

# Programs test_uring_compat runs, built as applications are and not with
# libring: uring-app against the system's <liburing.h> and -luring
# (Debian's liburing.so.2 at link time, the drop-in at run time; only where
# liburing-dev is installed, else the test says SKIP), raw-syscall with
# libc's syscall() (run through tools/ring-run).  They are not test_*
# programs, so run-suite runs them only through test_uring_compat.
VMCOMPAT_DIR	:= $(BUILD)/tests/vm/compat
VMCOMPAT_BINS	:= $(VMCOMPAT_DIR)/raw-syscall
ifneq ($(wildcard /usr/include/liburing.h),)
VMCOMPAT_BINS	+= $(VMCOMPAT_DIR)/uring-app
endif

tests: $(VMCOMPAT_BINS)

$(VMCOMPAT_DIR)/uring-app: tests/vm/compat/uring-app.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -std=gnu11 -D_GNU_SOURCE $(WARN_CFLAGS) -o $@ $< -luring

$(VMCOMPAT_DIR)/raw-syscall: tests/vm/compat/raw-syscall.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -std=gnu11 -D_GNU_SOURCE $(WARN_CFLAGS) -o $@ $<
