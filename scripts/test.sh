#!/usr/bin/env bash
# Runs every check of the project, installing what they need first:
# formatting, go vet, the workflow lint, the generated Dagger code check,
# a smoke run of the benchmark, and all Go tests (against real registries).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n== %s\n' "$*" >&2; }

# tree_state prints what differs from the last commit anywhere in the tree:
# every changed or untracked path, and the content hash of each such file,
# so that a further change to a file a developer already edited shows too.
tree_state() {
	git status --porcelain --untracked-files=all
	{
		git diff -z --name-only --diff-filter=d
		git ls-files -z --others --exclude-standard
	} | xargs -0r git hash-object --
}

# The distribution 3.0 registry that setup.sh builds, for the tests of
# promotion records on it.
export PROMOTE_REGISTRY_V3_BIN=${PROMOTE_REGISTRY_V3_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/promote/distribution-v3.0.0/registry}

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
	before=$(tree_state)
	"$generate"
	if [[ $(tree_state) != "$before" ]]; then
		git status --short >&2
		echo "$generate changed the tree: the generated code was stale; commit what it wrote" >&2
		exit 1
	fi
	if [[ -n ${CI:-} && -n $(git status --porcelain --untracked-files=all) ]]; then
		git status --short >&2
		echo "the tree is not clean after $generate: CI checks a committed tree" >&2
		exit 1
	fi
else
	echo "skipped: $generate is not here (CI on GitHub checks it with dagger develop)" >&2
fi

step "benchmark smoke run"
scripts/bench.sh --smoke

step "go test"
go test -count=1 ./...
