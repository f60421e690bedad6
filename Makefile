# vsbx: build, run the hello bundle, test (unit + differential conformance vs runc).

CARGO ?= cargo
ROOTFS_SCRIPT := examples/bundles/mkrootfs.sh
HELLO := examples/bundles/hello
RUNTIME := target/release/vsbx-runtime
STATE_ROOT ?= /run/vsbx

.PHONY: all build deps hello test unit conformance conformance-vsbx conformance-runc clean

all: build

deps:
	./scripts/install-deps.sh

build:
	$(CARGO) build --release -p vsbx-runtime

$(HELLO)/rootfs/bin/busybox: $(ROOTFS_SCRIPT)
	$(ROOTFS_SCRIPT) $(HELLO)/rootfs

# The main job: run examples/bundles/hello through vsbx-runtime.
hello: deps build $(HELLO)/rootfs/bin/busybox
	$(RUNTIME) --root $(STATE_ROOT) run --bundle $(HELLO) hello-$$$$

# Everything CI runs: installs what the tests need, unit tests, then the conformance
# suite against vsbx-runtime and against Debian's runc.
test: deps unit conformance

unit:
	$(CARGO) test --workspace --exclude vsbx-conformance

conformance: conformance-vsbx conformance-runc

conformance-vsbx:
	$(CARGO) build -p vsbx-runtime
	VSBX_TEST_RUNTIME=$(CURDIR)/target/debug/vsbx-runtime $(CARGO) test -p vsbx-conformance --no-fail-fast -- --test-threads=2

conformance-runc:
	VSBX_TEST_RUNTIME=runc $(CARGO) test -p vsbx-conformance --no-fail-fast -- --test-threads=2

clean:
	$(CARGO) clean
	rm -rf $(HELLO)/rootfs
