#!/usr/bin/env bash
# promote-action.sh runs one command of the promote GitHub Action
# (action.yml at the repository root). Its inputs come only through the
# environment, as PROMOTE_<INPUT>. It checks only what the module cannot:
# the runner, which function the command names, the booleans it branches
# on, inputs the command takes no argument for, inputs given empty (which
# action.yml tells apart from left out), and values that would pass for a
# flag. It loads the module from the action's own folder and runs dagger
# through dagger-report.sh, which writes the step summary and the
# annotations. The module checks every value itself, before any request,
# as the CLI does; its refusal carries the result "invalid", which
# dagger-report.sh turns into exit 2.
#
# Exit codes: 0 done; 1 failed, the registry is as before; 2 bad input
# (refused here, or by the module before any request) or not a Linux
# runner; 3 failed, the registry is left mixed; 4 every tag moved, but a
# promotion record could not be written.
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
# dagger-report.sh learns the outcome from the module's report with jq,
# which GitHub's runners have: without it, a registry left mixed could not
# be told from one left as before.
if ! command -v jq >/dev/null; then
	printf '::error title=promote action: jq not found::%s\n' "The promote action reads the module's report with jq, which GitHub's Linux runners have: install jq on this runner."
	exit 2
fi

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
allow_rolled_back="${PROMOTE_ALLOW_ROLLED_BACK:-false}"

case "$command" in
verify) title="Verification failed" ;;
promote) title="Promotion failed" ;;
rollback) title="Rollback failed" ;;
status) title="Status failed" ;;
*) bad_input "command must be verify, promote, rollback or status" ;;
esac
if [[ -z "$sha" && ("$command" == verify || "$command" == promote) ]]; then
	bad_input "sha is required for verify and promote"
fi
# Inputs that the command has no argument for, which would be dropped.
if [[ "$command" == status && -n "$sha" ]]; then
	bad_input "status takes no sha"
fi
boolean dry-run "$dry_run"
boolean forward-only "$forward_only"
boolean insecure "$insecure"
boolean require-provenance "$require_provenance"
if [[ "$forward_only" == true && "$command" != promote ]]; then
	bad_input "forward-only applies to promote only: rollback goes back on purpose"
fi
if [[ "$require_provenance" == true && "$command" != verify && "$command" != promote ]]; then
	bad_input "require-provenance applies to verify and promote only"
fi
boolean allow-rolled-back "$allow_rolled_back"
if [[ "$allow_rolled_back" == true && "$command" != promote ]]; then
	bad_input "allow-rolled-back applies to promote only"
fi
# The dagger CLI reads this address itself: the module never sees it.
if [[ -n "${PROMOTE_REGISTRY_SERVICE:-}" && ! "$PROMOTE_REGISTRY_SERVICE" =~ ^tcp://[A-Za-z0-9.-]+:[0-9]+$ ]]; then
	bad_input "registry-service must be an address such as tcp://localhost:5000"
fi
# Values that follow a flag as words of their own must not look like flags.
for input in sha timeout registry username source source-tag actor run certificate-identity certificate-identity-regexp certificate-oidc-issuer "${github_claims[@]/#/certificate-github-workflow-}"; do
	env="PROMOTE_${input//-/_}"
	env="${env^^}"
	[[ "${!env:-}" != -* ]] || bad_input "$input must not start with a dash"
done
# A signature input puts with-signature-policy before the command, where
# the module checks the policy whole; with an identity, the issuer is
# GitHub's unless given.
claims=""
for claim in "${github_claims[@]}"; do
	env="PROMOTE_CERTIFICATE_GITHUB_WORKFLOW_${claim^^}"
	claims+="${!env:-}"
done
policy="$identity$identity_regexp$issuer$claims"
if [[ -n "$identity$identity_regexp" ]]; then
	issuer="${issuer:-https://token.actions.githubusercontent.com}"
fi
list images "${PROMOTE_IMAGES:-}"
list target_tags "${PROMOTE_TARGET_TAGS:-}"
list platforms "${PROMOTE_PLATFORMS:-}"
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
if [[ -n "$policy" ]]; then chain+=(with-signature-policy); fi
if [[ -n "$identity" ]]; then chain+=(--identity "$identity"); fi
if [[ -n "$identity_regexp" ]]; then chain+=(--identity-regexp "$identity_regexp"); fi
if [[ -n "$policy" ]]; then chain+=(--issuer "$issuer"); fi
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
	if [[ "$allow_rolled_back" == true ]]; then call+=(--allow-rolled-back); fi
	# Who and which run the promotion records name; the module checks them.
	if [[ -n "${PROMOTE_ACTOR:-}" ]]; then call+=(--actor "$PROMOTE_ACTOR"); fi
	if [[ -n "${PROMOTE_RUN:-}" ]]; then call+=(--run "$PROMOTE_RUN"); fi
	;;
rollback)
	call=(rollback --dry-run="$dry_run" --timeout "$timeout")
	if [[ -n "$sha" ]]; then call+=(--sha "$sha"); fi
	if [[ -n "${PROMOTE_ACTOR:-}" ]]; then call+=(--actor "$PROMOTE_ACTOR"); fi
	if [[ -n "${PROMOTE_RUN:-}" ]]; then call+=(--run "$PROMOTE_RUN"); fi
	;;
status)
	call=(status --timeout "$timeout")
	;;
esac

export DAGGER_NO_NAG=1
trap - EXIT
exec "$scripts/dagger-report.sh" "$title" dagger -m "$mod" call "${chain[@]}" "${call[@]}" summary
