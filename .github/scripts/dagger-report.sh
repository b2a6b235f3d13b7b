#!/usr/bin/env bash
# dagger-report.sh TITLE COMMAND... runs a dagger command that prints a
# promote report as Markdown, and reports the outcome to GitHub:
#
#   - The step summary starts with what triggered the run (the upstream
#     run's link, for a workflow_run). On success the report follows; on
#     failure, TITLE and dagger's error, in a code fence that no text in the
#     error can close.
#   - A failed operation's error ends with the line "report: " and its
#     report as one line of JSON (see report.go), which is what this
#     script reads, with jq: its result, and its failed, missing or
#     conflict entries (another run moved the tag meanwhile). Each such
#     entry gets one error annotation; when more than nine fail, nine get
#     one and a last one counts them all, since GitHub shows ten per step.
#     An error without such entries gets one annotation. The summary shows
#     the error without that line. Dagger's [traceparent:...] marks are
#     left out everywhere.
#
# Exit codes: 0 done; 1 failed, the registry is as before, or an incomplete
# status; 2 an input the module refused before any request; 3 failed, the
# registry is left mixed; 4 every tag moved, but a promotion record is
# missing; else dagger's own status. The step output "result" is ok,
# failed, mixed, incomplete, unrecorded or error (a refused input, or no
# report).
#
# Needs jq, RUNNER_TEMP and GITHUB_STEP_SUMMARY; reads GITHUB_OUTPUT,
# GITHUB_EVENT_NAME, GITHUB_ACTOR and UPSTREAM_RUN_* when set.
set -uo pipefail
if (($# < 2)); then
	echo "usage: $0 TITLE COMMAND..." >&2
	exit 2
fi
title="$1"
shift
out="$RUNNER_TEMP/dagger.out" log="$RUNNER_TEMP/dagger.log" err="$RUNNER_TEMP/dagger.err" report="$RUNNER_TEMP/dagger.report.json"

# escape_data and escape_property escape a workflow command's message and
# a property such as its title.
escape_data() {
	local s="${1//%/%25}"
	s="${s//$'\r'/%0D}"
	printf '%s' "${s//$'\n'/%0A}"
}
escape_property() {
	local s
	s="$(escape_data "$1")"
	s="${s//:/%3A}"
	printf '%s' "${s//,/%2C}"
}

# markdown_text escapes the characters that Markdown would read as markup.
markdown_text() {
	printf '%s' "$1" | sed 's/[][\\`*_<>|#!~]/\\&/g'
}

# trigger writes a line naming what started this run and, for a
# workflow_run, a link to the upstream run.
trigger() {
	local event="${GITHUB_EVENT_NAME:-unknown}" line
	line="Triggered by $(markdown_text "$event")"
	if [[ -n "${UPSTREAM_RUN_URL:-}" && "$UPSTREAM_RUN_URL" =~ ^https://[^[:space:]\(\)]+$ ]]; then
		line+=": [$(markdown_text "${UPSTREAM_RUN_NAME:-upstream run}") #${UPSTREAM_RUN_NUMBER:-?}]($UPSTREAM_RUN_URL)"
		if [[ -n "${UPSTREAM_RUN_EVENT:-}" ]]; then
			line+=" ($(markdown_text "$UPSTREAM_RUN_EVENT") on $(markdown_text "${UPSTREAM_RUN_BRANCH:-?}"))"
		fi
	fi
	if [[ -n "${GITHUB_ACTOR:-}" ]]; then
		line+=", by $(markdown_text "$GITHUB_ACTOR")"
	fi
	printf '%s\n\n' "$line"
}

# fence prints a run of backticks longer than any in file $1, and at
# least three, so that no line of the file can close a code block.
fence() {
	local longest
	longest="$(awk '{
		line = $0
		while (match(line, /`+/)) {
			if (RLENGTH > n) n = RLENGTH
			line = substr(line, RSTART + RLENGTH)
		}
	} END { print n + 0 }' "$1")"
	((longest >= 3)) || longest=2
	printf '%*s' "$((longest + 1))" '' | tr ' ' '`'
}

# set_result writes the step output "result".
set_result() {
	if [[ -n "${GITHUB_OUTPUT:-}" ]]; then
		printf 'result=%s\n' "$1" >>"$GITHUB_OUTPUT"
	fi
}

status=0
# Dagger's log quotes registry responses: the runner must not read
# workflow commands in it.
token="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
echo "::stop-commands::$token"
"$@" 2>&1 >"$out" | tee "$log" || status=$?
printf '\n::%s::\n' "$token"

if ((status == 0)); then
	{
		trigger
		cat "$out"
	} >>"$GITHUB_STEP_SUMMARY"
	set_result ok
	exit 0
fi

# The error is the last "Error: " line of the log and what follows it,
# without the traceparent marks and the blank lines they leave at the end.
if grep -q '^Error: ' "$log"; then
	tac "$log" | sed '/^Error: /q' | tac | sed -E 's/^Error: //; s/[[:space:]]*\[traceparent:[0-9a-f]{32}-[0-9a-f]{16}\]//g' |
		sed -e :a -e '/^[[:space:]]*$/{$d;N;ba' -e '}' >"$err"
else
	printf 'dagger exited with status %s without an error message; see the log\n' "$status" >"$err"
fi

# The report is the last line of the error that starts "report: {"; the
# summary shows the error without it. Without one, or with one that jq
# cannot read, the result is error.
line="$(grep -n '^report: {' "$err" | tail -n 1 | cut -d: -f1)"
: >"$report"
if [[ -n "$line" ]]; then
	sed -n "${line}s/^report: //p" "$err" >"$report"
	sed -i "${line}d" "$err"
	sed -i -e :a -e '/^[[:space:]]*$/{$d;N;ba' -e '}' "$err"
fi
result="$(jq -r 'if (.result | type) == "string" then .result else empty end' "$report" 2>/dev/null)" || result=""
case "$result" in
incomplete) explanation="Result **incomplete**: some target tags are missing, placeholders, or unreadable; the table names each." exit_code=1 ;;
failed) explanation="Result **failed**: nothing changed, the registry is as it was before." exit_code=1 ;;
mixed) explanation="Result **mixed**: some tags could not be put back; the table says where every tag is. Run promote again, or rollback, to finish." exit_code=3 ;;
unrecorded) explanation="Result **unrecorded**: every tag moved and reads back in place, but some promotion records could not be written; the moves stand, and history shows the gap." exit_code=4 ;;
invalid) explanation="Result **error**: an input was refused before any request; nothing changed." result=error exit_code=2 ;;
*) explanation="" result=error exit_code="$status" ;;
esac

