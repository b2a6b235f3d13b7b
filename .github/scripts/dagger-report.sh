#!/usr/bin/env bash
# dagger-report.sh TITLE COMMAND... runs a dagger command that prints a
# Markdown report. On success the report goes to the step summary; on
# failure dagger's error message does, and each of its lines, which
# name the failing images, becomes an error annotation.
#
# Used by the promotion workflows; needs RUNNER_TEMP and GITHUB_STEP_SUMMARY.
set -uo pipefail
if (($# < 2)); then
  echo "usage: $0 TITLE COMMAND..." >&2
  exit 2
fi
title="$1" out="$RUNNER_TEMP/dagger.out" log="$RUNNER_TEMP/dagger.log" err="$RUNNER_TEMP/dagger.err"
status=0
shift
# Dagger's log quotes registry responses: the runner must not
# read workflow commands in it.
token="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
echo "::stop-commands::$token"
"$@" 2>&1 >"$out" | tee "$log" || status=$?
printf '\n::%s::\n' "$token"
if ((status == 0)); then
  cat "$out" >>"$GITHUB_STEP_SUMMARY"
  exit 0
fi
if ! grep -q '^Error: ' "$log"; then
  echo "::error title=$title::dagger exited with status $status; see the log"
  exit "$status"
fi
tac "$log" | sed '/^Error: /q' | tac >"$err"
{
  printf '### %s\n\n```text\n' "$title"
  cat "$err"
  printf '```\n'
} >>"$GITHUB_STEP_SUMMARY"
while IFS= read -r line; do
  line="${line#Error: }"
  line="${line#"${line%%[![:space:]]*}"}"
  [[ -n "$line" ]] || continue
  line="${line//%/%25}"
  printf '::error title=%s::%s\n' "$title" "${line//$'\r'/%0D}"
done <"$err"
exit "$status"
