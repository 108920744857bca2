# Tools built with the library: the demo behind `make demo`, and
# enter-steps (the cost of one ENTER, step by step: benchmarks.md).
TOOL_BINS := $(BUILD)/tools/nop-demo $(BUILD)/tools/enter-steps

$(BUILD)/tools/%: tools/demo/%.c lib/libring.a include/libring.h include/uapi/linux/ring.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(USER_CFLAGS) -o $@ $< lib/libring.a

# Its io_uring steps go through liburing, as ringbench's uring engine.
$(BUILD)/tools/enter-steps: tools/demo/enter-steps.c tools/demo/enter-steps-uring.c \
		tools/demo/enter-steps.h lib/libring.a include/libring.h \
		include/uapi/linux/ring.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(USER_CFLAGS) -o $@ tools/demo/enter-steps.c \
		tools/demo/enter-steps-uring.c lib/libring.a -luring

tests: $(TOOL_BINS)
