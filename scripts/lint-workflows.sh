#!/usr/bin/env bash
# Lints every GitHub workflow of the repository, and the example workflows
# in examples/, with actionlint, which also runs ShellCheck over their run:
# scripts and checks action.yml where a workflow uses it as ./. ShellCheck
# then lints the project's scripts, the action's among them (its run: steps
# only call those, as tests/ checks). Installs either tool when it is
# missing. Exits non-zero on any finding.
set -euo pipefail

readonly actionlint_version=v1.7.12

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# as_root runs a command as root, through sudo when needed.
as_root() {
	if [[ $(id -u) -eq 0 ]]; then
		"$@"
	else
		sudo "$@"
	fi
}

if ! command -v shellcheck >/dev/null 2>&1; then
	echo "lint-workflows: installing shellcheck" >&2
	as_root apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null
fi
shellcheck="$(command -v shellcheck)"

# The pinned actionlint: the one on PATH if it is that version, else the one
# go install puts in GOBIN.
actionlint="$(command -v actionlint || true)"
if [[ -z "$actionlint" ]] || [[ "$("$actionlint" -version | head -n 1)" != "$actionlint_version" ]]; then
	gobin="$(go env GOBIN)"
	gobin="${gobin:-$(go env GOPATH)/bin}"
	actionlint="$gobin/actionlint"
	if [[ ! -x "$actionlint" ]] || [[ "$("$actionlint" -version | head -n 1)" != "$actionlint_version" ]]; then
		echo "lint-workflows: installing actionlint $actionlint_version" >&2
		go install "github.com/rhysd/actionlint/cmd/actionlint@$actionlint_version"
	fi
fi

shopt -s nullglob
workflows=(.github/workflows/*.yml .github/workflows/*.yaml examples/*.yml examples/*.yaml)
if ((${#workflows[@]} == 0)); then
	echo "lint-workflows: no workflow in .github/workflows or examples" >&2
	exit 1
fi

"$actionlint" -shellcheck "$shellcheck" -pyflakes "" -color=false "${workflows[@]}"
"$shellcheck" .github/scripts/*.sh scripts/*.sh .ci/run
echo "lint-workflows: ${#workflows[@]} workflows and the scripts, no findings"
