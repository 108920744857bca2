# make install / make uninstall, included by the top-level Makefile.
# Paths are relative to the top.
#
#   make install [DESTDIR=/tmp/stage] [PREFIX=/usr] [LIBDIR=...]
#       libring (libring.so.1.1.0, its soname link libring.so.1, the
#       development link libring.so, libring.a), the headers, libring.pc,
#       ringbench, the fio engine, the man pages, the udev rule and, in
#       DOCDIR/examples, modprobe.d / modules-load.d examples, ring-nop.c
#       and ring.fio.  Not the module: see below.
#       Man pages that are symbolic links (aliases, man/man3) stay links.
#   make uninstall     removes exactly what install installed (same variables)
#   make install-dkms-src   the module's source and dkms.conf into
#       $(DESTDIR)/usr/src/ring-VERSION, what DKMS builds (the ring-dkms
#       package is made of it)
#   make dkms-install  install-dkms-src, then dkms add, and dkms install for
#       every kernel in DKMS_KERNELS (default: each with headers in
#       /lib/modules/REL/build); make dkms-uninstall: dkms remove --all and
#       the source tree
#   make modules_install [KDIR=/lib/modules/REL/build]
#       without DKMS: ring.ko into /lib/modules/REL/updates/ (and depmod),
#       for KDIR's kernel or for each kernel make built in build/REL/
#
# Hooks for what does not exist yet (the drop-in liburing, ring-run): a
# fragment that builds a program adds it to INSTALL_BINS (installed into
# BINDIR, removed by uninstall); anything else adds its own recipes to the
# double-colon rules install-local:: and uninstall-local::, using the
# directory variables below.  debian/ picks up everything in usr/bin and
# fails the build (dh_missing) on an installed file no package claims.

PREFIX		?= /usr/local
EXEC_PREFIX	?= $(PREFIX)
BINDIR		?= $(EXEC_PREFIX)/bin
LIBDIR		?= $(EXEC_PREFIX)/lib
INCLUDEDIR	?= $(PREFIX)/include
DATADIR		?= $(PREFIX)/share
MANDIR		?= $(DATADIR)/man
DOCDIR		?= $(DATADIR)/doc/ring
PKGCONFIGDIR	?= $(LIBDIR)/pkgconfig
# Plugins that are not libraries to link with: the fio engine.
PKGLIBDIR	?= $(LIBDIR)/ring
# udev reads rules from fixed places only, whatever the prefix.
UDEVRULESDIR	?= $(or $(shell pkg-config --variable=udevdir udev 2>/dev/null),/lib/udev)/rules.d
DKMS_SRCROOT	?= /usr/src
INSTALL		?= install

# One version for libring, its .pc and the DKMS package: the real name of
# the shared library (lib/build.mk), libring.so.X.Y.Z.
RING_VERSION	:= $(LIBRING_REAL:libring.so.%=%)
DKMS_VERSION	:= $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)
DKMS_SRCDIR	:= $(DKMS_SRCROOT)/ring-$(RING_VERSION)
DKMS_FILES	:= dkms.conf Kbuild kmod/Kbuild $(wildcard kmod/*.c kmod/*.h) \
		   include/uapi/linux/ring.h
DKMS_KERNELS	?= $(patsubst /lib/modules/%/build,%,$(wildcard /lib/modules/*/build))

