# Tools built with the library: the demo behind `make demo`, and
# enter-steps (the cost of one ENTER, step by step: benchmarks.md).
TOOL_BINS := $(BUILD)/tools/nop-demo $(BUILD)/tools/enter-steps

$(BUILD)/tools/%: tools/demo/%.c lib/libring.a include/libring.h include/uapi/linux/ring.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(USER_CFLAGS) -o $@ $< lib/libring.a

tests: $(TOOL_BINS)
