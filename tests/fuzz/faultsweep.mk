# make faultsweep: the fault-injection sweep of ring.ko (tests/fuzz/faultsweep.c)
# on the debug kernel (6.1.192-ringdebug: failslab, fail_page_alloc,
# fail_usercopy, fail-nth, the stack-trace filter), in the VM.  Without that
# kernel it says SKIP and succeeds.  FAULTSWEEP_ARGS names scenarios.

FAULTSWEEP	:= $(BUILD)/tests/fuzz/faultsweep

tests: $(FAULTSWEEP)

$(FAULTSWEEP): tests/fuzz/faultsweep.c $(VMTEST_HELPER) lib/libring.a \
		$(VMTEST_DEPS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(USER_CFLAGS) -o $@ $< $(VMTEST_HELPER) lib/libring.a \
		-lcmocka -lpthread

.PHONY: faultsweep
faultsweep: deps
	@set -- /boot/vmlinuz-*-ringdebug; \
	if [ ! -e "$$1" ]; then \
		echo "SKIP: no debug kernel (/boot/vmlinuz-*-ringdebug): the sweep needs its fault injection"; \
		exit 0; \
	fi; \
	$(MAKE) --no-print-directory all && \
	start=$$(date +%s) && \
	tools/vm/run --kernel debug -- $(FAULTSWEEP) $(FAULTSWEEP_ARGS); \
	rc=$$?; echo "faultsweep: exit $$rc, wall time $$(( $$(date +%s) - start ))s"; \
	exit $$rc
