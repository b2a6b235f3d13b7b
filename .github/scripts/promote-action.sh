#!/usr/bin/env bash
# promote-action.sh runs one command of the promote GitHub Action
# (action.yml at the repository root). Its inputs come only through the
# environment, as PROMOTE_<INPUT>; it checks them all before dagger runs,
# loads the module from the action's own folder, and runs dagger through
# dagger-report.sh, which writes the step summary and the annotations.
#
# Exit codes: 0 done; 1 failed, the registry is as before; 2 bad input or
# not a Linux runner, dagger not run; 3 failed, the registry is left mixed.
set -euo pipefail

# Every exit before dagger runs sets the step output "result" to error;
# from there on, dagger-report.sh, which this script becomes, sets it.
result_error() {
	if [[ -n "${GITHUB_OUTPUT:-}" ]]; then
		printf 'result=error\n' >>"$GITHUB_OUTPUT"
	fi
}
trap result_error EXIT

scripts="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$scripts/require-linux.sh"

# bad_input reports an input error as an annotation and exits 2. Messages
# name inputs, never their values, which may hold anything.
bad_input() {
	printf '::error title=promote action: invalid input::%s\n' "$1"
	exit 2
}

# list sets the variable named $1 to the list input $2, given one item
# per line or separated by commas or spaces, joined with commas, as the
# dagger CLI takes lists.
list() {
	local -n joined="$1"
	local -a items
	local item
	IFS=$' \t\n,' read -r -d '' -a items <<<"$2" || true
	for item in "${items[@]}"; do
		[[ "$item" != -* ]] || bad_input "a list item starts with a dash"
	done
	local IFS=,
	# shellcheck disable=SC2034 # joined names the caller's variable
	joined="${items[*]}"
}

# boolean checks that input $1, whose value is $2, is true or false.
boolean() {
	[[ "$2" == true || "$2" == false ]] || bad_input "$1 must be true or false"
}

# find_module sets mod to the promote module at the action's own commit:
# the folder the runner downloaded the action to, for OWNER/REPO@REF, or
# this checkout, for ./. Loading it from there clones nothing more, works
# for a private action repository, and runs the very files of this script.
find_module() {
	mod="$(cd "${GITHUB_ACTION_PATH:?}" && pwd)"
	[[ -f "$mod/dagger.json" ]] || bad_input "the action's folder holds no dagger.json: use the action as OWNER/REPO@SHA, or as ./ from its own checkout"
}

command="${PROMOTE_COMMAND:-}"
sha="${PROMOTE_SHA:-}"
dry_run="${PROMOTE_DRY_RUN:-false}"
forward_only="${PROMOTE_FORWARD_ONLY:-false}"
timeout="${PROMOTE_TIMEOUT:-5m}"
registry="${PROMOTE_REGISTRY:-ghcr.io}"
source="${PROMOTE_SOURCE:-.}"
# The signature policy's inputs default to "(none)" in action.yml: GitHub
# passes an input that is left out as its default, and one given as an
# empty value (an unset variable, a missing secret) as empty, which must
# not turn the check off.
github_claims=(repository ref sha trigger name)
for input in identity identity-regexp oidc-issuer "${github_claims[@]/#/github-workflow-}"; do
	env="PROMOTE_CERTIFICATE_${input//-/_}"
	env="${env^^}"
	if [[ -v "$env" && -z "${!env}" ]]; then
		bad_input "certificate-$input is given but empty: leave it out for no signature check"
	fi
	[[ "${!env:-}" != "(none)" ]] || unset "$env"
done
identity="${PROMOTE_CERTIFICATE_IDENTITY:-}"
identity_regexp="${PROMOTE_CERTIFICATE_IDENTITY_REGEXP:-}"
issuer="${PROMOTE_CERTIFICATE_OIDC_ISSUER:-}"
require_provenance="${PROMOTE_REQUIRE_PROVENANCE:-false}"
insecure="${PROMOTE_INSECURE:-false}"

