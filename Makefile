# Clockwerk build. `make` builds every binary into bin/; `make run` and `make test` install what they
# need first (see the README). Sources are picked up by wildcard, one folder per program: adding a file
# to a folder needs no change here.

.DEFAULT_GOAL := all

CC       ?= cc
CSTD     := -std=c11 -D_GNU_SOURCE
WARN     := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
OPT      ?= -O2 -g
SAN      ?=
CFLAGS   += $(CSTD) $(WARN) $(OPT) $(SAN) -I. $(shell pkg-config --cflags libmariadb 2>/dev/null)
LDFLAGS  += $(SAN) -Wl,--as-needed

# BUILD selects an output tree: `make` -> build/ and bin/; `make BUILD=asan` -> build/asan/ and build/asan/bin/.
ifeq ($(BUILD),asan)
  SAN    := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
  OPT    := -O1 -g
  OUT    := build/asan
  BIN    := build/asan/bin
else
  OUT    := build/default
  BIN    := bin
endif

LIB_ZMQ    := -lzmq
LIB_CURL   := -lcurl
LIB_CONFIG := -lconfig -lpcre2-8 # the config compiles body_regex patterns at load (a bad one is a -t error)
LIB_JSON   := -ljson-c
LIB_DB     := -lsqlite3 -lpq $(shell pkg-config --libs libmariadb 2>/dev/null || echo -lmariadb)
LIB_SYS    := -lm -lpthread
LIB_HTTPD  := $(shell pkg-config --libs libmicrohttpd 2>/dev/null || echo -lmicrohttpd)
# The checks beyond HTTP (issue 14): c-ares (DNS, asynchronous name lookups), OpenSSL (tls checks), PCRE2 (body
# regexes)
LIB_CHECKS := -lcares -lssl -lcrypto -lpcre2-8
# systemd (issue 17): sd_notify for the supervisor, sd_journal_send for log_target = "journal"
LIB_SYSTEMD := $(shell pkg-config --libs libsystemd 2>/dev/null || echo -lsystemd)
LIB_SYS    += $(LIB_SYSTEMD) # every program logs through common/base (log_target = "journal")

