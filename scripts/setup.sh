#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian machine with Go: the CNCF
# distribution registry (real-registry tests), shellcheck (workflow lint) and
# jq (the action's scripts read the module's JSON report with it),
# then downloads the Go modules. Installs nothing that is already there.
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
