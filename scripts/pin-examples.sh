#!/usr/bin/env bash
# pin-examples.sh [COMMIT] pins this repository's action in every example
# workflow (examples/*.yml, uses: molecule-ai/promote@<sha>) to one commit.
# Run it when the action gains an input that an example passes, or to
# adopt a newer promote, and commit what it changes.
#
# COMMIT is any commit-ish of this repository; without it, the newest
# commit of main that this checkout contains and whose action.yml declares
# every with: key the examples pass. The runner only warns about an input
# the pinned action does not declare, and drops it, so a pin behind the
# examples would silently turn a check off. go test ./tests (TestExamplePins)
# checks the pins the same way, and also that the pinned action gives every
# input the examples pass the default HEAD's does (a default can be the
# word for "left out"); this script runs it at the end.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

die() {
	echo "pin-examples: $*" >&2
	exit 1
}

if (($# > 1)) || [[ "${1:-}" == -* ]]; then
	echo "usage: $0 [COMMIT]" >&2
	exit 2
fi
examples=(examples/*.yml)

# The with: keys of every step that uses the action, one per line.
mapfile -t keys < <(awk '
	function indent(s) { match(s, /^ */); return RLENGTH }
	/^[[:space:]]*(#.*)?$/ { next }
	{
		n = indent($0)
		if (step && n < keyindent) step = 0
		if ($0 ~ /^ *(- )?uses: molecule-ai\/promote@/) {
			step = 1; with = 0; keyindent = n + ($0 ~ /^ *- / ? 2 : 0)
			next
		}
		if (!step) next
		if (n == keyindent) { with = ($0 ~ /^ *with:[[:space:]]*$/); withindent = -1; next }
		if (with) {
			if (withindent < 0) withindent = n
			if (n == withindent) { key = $0; sub(/^ */, "", key); sub(/:.*/, "", key); print key }
		}
	}
' "${examples[@]}" | sort -u)
((${#keys[@]} > 0)) || die "no example passes inputs to molecule-ai/promote@<sha>"

# declares_all tells whether action.yml at commit $1 declares every key.
declares_all() {
	local action key
	action="$(git show "$1:action.yml" 2>/dev/null)" || return 1
	for key in "${keys[@]}"; do
		grep -qE "^  ${key}:[[:space:]]*$" <<<"$action" || return 1
	done
}

if (($# == 1)); then
	sha="$(git rev-parse --verify --quiet "$1^{commit}")" || die "$1 is not a commit of this repository"
	declares_all "$sha" || die "action.yml at $1 does not declare every input the examples pass: ${keys[*]}"
else
	main=main
	git rev-parse --verify --quiet "$main^{commit}" >/dev/null || main=origin/main
	base="$(git merge-base HEAD "$main")" || die "this checkout shares no history with $main: fetch it, or name a commit"
	sha=""
	while read -r candidate; do
		if declares_all "$candidate"; then
			sha="$candidate"
			break
		fi
	done < <(git rev-list --first-parent "$base")
	[[ -n "$sha" ]] || die "no commit of $main up to $base declares every input the examples pass (${keys[*]}): merge the action's change to main first"
fi

for f in "${examples[@]}"; do
	sed -E -i.bak "s|(uses: molecule-ai/promote@)[0-9A-Za-z._/-]+|\\1$sha|" "$f"
	rm -f "$f.bak"
done
echo "pin-examples: the examples use molecule-ai/promote@$sha ($(git log -1 --format=%s "$sha"))" >&2
go test -count=1 -run 'TestExamplePins' ./tests
