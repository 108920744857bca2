# The fuzzer (tests/fuzz/): build/tests/fuzz/ringfuzz runs inside the VM on
# the debug kernel; tests/fuzz/run drives it.  Its tables of opcodes,
# register operations and flags are generated from the uapi header, so
# whatever lands there is fuzzed without touching the fuzzer.
#
#   make fuzz [FUZZ_SECONDS=300]       fuzz, from tests/fuzz/corpus
#   make fuzz-replay FILE=prog         replay one program (crash check)
#   make coverage                      what the VM suite and the last fuzz
#                                      run reach of ring.ko, line by line

FUZZ_SECONDS	?= 300
FUZZ_DIR	:= $(BUILD)/tests/fuzz
FUZZ_OBJS	:= $(addprefix $(FUZZ_DIR)/,ringfuzz.o exec.o calls.o prog.o modtext.o uapi_tables.o)

tests: $(FUZZ_DIR)/ringfuzz $(FUZZ_DIR)/kcovrun

$(FUZZ_DIR)/kcovrun: $(FUZZ_DIR)/kcovrun.o $(FUZZ_DIR)/modtext.o
	$(CC) $(CFLAGS) -o $@ $^ -lpthread

$(FUZZ_DIR)/uapi_tables.c: include/uapi/linux/ring.h tests/fuzz/build.mk
	@mkdir -p $(@D)
	@{ echo '/* Generated from include/uapi/linux/ring.h by tests/fuzz/build.mk. */'; \
	  echo '#include <stddef.h>'; echo '#include <linux/ring.h>'; \
	  echo '#include "fuzz.h"'; \
	  gen() { echo "const struct fz_const $$1[] = {"; \
		  sed -nE "$$2" $<; echo '};'; \
		  echo "const size_t fz_nr_$${1#fz_} = sizeof($$1) / sizeof($$1[0]);"; }; \
	  gen fz_ops 's/^[[:space:]]*(RING_OP_[A-Z0-9_]+)[[:space:]]*=.*/\t{ "\1", \1 },/p'; \
	  gen fz_regops 's/^[[:space:]]*(RING_(UN)?REGISTER_[A-Z0-9_]+|RING_IOTLB_(UN)?MAP)[[:space:]]*=.*/\t{ "\1", \1 },/p'; \
	  gen fz_setup_flags 's/^#define[[:space:]]+(RING_SETUP_[A-Z0-9_]+)[[:space:]].*/\t{ "\1", \1 },/p'; \
	  gen fz_enter_flags 's/^#define[[:space:]]+(RING_ENTER_[A-Z0-9_]+)[[:space:]].*/\t{ "\1", \1 },/p'; \
	  gen fz_sqe_flags 's/^#define[[:space:]]+(RING_SQE_[A-Z0-9_]+)[[:space:]].*/\t{ "\1", \1 },/p'; \
	} >$@.tmp && mv $@.tmp $@

$(FUZZ_DIR)/%.o: tests/fuzz/%.c tests/fuzz/fuzz.h include/uapi/linux/ring.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(USER_CFLAGS) -Itests/fuzz -c -o $@ $<

$(FUZZ_DIR)/uapi_tables.o: $(FUZZ_DIR)/uapi_tables.c tests/fuzz/fuzz.h
	$(CC) $(CFLAGS) $(USER_CFLAGS) -Itests/fuzz -c -o $@ $<

$(FUZZ_DIR)/ringfuzz: $(FUZZ_OBJS)
	$(CC) $(CFLAGS) -o $@ $^ -lpthread

.PHONY: fuzz fuzz-replay coverage
fuzz: deps
	@$(MAKE) --no-print-directory all
	@tests/fuzz/run --seconds $(FUZZ_SECONDS) $(FUZZ_ARGS)

fuzz-replay: deps
	@test -n "$(FILE)" || { echo "make fuzz-replay FILE=program" >&2; exit 2; }
	@$(MAKE) --no-print-directory all
	@tests/fuzz/run --replay $(FILE) $(FUZZ_ARGS)

coverage: deps
	@$(MAKE) --no-print-directory all
	@tests/fuzz/suite-coverage