COMMON_SRC := $(wildcard common/*/*.c)
COMMON_OBJ := $(COMMON_SRC:%.c=$(OUT)/%.o)
COMMON_LIB := $(OUT)/libcommon.a

# Each program: every .c in its folder; main.c stays out of the folder's library so unit tests can link it.
PROGRAMS := supervisor worker storer alerter tap relay report web
# Library folders: built like a program's folder, without a program. history/: the history's read-side math
# (windows, tallies, downtime) that clockwerk-report and clockwerk-web share.
LIBFOLDERS := history
FOLDERS    := $(PROGRAMS) $(LIBFOLDERS)
define program_rules
$(1)_SRC := $$(filter-out $(1)/main.c,$$(wildcard $(1)/*.c))
$(1)_OBJ := $$($(1)_SRC:%.c=$$(OUT)/%.o)
$(1)_LIB := $$(OUT)/lib$(1).a
$$($(1)_LIB): $$($(1)_OBJ) $$(OUT)/lib$(1).members
	@mkdir -p $$(dir $$@)
	rm -f $$@ && ar rcs $$@ $$(filter %.o,$$^)
endef
$(foreach p,$(FOLDERS),$(eval $(call program_rules,$(p))))

# Each archive's list of members in a file rewritten only when the list changes: a source file that was removed
# (or added) rebuilds its archive, which make alone would not see (a stale member would then clash at link time).
members_file = $(shell mkdir -p $(OUT) && (echo '$(2)' | cmp -s - $(1) 2>/dev/null || echo '$(2)' > $(1)))
$(foreach p,$(FOLDERS),$(call members_file,$(OUT)/lib$(p).members,$($(p)_OBJ)))
$(call members_file,$(OUT)/libcommon.members,$(COMMON_OBJ))

ALL_LIBS   := $(LIB_ZMQ) $(LIB_CURL) $(LIB_CONFIG) $(LIB_JSON) $(LIB_DB) $(LIB_HTTPD) $(LIB_CHECKS) $(LIB_SYS)

TARGETS := $(BIN)/clockwerk $(BIN)/clockwerk-worker $(BIN)/clockwerk-storer $(BIN)/clockwerk-alerter \
           $(BIN)/clockwerk-tap $(BIN)/clockwerk-relay $(BIN)/clockwerk-report $(BIN)/clockwerk-web

.PHONY: all clean deps test-deps run test unit e2e chaos asan bench bench-smoke bench-programs
all: $(TARGETS)

$(OUT)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(COMMON_LIB): $(COMMON_OBJ) $(OUT)/libcommon.members
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $(filter %.o,$^)

$(BIN)/clockwerk: $(OUT)/supervisor/main.o $(supervisor_LIB) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIB_CONFIG) $(LIB_ZMQ) $(LIB_CURL) $(LIB_JSON) $(LIB_SYS)
$(BIN)/clockwerk-worker: $(OUT)/worker/main.o $(worker_LIB) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIB_CURL) $(LIB_CHECKS) $(LIB_ZMQ) $(LIB_CONFIG) $(LIB_JSON) $(LIB_SYS)
$(BIN)/clockwerk-storer: $(OUT)/storer/main.o $(storer_LIB) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIB_DB) $(LIB_ZMQ) $(LIB_CONFIG) $(LIB_SYS)
$(BIN)/clockwerk-alerter: $(OUT)/alerter/main.o $(alerter_LIB) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIB_CURL) $(LIB_ZMQ) $(LIB_JSON) $(LIB_CONFIG) $(LIB_SYS)
$(BIN)/clockwerk-tap: $(OUT)/tap/main.o $(tap_LIB) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIB_CONFIG) $(LIB_ZMQ) $(LIB_JSON) $(LIB_SYS)
$(BIN)/clockwerk-relay: $(OUT)/relay/main.o $(relay_LIB) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIB_ZMQ) $(LIB_CONFIG) $(LIB_SYS)
$(BIN)/clockwerk-web: $(OUT)/web/main.o $(web_LIB) $(history_LIB) $(storer_LIB) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIB_HTTPD) $(LIB_DB) $(LIB_ZMQ) $(LIB_CONFIG) $(LIB_JSON) $(LIB_CHECKS) $(LIB_SYS)
$(BIN)/clockwerk-report: $(OUT)/report/main.o $(report_LIB) $(history_LIB) $(storer_LIB) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIB_DB) $(LIB_JSON) $(LIB_CONFIG) $(LIB_ZMQ) $(LIB_SYS)

# ---- unit tests (cmocka): tests/unit/test_NAME.c -> $(OUT)/tests/test_NAME, linked with every folder's library.
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(UNIT_SRC:tests/unit/%.c=$(OUT)/tests/%)
PROG_LIBS  := $(foreach p,$(FOLDERS),$($(p)_LIB))
$(OUT)/tests/%: $(OUT)/tests/unit/%.o $(PROG_LIBS) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< -Wl,--start-group $(PROG_LIBS) $(COMMON_LIB) -Wl,--end-group -lcmocka $(ALL_LIBS)

# test_secret_wipe looks into every block the code under test frees (the secrets must be wiped first)
$(OUT)/tests/test_secret_wipe: LDFLAGS += -Wl,--wrap=free

# ---- benchmark programs: bench/NAME.c -> $(OUT)/bench/NAME, linked like the unit tests.
BENCH_SRC  := $(wildcard bench/*.c)
BENCH_BINS := $(BENCH_SRC:bench/%.c=$(OUT)/bench/%)
$(OUT)/bench/%: $(OUT)/bench/%.o $(PROG_LIBS) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< -Wl,--start-group $(PROG_LIBS) $(COMMON_LIB) -Wl,--end-group $(ALL_LIBS)
bench-programs: $(BENCH_BINS)

unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; (cd tests/unit && ../../$$t); done

# Two e2e tests at a time (independent: own directories, ports, servers); a test marked @harness.alone runs by
# itself. E2E_JOBS=1 runs them one by one. `make test` runs the plain pass three at a time (E2E_JOBS_PLAIN: most
# tests wait on timers and servers, not on the CPU, and the suite is kept green beside a CPU load), the sanitizer
# pass two at a time (its processes are several times heavier).
E2E_JOBS ?= 2
E2E_JOBS_PLAIN ?= 3
e2e: all bench-programs
	CLOCKWERK_BIN=$(abspath $(BIN)) /usr/bin/python3 tests/e2e/run.py -j $(E2E_JOBS)

# The full chaos suite (docs/operations.md, "Chaos testing"); its bounded version runs in e2e.
chaos: all
	CLOCKWERK_BIN=$(abspath $(BIN)) /usr/bin/python3 tests/chaos/run.py

# ---- fuzzing (docs/fuzzing.md): tests/fuzz/fuzz_NAME.c -> build/fuzz/fuzz_NAME, built with clang and
# libFuzzer+ASan+UBSan from the sources each harness needs (own object tree build/fuzz/obj: build/default
# and build/asan are not touched). `make fuzz` runs each FUZZ_SECONDS, `make fuzz-smoke` FUZZ_SMOKE_SECONDS.
FUZZ_CC            ?= clang
FUZZ_SECONDS       ?= 60
FUZZ_SMOKE_SECONDS ?= 10
FUZZ_HARNESSES     ?= config snapshot protocol mail webhook spool tap ack dns
FUZZ_OUT     := build/fuzz
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS  := $(CSTD) $(WARN) -O1 -g $(FUZZ_SAN) -fsanitize=fuzzer-no-link -I.
FUZZ_LIBS    := $(LIB_ZMQ) $(LIB_CONFIG) $(LIB_JSON) -lcares $(LIB_SYS)
FUZZ_COMMON  := $(COMMON_SRC:%.c=$(FUZZ_OUT)/obj/%.o)
FUZZ_ALERT   := $(addprefix $(FUZZ_OUT)/obj/alerter/,alert.o events.o mail.o mail_rfc2047.o mail_text.o)
fuzz_deps_config   := $(FUZZ_COMMON)
fuzz_deps_snapshot := $(FUZZ_COMMON)
fuzz_deps_protocol := $(FUZZ_COMMON)
fuzz_deps_mail     := $(FUZZ_COMMON) $(FUZZ_ALERT)
fuzz_deps_webhook  := $(FUZZ_COMMON) $(FUZZ_ALERT) $(addprefix $(FUZZ_OUT)/obj/alerter/,webhook.o state.o)
fuzz_deps_spool    := $(FUZZ_COMMON) $(addprefix $(FUZZ_OUT)/obj/storer/,spool.o batch.o)
fuzz_deps_tap      := $(FUZZ_COMMON) $(FUZZ_OUT)/obj/tap/format.o
fuzz_deps_dns      := $(FUZZ_COMMON) $(FUZZ_OUT)/obj/worker/dns_parse.o
# ackq.o and what it links against (bus.o for the queue's sends, bus_auth.o behind it, log, clock, util, protocol)
fuzz_deps_ack      := $(FUZZ_COMMON)
FUZZ_BINS    := $(FUZZ_HARNESSES:%=$(FUZZ_OUT)/fuzz_%)

$(FUZZ_OUT)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@
.PRECIOUS: $(FUZZ_OUT)/obj/%.o
.SECONDEXPANSION:
$(FUZZ_OUT)/fuzz_%: $(FUZZ_OUT)/obj/tests/fuzz/fuzz_%.o $$(fuzz_deps_$$*)
	$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $^ $(FUZZ_LIBS)

.PHONY: fuzz fuzz-build fuzz-smoke fuzz-seeds
fuzz-build: $(FUZZ_BINS)
fuzz: fuzz-build
	sh tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_HARNESSES)
# Regenerates the committed seeds (binary ones from the encoders, config ones from the sample configs).
fuzz-seeds: $(FUZZ_OUT)/obj/tests/fuzz/gen_seeds.o $(FUZZ_COMMON)
	$(FUZZ_CC) -fsanitize=fuzzer-no-link $(FUZZ_SAN) -o $(FUZZ_OUT)/gen_seeds $^ $(FUZZ_LIBS)
	mkdir -p tests/fuzz/corpus
	$(FUZZ_OUT)/gen_seeds
	mkdir -p tests/fuzz/corpus/config
	cp etc/clockwerk.conf tests/fuzz/corpus/config/sample.conf
	cp tests/unit/configs/full.conf tests/unit/configs/issue2.conf tests/unit/configs/errors.conf \
	   tests/unit/configs/types.conf tests/fuzz/corpus/config/
# The smoke run inside `make test` uses a fixed seed, so CI stays reproducible; `make fuzz` explores freely.
fuzz-smoke: fuzz-build
	FUZZ_SEED=1 sh tests/fuzz/run.sh $(FUZZ_SMOKE_SECONDS) $(FUZZ_HARNESSES)

# ---- the two commands of the README
deps:
	@sh tools/install-deps.sh run
test-deps:
	@sh tools/install-deps.sh test

run: deps all
	@sh tools/run-demo.sh $(BIN)

test: test-deps
	$(MAKE) all
	$(MAKE) unit
	$(MAKE) e2e E2E_JOBS=$(E2E_JOBS_PLAIN)
	$(MAKE) BUILD=asan all
	$(MAKE) BUILD=asan unit
	$(MAKE) BUILD=asan e2e
	$(MAKE) bench-smoke
	$(MAKE) fuzz-smoke

bench: all bench-programs
	@sh tools/install-deps.sh bench
	@sh bench/run.sh full
	@/usr/bin/python3 bench/web_bench.py
	@/usr/bin/python3 bench/tcp_bench.py
	@/usr/bin/python3 bench/dns_bench.py
	@/usr/bin/python3 bench/icmp_bench.py
	@/usr/bin/python3 bench/locations_bench.py
	@/usr/bin/python3 bench/scale_bench.py
bench-smoke: all bench-programs
	@sh bench/run.sh smoke
	@/usr/bin/python3 bench/web_bench.py --endpoints 500 --rate 150 --seconds 3 --requests 20
	@/usr/bin/python3 bench/tcp_bench.py --ports 50 --interval 0.5 --seconds 3 --floor-checks 2000
	@/usr/bin/python3 bench/dns_bench.py --endpoints 300 --seconds 3
	@/usr/bin/python3 bench/icmp_bench.py --endpoints 500 --interval 2 --seconds 3
	@/usr/bin/python3 bench/locations_bench.py --endpoints 200 --seconds 3
	@/usr/bin/python3 bench/scale_bench.py --smoke

# ---- make install / make uninstall (docs/install.md "From source"). Every directory may be set on the command line;
# DESTDIR goes before each installed path (a staged install, as a package build does: no root needed). The
# programs find each other relative to the running binary (supervisor/self.c): the helpers sit in
# BINDIR/../libexec/clockwerk, or beside clockwerk in BINDIR; install refuses any other LIBEXECDIR.
PREFIX      ?= /usr/local
DESTDIR     ?=
BINDIR      = $(PREFIX)/bin
LIBEXECDIR  = $(PREFIX)/libexec/clockwerk
SYSCONFDIR  = $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
MANDIR      = $(PREFIX)/share/man
DOCDIR      = $(PREFIX)/share/doc/clockwerk
UNITDIR     = $(PREFIX)/lib/systemd/system
BASHCOMPDIR = $(PREFIX)/share/bash-completion/completions
INSTALL     = install

USER_PROGRAMS   := clockwerk clockwerk-tap
HELPER_PROGRAMS := clockwerk-worker clockwerk-storer clockwerk-alerter clockwerk-relay clockwerk-web clockwerk-report
MAN_PAGES       := $(wildcard man/*.1 man/*.5 man/*.8)
DOC_FILES       := README.md $(wildcard docs/*.md)
UNIT_IN         := $(wildcard etc/systemd/clockwerk.service.in)
COMPLETION      := $(wildcard etc/bash-completion/clockwerk)
CONF_DIST       := etc/clockwerk.dist.conf
CONF_DEST        = $(DESTDIR)$(SYSCONFDIR)/clockwerk/clockwerk.conf
# The unit with the directories of this install (no DESTDIR: they are the paths on the running system).
UNIT_SED         = sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' -e 's|@LIBEXECDIR@|$(LIBEXECDIR)|g'
# The directories a unit line names unquoted (and install quotes with ''): only these characters, no space, no
# systemd specifier ('%'), no shell expansion. INSTALL_DIR_VARS: the variables checked.
INSTALL_DIR_VARS = PREFIX BINDIR LIBEXECDIR SYSCONFDIR MANDIR DOCDIR UNITDIR BASHCOMPDIR
BAD_DIR_VARS     = $(foreach v,$(INSTALL_DIR_VARS),$(if $(shell printf '%s' '$(subst ','\'',$($(v)))' | \
                     LC_ALL=C grep -q '[^A-Za-z0-9/._+@:-]' && echo x)$(filter-out 1,$(words $($(v)))),$(v)))
# The directories uninstall removes again when empty, deepest first: only Clockwerk's own.
OWN_DIRS         = $(DOCDIR)/examples $(DOCDIR)/docs $(filter %/clockwerk,$(filter-out $(BINDIR),$(LIBEXECDIR)) \
                   $(DOCDIR) $(SYSCONFDIR)/clockwerk)

.PHONY: install uninstall install-check-layout
install-check-layout:
	$(if $(strip $(BAD_DIR_VARS)),@$(foreach v,$(firstword $(BAD_DIR_VARS)),echo \
	  'make install: $(v)=$(subst ','\'',$($(v))) cannot be used: a directory may hold only letters, digits' \
	  'and / . _ + @ : - (the unit names it unquoted)' >&2;) exit 1)
	@if [ '$(abspath $(LIBEXECDIR))' != '$(abspath $(BINDIR)/../libexec/clockwerk)' ] && \
	    [ '$(abspath $(LIBEXECDIR))' != '$(abspath $(BINDIR))' ]; then \
	  echo "make install: LIBEXECDIR=$(LIBEXECDIR) cannot work: clockwerk finds its programs in" \
	       "BINDIR/../libexec/clockwerk ($(abspath $(BINDIR)/../libexec/clockwerk)) or in BINDIR itself:" \
	       "set LIBEXECDIR=$(abspath $(BINDIR)/../libexec/clockwerk) or LIBEXECDIR=$(BINDIR)" \
	       "(or a BINDIR beside LIBEXECDIR)" >&2; \
	  exit 1; fi

install: all install-check-layout
	$(INSTALL) -d -m 0755 '$(DESTDIR)$(BINDIR)' '$(DESTDIR)$(LIBEXECDIR)' '$(DESTDIR)$(SYSCONFDIR)/clockwerk' \
	  '$(DESTDIR)$(DOCDIR)/examples' '$(DESTDIR)$(DOCDIR)/docs'
	$(INSTALL) -m 0755 $(addprefix $(BIN)/,$(USER_PROGRAMS)) '$(DESTDIR)$(BINDIR)'
	$(INSTALL) -m 0755 $(addprefix $(BIN)/,$(HELPER_PROGRAMS)) '$(DESTDIR)$(LIBEXECDIR)'
	@if [ -e '$(CONF_DEST)' ]; then echo "kept $(CONF_DEST): it exists (the new sample:" \
	  "$(DESTDIR)$(DOCDIR)/examples/clockwerk.conf)"; \
	else echo "$(INSTALL) -m 0644 $(CONF_DIST) $(CONF_DEST)"; $(INSTALL) -m 0644 $(CONF_DIST) '$(CONF_DEST)'; fi
	$(INSTALL) -m 0644 $(CONF_DIST) '$(DESTDIR)$(DOCDIR)/examples/clockwerk.conf'
	$(INSTALL) -m 0644 etc/probe.conf.example '$(DESTDIR)$(DOCDIR)/examples/probe.conf'
	$(INSTALL) -m 0644 $(filter-out docs/%,$(DOC_FILES)) '$(DESTDIR)$(DOCDIR)'
	$(INSTALL) -m 0644 $(filter docs/%,$(DOC_FILES)) '$(DESTDIR)$(DOCDIR)/docs'
	$(foreach s,$(sort $(subst .,,$(suffix $(MAN_PAGES)))),$(INSTALL) -d -m 0755 '$(DESTDIR)$(MANDIR)/man$(s)' && \
	  $(INSTALL) -m 0644 $(filter %.$(s),$(MAN_PAGES)) '$(DESTDIR)$(MANDIR)/man$(s)';)
	$(if $(UNIT_IN),$(INSTALL) -d -m 0755 '$(DESTDIR)$(UNITDIR)' && $(UNIT_SED) $(UNIT_IN) > \
	  '$(DESTDIR)$(UNITDIR)/clockwerk.service.tmp' && chmod 0644 '$(DESTDIR)$(UNITDIR)/clockwerk.service.tmp' && \
	  mv '$(DESTDIR)$(UNITDIR)/clockwerk.service.tmp' '$(DESTDIR)$(UNITDIR)/clockwerk.service')
	$(if $(COMPLETION),$(INSTALL) -d -m 0755 '$(DESTDIR)$(BASHCOMPDIR)' && \
	  $(INSTALL) -m 0644 $(COMPLETION) '$(DESTDIR)$(BASHCOMPDIR)/clockwerk' && \
	  ln -sfn clockwerk '$(DESTDIR)$(BASHCOMPDIR)/clockwerk-tap')
	@echo "installed under $(DESTDIR)$(PREFIX); the clockwerk user, run_dir and state directory: docs/install.md"

# The unit as install writes it, to look at or test (install itself writes it straight into DESTDIR: two installs
# with other directories at once cannot mix). Rewritten at every call: it depends on the directories given.
ifneq ($(UNIT_IN),)
$(OUT)/etc/clockwerk.service: $(UNIT_IN) FORCE
	@mkdir -p $(dir $@)
	$(UNIT_SED) $(UNIT_IN) > $@.tmp.$$$$ && mv $@.tmp.$$$$ $@
endif
.PHONY: FORCE
FORCE:

# Refuses (nothing removed) while the unit uninstall would remove is enabled (a link to it under
# DESTDIR/etc/systemd/system, as `systemctl enable` makes) or, on the running system, enabled or active: removing
# it would leave a service running without its unit and links that dangle at boot. FORCE=1 removes it anyway.
.PHONY: uninstall-check-unit
uninstall-check-unit:
	@unit='$(UNITDIR)/clockwerk.service'; [ -e '$(DESTDIR)'"$$unit" ] || exit 0; why=; \
	for l in $$(find '$(DESTDIR)/etc/systemd/system' -name clockwerk.service -type l 2>/dev/null); do \
	  [ "$$(readlink "$$l")" != "$$unit" ] || why="$$why enabled ($$l);"; done; \
	if [ -z '$(DESTDIR)' ] && [ -d /run/systemd/system ] && \
	   [ "$$(systemctl show -P FragmentPath clockwerk.service 2>/dev/null)" = "$$unit" ]; then \
	  ! systemctl -q is-enabled clockwerk.service 2>/dev/null || why="$$why enabled;"; \
	  ! systemctl -q is-active clockwerk.service 2>/dev/null || why="$$why running;"; fi; \
	[ -n "$$why" ] || exit 0; \
	if [ '$(FORCE)' = 1 ]; then echo "make uninstall: FORCE=1: removing $$unit although it is$$why" >&2; exit 0; fi; \
	echo "make uninstall: $$unit is$$why run \`systemctl disable --now clockwerk\` first, then make uninstall" \
	  "again (FORCE=1 removes it anyway); nothing removed" >&2; exit 1

# Removes what install put there; a clockwerk.conf that differs from the shipped sample is kept, and said so.
uninstall: uninstall-check-unit
	rm -f $(addprefix '$(DESTDIR)$(BINDIR)/,$(addsuffix ',$(USER_PROGRAMS))) \
	  $(addprefix '$(DESTDIR)$(LIBEXECDIR)/,$(addsuffix ',$(HELPER_PROGRAMS))) \
	  $(addprefix '$(DESTDIR)$(DOCDIR)/,$(addsuffix ',$(DOC_FILES) examples/clockwerk.conf \
	  examples/probe.conf)) \
	  $(foreach m,$(MAN_PAGES),'$(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(m)))/$(notdir $(m))') \
	  '$(DESTDIR)$(UNITDIR)/clockwerk.service' '$(DESTDIR)$(BASHCOMPDIR)/clockwerk' \
	  '$(DESTDIR)$(BASHCOMPDIR)/clockwerk-tap'
	@if [ ! -e '$(CONF_DEST)' ]; then :; \
	elif cmp -s $(CONF_DIST) '$(CONF_DEST)'; then echo "rm -f $(CONF_DEST)"; rm -f '$(CONF_DEST)'; \
	else echo "kept $(CONF_DEST): it differs from the shipped sample (your changes); remove it by hand"; fi
	@for d in $(foreach d,$(OWN_DIRS),'$(DESTDIR)$(d)'); do [ ! -d "$$d" ] || rmdir --ignore-fail-on-non-empty "$$d"; done

clean:
	rm -rf build bin

# The compilers' dependency files only: build/image holds a root filesystem (its etc/rc2.d is a directory) and
# build/deb a package build, neither of them ours to include.
-include $(shell find build -path build/image -prune -o -path build/deb -prune -o -type f -name '*.d' -print 2>/dev/null)

# ---- the Debian package (docs/install.md, "Debian package"): build/deb/clockwerk_VERSION_ARCH.deb, built by
# debhelper in a copy of the tree (tools/build-deb.sh); rebuilt only when a source file changed.
.PHONY: deb
deb:
	@sh tools/build-deb.sh build/deb