case "$command" in
verify) title="Verification failed" ;;
promote) title="Promotion failed" ;;
rollback) title="Rollback failed" ;;
status) title="Status failed" ;;
*) bad_input "command must be verify, promote, rollback or status" ;;
esac
case "$command" in
verify | promote) [[ "$sha" =~ ^[0-9a-fA-F]{7,40}$ ]] || bad_input "sha must be 7 to 40 hexadecimal characters" ;;
rollback) [[ -z "$sha" || "$sha" =~ ^[0-9a-fA-F]{7,40}$ ]] || bad_input "sha must be empty or 7 to 40 hexadecimal characters" ;;
status) [[ -z "$sha" ]] || bad_input "status takes no sha" ;;
esac
boolean dry-run "$dry_run"
boolean forward-only "$forward_only"
boolean insecure "$insecure"
if [[ "$forward_only" == true && "$command" != promote ]]; then
	bad_input "forward-only applies to promote only: rollback goes back on purpose"
fi
[[ "$timeout" =~ ^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$ ]] || bad_input "timeout must be a duration such as 90s or 5m"
[[ "$registry" =~ ^[A-Za-z0-9.-]+(:[0-9]+)?$ ]] || bad_input "registry must be a host such as ghcr.io or localhost:5000"
# Values that follow a flag as words of their own must not look like flags.
[[ "$source" != -* ]] || bad_input "source must be a path"
[[ "${PROMOTE_SOURCE_TAG:-}" != -* ]] || bad_input "source-tag must not start with a dash"
[[ "${PROMOTE_USERNAME:-}" != -* ]] || bad_input "username must not start with a dash"
if [[ -n "${PROMOTE_REGISTRY_SERVICE:-}" && ! "$PROMOTE_REGISTRY_SERVICE" =~ ^tcp://[A-Za-z0-9.-]+:[0-9]+$ ]]; then
	bad_input "registry-service must be an address such as tcp://localhost:5000"
fi
# The signature policy, checked as the module and the CLI check it: one
# identity, exact or a regexp, whose issuer defaults to GitHub's when
# there is one; provenance only under such a policy, and only for a full
# sha, which it is compared with.
if [[ -n "$identity" && -n "$identity_regexp" ]]; then
	bad_input "give certificate-identity or certificate-identity-regexp, not both"
fi
if [[ -n "$identity$identity_regexp" ]]; then
	issuer="${issuer:-https://token.actions.githubusercontent.com}"
elif [[ -n "$issuer" ]]; then
	bad_input "certificate-oidc-issuer needs certificate-identity or certificate-identity-regexp"
fi
[[ "$identity" != -* ]] || bad_input "certificate-identity must not start with a dash"
[[ "$identity_regexp" != -* ]] || bad_input "certificate-identity-regexp must not start with a dash"
[[ -z "$issuer" || "$issuer" =~ ^https://[^[:space:]]+$ ]] || bad_input "certificate-oidc-issuer must be an https:// address"
for claim in "${github_claims[@]}"; do
	env="PROMOTE_CERTIFICATE_GITHUB_WORKFLOW_${claim^^}"
	if [[ -n "${!env:-}" ]]; then
		[[ -n "$issuer" ]] || bad_input "certificate-github-workflow-$claim needs certificate-identity or certificate-identity-regexp"
		[[ "${!env}" != -* ]] || bad_input "certificate-github-workflow-$claim must not start with a dash"
	fi
done
if [[ -n "$issuer" && -n "$sha" && ! "$sha" =~ ^[0-9a-fA-F]{40}$ ]]; then
	bad_input "a signature policy needs the full 40-character sha, which certificates and provenance name"
fi
boolean require-provenance "$require_provenance"
if [[ "$require_provenance" == true ]]; then
	[[ "$command" == verify || "$command" == promote ]] || bad_input "require-provenance applies to verify and promote only"
	[[ -n "$issuer" ]] || bad_input "require-provenance needs certificate-identity or certificate-identity-regexp"
	[[ "$sha" =~ ^[0-9a-fA-F]{40}$ ]] || bad_input "require-provenance needs the full 40-character sha, which the provenance must name"
fi
list images "${PROMOTE_IMAGES:-}"
list target_tags "${PROMOTE_TARGET_TAGS:-}"
list platforms "${PROMOTE_PLATFORMS:-}"
if [[ -n "${PROMOTE_TOKEN:-}" && -z "${PROMOTE_USERNAME:-}" ]]; then
	bad_input "a token needs a username"
fi
find_module

# The module's own defaults apply to what is not given.
chain=()
if [[ -n "$images" ]]; then chain+=(--images "$images"); fi
if [[ -n "${PROMOTE_SOURCE_TAG:-}" ]]; then chain+=(--source-tag "$PROMOTE_SOURCE_TAG"); fi
if [[ -n "$target_tags" ]]; then chain+=(--target-tags "$target_tags"); fi
if [[ -n "$platforms" ]]; then chain+=(--platforms "$platforms"); fi
if [[ -n "${PROMOTE_TOKEN:-}" ]]; then
	# A Dagger secret read from this process's environment: never on a
	# command line, never printed.
	chain+=(with-registry-auth --address "$registry" --username "$PROMOTE_USERNAME" --secret env://PROMOTE_TOKEN)
fi
if [[ "$insecure" == true ]]; then chain+=(with-insecure); fi
if [[ -n "${PROMOTE_REGISTRY_SERVICE:-}" ]]; then
	chain+=(with-registry-service --address "$registry" --service "$PROMOTE_REGISTRY_SERVICE")
fi
if [[ -n "$identity" ]]; then
	chain+=(with-signature-policy --identity "$identity" --issuer "$issuer")
fi
if [[ -n "$identity_regexp" ]]; then
	chain+=(with-signature-policy --identity-regexp "$identity_regexp" --issuer "$issuer")
fi
# cosign's GitHub workflow claims, as arguments of with-signature-policy.
if [[ -n "${PROMOTE_CERTIFICATE_GITHUB_WORKFLOW_REPOSITORY:-}" ]]; then chain+=(--github-workflow-repository "$PROMOTE_CERTIFICATE_GITHUB_WORKFLOW_REPOSITORY"); fi
if [[ -n "${PROMOTE_CERTIFICATE_GITHUB_WORKFLOW_REF:-}" ]]; then chain+=(--github-workflow-ref "$PROMOTE_CERTIFICATE_GITHUB_WORKFLOW_REF"); fi
if [[ -n "${PROMOTE_CERTIFICATE_GITHUB_WORKFLOW_SHA:-}" ]]; then chain+=(--github-workflow-sha "$PROMOTE_CERTIFICATE_GITHUB_WORKFLOW_SHA"); fi
if [[ -n "${PROMOTE_CERTIFICATE_GITHUB_WORKFLOW_TRIGGER:-}" ]]; then chain+=(--github-workflow-trigger "$PROMOTE_CERTIFICATE_GITHUB_WORKFLOW_TRIGGER"); fi
if [[ -n "${PROMOTE_CERTIFICATE_GITHUB_WORKFLOW_NAME:-}" ]]; then chain+=(--github-workflow-name "$PROMOTE_CERTIFICATE_GITHUB_WORKFLOW_NAME"); fi


case "$command" in
verify)
	call=(verify --sha "$sha" --timeout "$timeout")
	if [[ "$require_provenance" == true ]]; then call+=(--require-provenance); fi
	;;
promote)
	call=(promote --sha "$sha" --dry-run="$dry_run" --timeout "$timeout")
	if [[ "$forward_only" == true ]]; then call+=(--forward-only --source "$source"); fi
	if [[ "$require_provenance" == true ]]; then call+=(--require-provenance); fi
	;;
rollback)
	call=(rollback --dry-run="$dry_run" --timeout "$timeout")
	if [[ -n "$sha" ]]; then call+=(--sha "$sha"); fi
	;;
status)
	call=(status --timeout "$timeout")
	;;
esac

export DAGGER_NO_NAG=1
trap - EXIT
exec "$scripts/dagger-report.sh" "$title" dagger -m "$mod" call "${chain[@]}" "${call[@]}" summary
