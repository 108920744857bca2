# io_uring compatibility (included by the top-level Makefile; paths are
# relative to the top):
#
#   $(BUILD)/lib/compat/liburing.so.2.3, its soname link liburing.so.2:
#       the drop-in liburing with liburing 2.3's ABI, on /dev/ring
#   $(BUILD)/lib/compat/libring-preload.so: the LD_PRELOAD shim that turns
#       syscall(__NR_io_uring_*) into /dev/ring ioctls
#
# Both link their own copy of the translator (translate.c, hidden).
# tools/ring-run runs a program with both; make install puts them in
# $(PKGLIBDIR) (tools/install.mk), away from the linker's search path.

COMPAT_DIR	:= $(BUILD)/lib/compat
COMPAT_HDRS	:= $(wildcard lib/compat/*.h) include/uapi/linux/ring.h \
		   include/libring.h
COMPAT_XL_OBJ	:= $(COMPAT_DIR)/translate.o
COMPAT_LU_OBJS	:= $(patsubst lib/compat/%.c,$(COMPAT_DIR)/%.o,\
		   lib/compat/setup.c lib/compat/queue.c lib/compat/register.c \
		   lib/compat/syscall.c) $(COMPAT_XL_OBJ)
COMPAT_LU_REAL	:= $(COMPAT_DIR)/liburing.so.2.3
COMPAT_LU	:= $(COMPAT_DIR)/liburing.so.2
COMPAT_PRELOAD	:= $(COMPAT_DIR)/libring-preload.so

.PHONY: compat
lib: compat
compat: $(COMPAT_LU) $(COMPAT_PRELOAD)

$(COMPAT_DIR)/%.o: lib/compat/%.c $(COMPAT_HDRS) lib/compat/build.mk
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(USER_CFLAGS) -c -o $@ $<

# Linked, then checked against Debian's liburing.so.2 (SKIP without it)
# before it takes the real name.
$(COMPAT_LU_REAL): $(COMPAT_LU_OBJS) lib/compat/liburing.map lib/compat/abi-check
	$(CC) $(CFLAGS) -shared -Wl,-soname,liburing.so.2 \
		-Wl,--version-script=lib/compat/liburing.map -Wl,-z,defs \
		-o $@.tmp $(COMPAT_LU_OBJS) -lpthread
	CC='$(CC)' lib/compat/abi-check $@.tmp
	mv $@.tmp $@

$(COMPAT_LU): $(COMPAT_LU_REAL)
	ln -sfn $(notdir $<) $@

# The shim defines syscall() and, for trap.c, the two signal-mask calls.
$(COMPAT_PRELOAD): $(COMPAT_DIR)/preload.o $(COMPAT_DIR)/trap.o $(COMPAT_XL_OBJ)
	$(CC) $(CFLAGS) -shared -Wl,-z,defs -o $@.tmp $^ -ldl -lpthread
	@bad=$$(nm -D --defined-only $@.tmp | awk '$$3 !~ /^(syscall|sigprocmask|pthread_sigmask)$$/ { print $$3 }'); \
	if [ -n "$$bad" ]; then \
		echo "$@ exports more than syscall: $$bad" >&2; exit 1; fi
	mv $@.tmp $@

# ---- make install (the hooks of tools/install.mk) --------------------------
# The drop-in goes to $(PKGLIBDIR), which the dynamic linker never searches
# by itself: only ring-run's LD_LIBRARY_PATH makes programs load it, so it
# never shadows the system's liburing.  The installed ring-run names that
# directory (substituted here, as the variables of this install say).
COMPAT_RUN	:= $(BUILD)/install/ring-run
INSTALL_BINS	+= $(COMPAT_RUN)

.PHONY: FORCE_RING_RUN
FORCE_RING_RUN:
$(COMPAT_RUN): tools/ring-run FORCE_RING_RUN
	@mkdir -p $(@D)
	@sed "s|@RING_COMPAT_LIBDIR@|$(PKGLIBDIR)|" $< >$@.tmp
	@chmod 0755 $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@

install-local:: $(COMPAT_LU) $(COMPAT_PRELOAD)
	$(INSTALL) -d $(DESTDIR)$(PKGLIBDIR)
	$(INSTALL) -m 0644 $(COMPAT_LU_REAL) $(COMPAT_PRELOAD) $(DESTDIR)$(PKGLIBDIR)/
	ln -sfn $(notdir $(COMPAT_LU_REAL)) $(DESTDIR)$(PKGLIBDIR)/$(notdir $(COMPAT_LU))

uninstall-local::
	rm -f $(addprefix $(DESTDIR)$(PKGLIBDIR)/,$(notdir $(COMPAT_LU_REAL) \
		$(COMPAT_LU) $(COMPAT_PRELOAD)))
