# Shortcuts for the scripts (a fresh Debian 12 has no make: run scripts/deps.sh first, or call
# the scripts directly).
.PHONY: all deps build demo test install-test peers clean

all: build

deps:
	scripts/deps.sh

build:
	scripts/build.sh build

demo:
	scripts/demo.sh

test:
	scripts/test.sh

install-test: build
	scripts/install_test.sh build

peers:
	bench/peers/compare.sh

clean:
	rm -rf build build-asan out
