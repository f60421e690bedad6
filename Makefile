# vsbx: build, run the hello bundle, test (unit + differential conformance vs runc).

CARGO ?= cargo
ROOTFS_SCRIPT := examples/bundles/mkrootfs.sh
HELLO := examples/bundles/hello
# Release binaries are static (musl where the toolchain has it, else static-pie glibc: see
# scripts/build-release.sh), linked into target/static/.
RELEASE := target/static
RUNTIME := $(RELEASE)/vsbx-runtime
VSBX := $(RELEASE)/vsbx
STATE_ROOT ?= /run/vsbx
# The debug binaries the test stages run, built by every stage with the same package set: cargo
# unifies features per invocation, so building vsbx-runtime alone would compile and link it
# again between stages.
TEST_BINS := $(CARGO) build -p vsbx-runtime -p vsbx-sandbox

.PHONY: all build deps hello demo runners install uninstall install-test test unit conformance conformance-vsbx conformance-runc clean

all: build

deps:
	./scripts/install-deps.sh

build:
	CARGO=$(CARGO) ./scripts/build-release.sh

SHELL_RUNNER_ROOTFS := examples/bundles/runners/shell/rootfs

$(SHELL_RUNNER_ROOTFS)/bin/busybox: $(ROOTFS_SCRIPT)
	$(ROOTFS_SCRIPT) $(SHELL_RUNNER_ROOTFS)

# Root filesystems the runners need that are made, not bound from the host.
runners: $(SHELL_RUNNER_ROOTFS)/bin/busybox

# `make install [PREFIX=/usr/local] [DESTDIR=]`: the release binaries into $(PREFIX)/bin, the
# builtin runners (manifests and the root filesystems `make runners` makes) into
# $(PREFIX)/share/vsbx/runners, and a record of it all in $(PREFIX)/share/vsbx/installed-files,
# from which `make uninstall` removes exactly that (see scripts/install.sh).
PREFIX ?= /usr/local
DESTDIR ?=

install: build runners
	PREFIX='$(PREFIX)' DESTDIR='$(DESTDIR)' ./scripts/install.sh install

uninstall:
	PREFIX='$(PREFIX)' DESTDIR='$(DESTDIR)' ./scripts/install.sh uninstall

# make install into a scratch DESTDIR, every installed runner run with the checkout hidden
# (a private mount namespace with an empty tmpfs over it), then make uninstall leaves nothing.
install-test: build runners
	MAKE='$(MAKE)' ./scripts/install-test.sh

# The main job: run a sample untrusted script under the compute profile with limits,
# print its output and the report; then the image path: an OCI image added as a runner
# (`vsbx runner add --image`) runs a shell script (scripts/demo-image.sh).
demo: deps build runners
	$(VSBX) run examples/scripts/hello.py --policy compute --memory 64M --timeout 5s --report -
	./scripts/demo-image.sh $(VSBX)

$(HELLO)/rootfs/bin/busybox: $(ROOTFS_SCRIPT)
	$(ROOTFS_SCRIPT) $(HELLO)/rootfs

# The main job: run examples/bundles/hello through vsbx-runtime.
hello: deps build $(HELLO)/rootfs/bin/busybox
	$(RUNTIME) --root $(STATE_ROOT) run --bundle $(HELLO) hello-$$$$

# Everything CI runs: installs what the tests need, unit tests, then the conformance
# suite against vsbx-runtime and against Debian's runc.
test: deps runners unit install-test conformance security soak-short engines vm-test vm-conformance vm-selinux vm-sandbox-cli

unit:
	$(TEST_BINS)
	$(CARGO) test --workspace --exclude vsbx-conformance --exclude vsbx-engines --exclude vsbx-security --exclude vsbx-soak
	./scripts/unit-unprivileged.sh

conformance: conformance-vsbx conformance-runc

conformance-vsbx:
	$(TEST_BINS)
	VSBX_TEST_RUNTIME=$(CURDIR)/target/debug/vsbx-runtime $(CARGO) test -p vsbx-conformance --no-fail-fast -- --test-threads=2

conformance-runc:
	VSBX_TEST_RUNTIME=runc $(CARGO) test -p vsbx-conformance --no-fail-fast -- --test-threads=2

clean:
	$(CARGO) clean
	rm -rf $(HELLO)/rootfs

# Fuzzing (fuzz/, libFuzzer on the stable toolchain): each target for FUZZ_SECONDS in turn;
# exits non-zero on a crash (input kept in fuzz/artifacts/<target>/). See README, "Fuzzing".
FUZZ_SECONDS ?= 60
.PHONY: fuzz
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) ./scripts/fuzz.sh

