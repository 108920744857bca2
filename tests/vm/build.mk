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
