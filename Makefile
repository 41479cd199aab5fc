# vmdump: build, test and release recipes. Go is all it takes to build;
# `make release` also needs tar, zip and sha256sum.
#
#   make build                      ./vmdump for this machine
#   make test                       the README's test command (run as root for the e2e tests)
#   make release VERSION=0.1.0      dist/: an archive per OS and CPU, and SHA256SUMS

GO        ?= go
VERSION   ?=
DIST      ?= dist
PLATFORMS := linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64
# -X main.devVersion is what `vmdump version` and Wireshark's About → Plugins show.
LDFLAGS   := -s -w -X main.devVersion=$(VERSION)

.PHONY: build test release clean

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o vmdump .

test:
	$(GO) test -count=1 -timeout 40m ./...

# Each archive holds one folder, vmdump_<version>_<os>_<arch>/, with the
# binary (vmdump.exe on Windows), README.md and LICENSE: tar.gz for Linux
# and macOS, zip for Windows.
release:
	@case "$(VERSION)" in ""|v*) echo "give the version without v: make release VERSION=0.1.0"; exit 2;; esac
	rm -rf $(DIST)
	mkdir -p $(DIST)
	@set -e; for p in $(PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; name=vmdump_$(VERSION)_$${os}_$${arch}; exe=vmdump; \
		if [ $$os = windows ]; then exe=vmdump.exe; fi; \
		echo "   $$name"; \
		mkdir -p $(DIST)/$$name; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(DIST)/$$name/$$exe .; \
		cp README.md LICENSE $(DIST)/$$name/; \
		if [ $$os = windows ]; then (cd $(DIST) && zip -qrX $$name.zip $$name); \
		else tar -C $(DIST) -czf $(DIST)/$$name.tar.gz $$name; fi; \
		rm -rf $(DIST)/$$name; \
	done
	cd $(DIST) && sha256sum *.tar.gz *.zip > SHA256SUMS
	@ls -l $(DIST)

clean:
	rm -rf $(DIST) vmdump