# Performance: vsbx-runtime vs runc and crun side by side (hyperfine, medians, ratios);
# writes docs/BENCHMARKS.md. BENCH_QUICK=1 for a short run; knobs in bench/run-bench.sh.
.PHONY: bench
bench: build runners
	VSBX_RUNTIME=$(CURDIR)/$(RUNTIME) VSBX=$(CURDIR)/$(VSBX) ./bench/run-bench.sh

# Engine integration tests (tests/engines): podman, Docker (dockerd + containerd started by the
# tests, private roots and sockets) and containerd (ctr --runc-binary) drive vsbx-runtime, and
# every scenario runs with runc too: vsbx must see what runc sees. A missing engine fails.
# ENGINE_RUNTIME: both (default), runc, vsbx, or a path to a runtime binary.
ENGINE_RUNTIME ?= both

.PHONY: engines engines-deps engines-podman engines-docker engines-containerd install-podman

engines-deps:
	./scripts/engines/install.sh

engines: engines-deps
	$(TEST_BINS)
	VSBX_ENGINE_RUNTIME=$(ENGINE_RUNTIME) $(CARGO) test -p vsbx-engines --no-fail-fast -- --test-threads=2

engines-podman engines-docker engines-containerd: engines-%: engines-deps
	$(TEST_BINS)
	VSBX_ENGINE_RUNTIME=$(ENGINE_RUNTIME) $(CARGO) test -p vsbx-engines --test $* -- --test-threads=2

# Installs the release build as /usr/local/bin/vsbx-runtime and registers it with podman
# (/etc/containers/containers.conf.d/vsbx.conf): `podman --runtime vsbx run ...`.
install-podman: build
	install -m 0755 $(RUNTIME) /usr/local/bin/vsbx-runtime
	./scripts/engines/podman-conf.sh /usr/local/bin/vsbx-runtime

# Crash safety (tests/soak): sequential lifecycles, parallel runs, and each command SIGKILLed at a
# random point, then `delete --force`; after each phase no state, cgroup, mount or container
# process may be left. `make soak` is the full size (1000 lifecycles, 2x100 runs, 100 kills per
# command); `make test` runs a short one. VSBX_SOAK_SEED=N replays a run's kill points.
.PHONY: soak soak-short
soak:
	$(TEST_BINS)
	VSBX_SOAK=full VSBX_TEST_RUNTIME=$(CURDIR)/target/debug/vsbx-runtime $(CARGO) test -p vsbx-soak -- --nocapture

soak-short:
	$(TEST_BINS)
	VSBX_TEST_RUNTIME=$(CURDIR)/target/debug/vsbx-runtime $(CARGO) test -p vsbx-soak -- --nocapture

# Exploit-grade tests (tests/security): the published container-escape attacks, each run against
# vsbx-runtime and against Debian's runc 1.1.5.
.PHONY: security security-vsbx security-runc
security: security-vsbx security-runc

security-vsbx:
	$(TEST_BINS)
	VSBX_TEST_RUNTIME=$(CURDIR)/target/debug/vsbx-runtime $(CARGO) test -p vsbx-security --no-fail-fast -- --test-threads=2

security-runc:
	VSBX_TEST_RUNTIME=runc $(CARGO) test -p vsbx-security --no-fail-fast -- --test-threads=2

# Real-host test bed (tests/vm/README.md): a Debian 12 guest (systemd 252 as init, pure
# cgroup v2, AppArmor) under qemu TCG runs runc, crun and vsbx-runtime side by side, bare and
# under podman; `make test` runs vm-test, vm-conformance, vm-selinux and vm-sandbox-cli.
.PHONY: vm-image vm-smoke vm-conformance vm-selinux vm-sandbox-cli
vm-image:
	./scripts/vm/host-deps.sh
	./scripts/vm/build-image.sh

# The conformance suite in the guest, against runc and vsbx-runtime (scripts/vm/conformance.sh).
vm-conformance: build
	$(TEST_BINS)
	./scripts/vm/conformance.sh $(CURDIR)/$(RUNTIME)

# The LSM tests (tests/conformance/tests/lsm.rs) in the same guest booted with SELinux
# (permissive, Debian's reference policy) instead of AppArmor, against runc and vsbx-runtime.
vm-selinux: build
	$(TEST_BINS)
	VM_LSM=selinux VM_CONFORMANCE_SUITES=lsm ./scripts/vm/conformance.sh $(CURDIR)/$(RUNTIME)

# The `vsbx` command's end-to-end suite (crates/sandbox/tests/vsbx_cli) in the guest.
vm-sandbox-cli: runners
	./scripts/vm/sandbox-cli.sh

vm-smoke: build runners
	./scripts/vm/smoke.sh $(CURDIR)/$(RUNTIME)

# The same job in strict mode, part of `make test`: any vsbx outcome that is not ok fails.
vm-test: build runners
	VM_SMOKE_STRICT=1 ./scripts/vm/smoke.sh $(CURDIR)/$(RUNTIME)