f="$(fence "$err")"
{
	printf '### %s\n\n' "$(markdown_text "$title")"
	trigger
	if [[ -n "$explanation" ]]; then printf '%s\n\n' "$explanation"; fi
	printf '%stext\n' "$f"
	cat "$err"
	printf '%s\n' "$f"
} >>"$GITHUB_STEP_SUMMARY"

# The entries that failed, as "reference<TAB>outcome: detail": the
# reference an entry is shown under (report.go's Reference), and its
# detail on one line, as the error's table shows it.
failing="$RUNNER_TEMP/dagger.failing"
jq -r '
	(.images // [])[]
	| select(.outcome == "failed" or .outcome == "conflict" or .outcome == "missing")
	| (if (.target // "") == "" or (.outcome == "failed" and (.digest // "") == "" and (.source // "") != "") then .source else .target end) as $ref
	| ((.detail // "") | split("\n") | map(gsub("^\\s+|\\s+$"; "")) | map(select(. != "")) | join("; ")) as $detail
	| [$ref, .outcome + (if $detail == "" then "" else ": " + $detail end)] | map(gsub("[\t\r]"; " ")) | join("\t")
' "$report" >"$failing" 2>/dev/null || : >"$failing"
# The annotation of an error without failing entries: the error the report
# records, else the error's first line.
message="$(jq -r '.error // empty' "$report" 2>/dev/null)" || message=""
[[ -n "$message" ]] || message="$(head -n 1 "$err")"

count="$(wc -l <"$failing")"
if ((count == 0)); then
	printf '::error title=%s::%s\n' "$(escape_property "$title")" "$(escape_data "$message")"
else
	shown=0
	while IFS=$'\t' read -r tag detail; do
		if ((count > 9 && shown == 9)); then
			break
		fi
		printf '::error title=%s::%s\n' "$(escape_property "$title: $tag")" "$(escape_data "$detail")"
		shown=$((shown + 1))
	done <"$failing"
	if ((count > shown)); then
		printf '::error title=%s::%s\n' "$(escape_property "$title")" "$count tags failed; the job summary lists every one"
	fi
fi
set_result "$result"
exit "$exit_code"
