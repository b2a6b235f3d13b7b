#!/usr/bin/env bash
# require-linux.sh stops the promote action on a runner that is not Linux,
# before anything is installed: Dagger runs its engine in a container, and
# GitHub's macOS and Windows runners have no container runtime, so the
# engine would fail late and unclearly. It reads RUNNER_OS, else uname.
# Written for bash 3.2, macOS's own.
#
# Exit codes: 0 on Linux; 2 elsewhere, with an error annotation.
os="${RUNNER_OS:-$(uname -s)}"
if [[ "$os" != Linux ]]; then
	# RUNNER_OS comes from the runner; name it only if it is a plain word.
	[[ "$os" =~ ^[A-Za-z0-9]+$ ]] || os="an unknown system"
	printf '::error title=promote action: Linux runners only::%s\n' \
		"The promote action runs on Linux runners only (runs-on: ubuntu-24.04, say), not on $os: Dagger needs a container runtime, and GitHub's macOS and Windows runners have none."
	exit 2
fi
