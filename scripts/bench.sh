#!/usr/bin/env bash
# Runs the promote benchmark (./bench), installing what it needs first:
# docker-registry and skopeo from Debian's packages, crane and regctl with
# go install at the versions the benchmark compares against.
#
#   scripts/bench.sh                  full run: N=2,20,50, targets checked,
#                                     then the cross-registry case: N=2,10 images of 20 MiB
#   scripts/bench.sh --smoke          N=2, one repetition, no targets (both cases)
#   scripts/bench.sh -reps 7 -n 20    any other flag goes to the benchmark (go run ./bench -h)
#
# The results go to standard output as Markdown (bench/README.md shows a
# run, and its summary table is the project README's), progress to
# standard error.
# Exit status: 0 all targets met (or a smoke run that worked), 1 a target
# missed, 2 the benchmark could not run.
#
# Environment:
#   BENCH_TOOLS_DIR   where crane and regctl are installed
#                     (default: $HOME/.cache/promote-bench/tools)
#   BENCH_NO_INSTALL  set to 1 to install nothing; the benchmark then fails
#                     on a missing tool, or skips it in a smoke run
set -euo pipefail

CRANE_VERSION=v0.22.1
REGCTL_VERSION=v0.11.7

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools_dir=${BENCH_TOOLS_DIR:-$HOME/.cache/promote-bench/tools}
smoke=false
for arg in "$@"; do
	case $arg in
	--smoke | -smoke) smoke=true ;;
	esac
done
args=()
for arg in "$@"; do
	case $arg in
	--smoke | -smoke) args+=(-smoke) ;;
	*) args+=("$arg") ;;
	esac
done

log() { echo "bench.sh: $*" >&2; }

# apt_install installs the Debian packages given, as root or through sudo.
apt_install() {
	local sudo=()
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null || {
			log "cannot install $* without root or sudo"
			return 1
		}
		sudo=(sudo)
	fi
	log "installing $* with apt-get"
	${sudo[@]+"${sudo[@]}"} apt-get update -qq >&2 &&
		${sudo[@]+"${sudo[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

# go_tool_version prints the version an installed crane or regctl reports.
go_tool_version() {
	case $1 in
	crane) "$tools_dir/crane" version 2>/dev/null || true ;;
	regctl) "$tools_dir/regctl" version --format '{{.VCSTag}}' 2>/dev/null || true ;;
	esac
}

# go_install installs tool from pkg at version into the tools directory,
# unless that version is there already.
go_install() {
	local tool=$1 pkg=$2 version=$3
	if [ -x "$tools_dir/$tool" ] && [ "$(go_tool_version "$tool")" = "$version" ]; then
		return 0
	fi
	log "installing $tool $version into $tools_dir"
	mkdir -p "$tools_dir"
	# Outside the module, so that go install leaves go.mod and go.sum alone.
	(cd / && GOBIN="$tools_dir" go install "$pkg@$version") >&2
}

if [ "${BENCH_NO_INSTALL:-0}" != 1 ]; then
	missing=()
	command -v docker-registry >/dev/null || missing+=(docker-registry)
	command -v skopeo >/dev/null || missing+=(skopeo)
	if [ ${#missing[@]} -gt 0 ]; then
		apt_install "${missing[@]}" || log "could not install ${missing[*]}"
	fi
	go_install crane github.com/google/go-containerregistry/cmd/crane "$CRANE_VERSION" ||
		{ $smoke && log "could not install crane"; } || exit 2
	go_install regctl github.com/regclient/regclient/cmd/regctl "$REGCTL_VERSION" ||
		{ $smoke && log "could not install regctl"; } || exit 2
fi

build=$(mktemp -d "${TMPDIR:-/tmp}/promote-bench-build.XXXXXX")
trap 'rm -rf "$build"' EXIT
cd "$root"
log "building the benchmark"
go build -o "$build/bench" ./bench
# The benchmark builds the promote CLI into a temporary directory itself.
status=0
"$build/bench" -tools-dir "$tools_dir" ${args[@]+"${args[@]}"} || status=$?
cross=0
"$build/bench" -tools-dir "$tools_dir" -cross ${args[@]+"${args[@]}"} || cross=$?
# A case that could not run (2) outweighs a missed target (1).
exit $((status > cross ? status : cross))
