# libring: lib/libring.a and lib/libring.so -> .so.1 -> .so.1.1.0.
# Included by the top-level Makefile; paths are relative to the top.

LIBRING_SRCS	:= $(wildcard lib/*.c)
LIBRING_OBJS	:= $(patsubst lib/%.c,$(BUILD)/lib/%.o,$(LIBRING_SRCS))
LIBRING_HDRS	:= include/libring.h include/uapi/linux/ring.h
LIBRING_SONAME	:= libring.so.1
LIBRING_REAL	:= libring.so.1.1.0

lib: lib/libring.a lib/libring.so $(BUILD)/lib/libring.pc

# USER_CFLAGS has -fPIC, so one set of objects serves both libraries.
$(BUILD)/lib/%.o: lib/%.c $(LIBRING_HDRS) lib/build.mk
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(USER_CFLAGS) -c -o $@ $<

lib/libring.a: $(LIBRING_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

lib/$(LIBRING_REAL): $(LIBRING_OBJS) lib/libring.map
	$(CC) $(CFLAGS) -shared -Wl,-soname,$(LIBRING_SONAME) \
		-Wl,--version-script=lib/libring.map -Wl,-z,defs \
		-o $@.tmp $(LIBRING_OBJS)
	@bad=$$(nm -D --defined-only $@.tmp | \
		awk '$$3 !~ /^(ring_|LIBRING_)/ { print $$3 }'); \
	if [ -n "$$bad" ]; then \
		echo "$@ exports more than ring_*: $$bad" >&2; exit 1; fi
	mv $@.tmp $@

lib/$(LIBRING_SONAME): lib/$(LIBRING_REAL)
	ln -sfn $(LIBRING_REAL) $@

lib/libring.so: lib/$(LIBRING_SONAME)
	ln -sfn $(LIBRING_SONAME) $@

# For building against the tree: PKG_CONFIG_PATH=$(BUILD)/lib.
$(BUILD)/lib/libring.pc: lib/build.mk
	@mkdir -p $(@D)
	printf '%s\n' 'prefix=$(CURDIR)' 'Name: libring' \
		'Description: liburing-style library for /dev/ring' \
		'Version: 1.1.0' 'Cflags: -I$${prefix}/include -I$${prefix}/include/uapi' \
		'Libs: -L$${prefix}/lib -Wl,-rpath,$${prefix}/lib -lring' > $@
