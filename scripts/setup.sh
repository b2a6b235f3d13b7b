#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian machine with Go: the CNCF
# distribution registry (real-registry tests), shellcheck (workflow lint) and
# jq (the action's scripts read the module's JSON report with it),
# then downloads the Go modules; builds distribution 3.0 when asked (below).
# Installs nothing that is already there.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

missing=()
command -v docker-registry >/dev/null || missing+=(docker-registry)
command -v shellcheck >/dev/null || missing+=(shellcheck)
command -v jq >/dev/null || missing+=(jq)
if ((${#missing[@]})); then
	echo "setup.sh: installing ${missing[*]}" >&2
	sudo=()
	((EUID == 0)) || sudo=(sudo)
	"${sudo[@]}" apt-get update -qq
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi
go mod download

# Distribution 3.0, the second real registry the promotion records are
# tested on, is built from the Go module proxy (no package ships it) into
# the folder of $PROMOTE_REGISTRY_V3_BIN when that is set; the tests that
# need it skip without it.
if [[ -n ${PROMOTE_REGISTRY_V3_BIN:-} && ! -x $PROMOTE_REGISTRY_V3_BIN ]]; then
	[[ $(basename "$PROMOTE_REGISTRY_V3_BIN") == registry ]] ||
		{ echo "setup.sh: PROMOTE_REGISTRY_V3_BIN must name a file called registry" >&2; exit 1; }
	echo "setup.sh: building the distribution v3.0.0 registry into $(dirname "$PROMOTE_REGISTRY_V3_BIN")" >&2
	GOBIN=$(dirname "$PROMOTE_REGISTRY_V3_BIN") go install github.com/distribution/distribution/v3/cmd/registry@v3.0.0
fi
