# ringbench: build/tools/ringbench, included by the top-level Makefile.
# Paths are relative to the top. Needs liburing (liburing-dev) for the
# io_uring engines it compares against.

RINGBENCH_SRCS	:= $(wildcard tools/ringbench/*.c)
RINGBENCH_HDRS	:= $(wildcard tools/ringbench/*.h) include/libring.h \
		   include/uapi/linux/ring.h

tests: $(BUILD)/tools/ringbench

# A handful of small files: one compile, no object directory.
$(BUILD)/tools/ringbench: $(RINGBENCH_SRCS) $(RINGBENCH_HDRS) lib/libring.a \
		tools/ringbench/build.mk
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(USER_CFLAGS) -o $@ $(RINGBENCH_SRCS) lib/libring.a -luring