INSTALL_BINS	+= $(BUILD)/tools/ringbench
MAN_PAGES	:= $(sort $(wildcard man/man[1-8]/*.[1-8]))
EXAMPLES	:= packaging/modprobe.d-ring.conf packaging/modules-load.d-ring.conf \
		   packaging/ring-nop.c tools/fio/ring.fio
INSTALL_PC	:= $(BUILD)/install/libring.pc

.PHONY: install uninstall install-lib install-tools install-man install-data \
	install-dkms-src dkms-install dkms-uninstall modules_install \
	install-local uninstall-local

install: install-lib install-tools install-man install-data install-local
install-local:: ;
uninstall-local:: ;

# The installed .pc names the installed directories, relative to ${prefix}
# where they are under it (so PKG_CONFIG_SYSROOT_DIR works on a staged tree).
pc_dir = $(patsubst $(PREFIX)/%,$${prefix}/%,$(1))
$(INSTALL_PC): lib/build.mk tools/install.mk FORCE_PC
	@mkdir -p $(@D)
	@printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(call pc_dir,$(LIBDIR))' \
		'includedir=$(call pc_dir,$(INCLUDEDIR))' '' 'Name: libring' \
		'Description: liburing-style library for /dev/ring' \
		'Version: $(RING_VERSION)' 'Cflags: -I$${includedir}' 'Libs: -L$${libdir} -lring' > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@
.PHONY: FORCE_PC
FORCE_PC:

install-lib: lib $(INSTALL_PC)
	$(INSTALL) -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR) \
		$(DESTDIR)$(INCLUDEDIR)/linux
	$(INSTALL) -m 0644 lib/$(LIBRING_REAL) $(DESTDIR)$(LIBDIR)/
	ln -sfn $(LIBRING_REAL) $(DESTDIR)$(LIBDIR)/$(LIBRING_SONAME)
	ln -sfn $(LIBRING_SONAME) $(DESTDIR)$(LIBDIR)/libring.so
	$(INSTALL) -m 0644 lib/libring.a $(DESTDIR)$(LIBDIR)/
	$(INSTALL) -m 0644 include/libring.h $(DESTDIR)$(INCLUDEDIR)/
	$(INSTALL) -m 0644 include/uapi/linux/ring.h $(DESTDIR)$(INCLUDEDIR)/linux/
	$(INSTALL) -m 0644 $(INSTALL_PC) $(DESTDIR)$(PKGCONFIGDIR)/

install-tools: $(INSTALL_BINS) $(FIO_ENGINE)
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(PKGLIBDIR)
	$(INSTALL) -m 0755 $(INSTALL_BINS) $(DESTDIR)$(BINDIR)/
	$(INSTALL) -m 0644 $(FIO_ENGINE) $(DESTDIR)$(PKGLIBDIR)/

install-man: $(MAN_PAGES)
	@set -e; for p in $(MAN_PAGES); do \
		d=$(DESTDIR)$(MANDIR)/$$(basename $$(dirname $$p)); \
		$(INSTALL) -d $$d; \
		if [ -L $$p ]; then \
			echo "ln -sfn $$(readlink $$p) $$d/$$(basename $$p)"; \
			ln -sfn $$(readlink $$p) $$d/$$(basename $$p); \
		else \
			echo "$(INSTALL) -m 0644 $$p $$d/"; \
			$(INSTALL) -m 0644 $$p $$d/; \
		fi; \
	done

install-data: packaging/60-ring.rules $(EXAMPLES)
	$(INSTALL) -d $(DESTDIR)$(UDEVRULESDIR) $(DESTDIR)$(DOCDIR)/examples
	$(INSTALL) -m 0644 packaging/60-ring.rules $(DESTDIR)$(UDEVRULESDIR)/
	$(INSTALL) -m 0644 $(EXAMPLES) $(DESTDIR)$(DOCDIR)/examples/

uninstall: uninstall-local
	rm -f $(DESTDIR)$(LIBDIR)/$(LIBRING_REAL) \
		$(DESTDIR)$(LIBDIR)/$(LIBRING_SONAME) \
		$(DESTDIR)$(LIBDIR)/libring.so $(DESTDIR)$(LIBDIR)/libring.a \
		$(DESTDIR)$(INCLUDEDIR)/libring.h \
		$(DESTDIR)$(INCLUDEDIR)/linux/ring.h \
		$(DESTDIR)$(PKGCONFIGDIR)/libring.pc \
		$(addprefix $(DESTDIR)$(BINDIR)/,$(notdir $(INSTALL_BINS))) \
		$(DESTDIR)$(PKGLIBDIR)/$(notdir $(FIO_ENGINE)) \
		$(addprefix $(DESTDIR)$(MANDIR)/,$(MAN_PAGES:man/%=%)) \
		$(DESTDIR)$(UDEVRULESDIR)/60-ring.rules \
		$(addprefix $(DESTDIR)$(DOCDIR)/examples/,$(notdir $(EXAMPLES)))
	-rmdir $(DESTDIR)$(PKGLIBDIR) $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR) \
		2>/dev/null

# ---- the module ----------------------------------------------------------
install-dkms-src: $(DKMS_FILES)
	@if [ '$(DKMS_VERSION)' != '$(RING_VERSION)' ]; then \
		echo "dkms.conf: PACKAGE_VERSION '$(DKMS_VERSION)' is not libring's $(RING_VERSION) (lib/build.mk)" >&2; \
		exit 1; fi
	@grep -q 'MODULE_VERSION("$(RING_VERSION)")' kmod/main.c || { \
		echo "kmod/main.c: MODULE_VERSION is not libring's $(RING_VERSION)" >&2; exit 1; }
	@set -e; for f in $(DKMS_FILES); do \
		$(INSTALL) -d $(DESTDIR)$(DKMS_SRCDIR)/$$(dirname $$f); \
		$(INSTALL) -m 0644 $$f $(DESTDIR)$(DKMS_SRCDIR)/$$f; \
	done
	@echo "install-dkms-src: $(DESTDIR)$(DKMS_SRCDIR)"

dkms-install: install-dkms-src
	dkms add -m ring -v $(RING_VERSION)
	@set -e; for k in $(DKMS_KERNELS); do \
		echo "dkms install -m ring -v $(RING_VERSION) -k $$k"; \
		dkms install -m ring -v $(RING_VERSION) -k $$k; \
	done

dkms-uninstall:
	-dkms remove -m ring -v $(RING_VERSION) --all
	rm -rf $(DESTDIR)$(DKMS_SRCDIR)

ifneq ($(KDIR),)
modules_install: modules
	$(MAKE) -C $(KDIR) M=$(CURDIR) INSTALL_MOD_PATH=$(DESTDIR) INSTALL_MOD_DIR=updates modules_install
else
modules_install: modules
	@set -e; for k in $(KERNELS); do \
		echo "modules_install: $$k"; \
		$(MAKE) -C /lib/modules/$$k/build M=$(CURDIR)/$(BUILD)/$$k \
			INSTALL_MOD_PATH=$(DESTDIR) INSTALL_MOD_DIR=updates modules_install; \
	done
endif
