#!/usr/bin/env bash
# same-digest.sh SHA checks, with crane, that :latest of each image of the
# CI end-to-end job is at the digest of its :staging-<sha> image, SHA cut to
# 7 characters. It prints each pair and exits 1 if any differs.
set -euo pipefail
if (($# != 1)); then
	echo "usage: $0 SHA" >&2
	exit 2
fi
status=0
for repo in localhost:5000/platform localhost:5000/platform-tenant; do
	latest="$(crane digest "$repo:latest")"
	staging="$(crane digest "$repo:staging-${1:0:7}")"
	echo "$repo:latest at $latest, :staging-${1:0:7} at $staging"
	if [[ "$latest" != "$staging" ]]; then
		echo "::error title=End to end::$repo:latest is not at :staging-${1:0:7}"
		status=1
	fi
done
exit "$status"
