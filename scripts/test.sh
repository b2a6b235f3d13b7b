#!/usr/bin/env bash
# Runs every check of the project, installing what they need first:
# formatting, go vet, the workflow lint, the generated Dagger code check,
# a smoke run of the benchmark, and all Go tests (against real registries).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n== %s\n' "$*" >&2; }

step "setup"
scripts/setup.sh

step "gofmt"
unformatted=$(git ls-files -z '*.go' | xargs -0 gofmt -l)
if [[ -n $unformatted ]]; then
	echo "gofmt would change:" >&2
	echo "$unformatted" >&2
	exit 1
fi

step "go vet"
go vet ./...

step "workflow lint"
scripts/lint-workflows.sh

step "generated Dagger code is current"
generate=../shared/dagger/generate
if [[ -x $generate ]]; then
	"$generate"
	if [[ -n $(git status --porcelain -- dagger.gen.go internal/dagger go.mod go.sum) ]]; then
		git status --short >&2
		echo "the generated code is stale: run $generate and commit the result" >&2
		exit 1
	fi
else
	echo "skipped: $generate is not here (CI on GitHub checks it with dagger develop)" >&2
fi

step "benchmark smoke run"
scripts/bench.sh --smoke

step "go test"
go test -count=1 ./...
