package promote

import "testing"

func TestDecideOutcome(t *testing.T) {
	cases := []struct {
		name string
		in   outcomeState
		want Outcome
	}{
		{"verify: read and checked", outcomeState{stage: stageRead}, OutcomeVerified},
		{"verify: reads failed", outcomeState{stage: stageRead, failed: true}, OutcomeFailed},
		{"planned: a move", outcomeState{stage: stagePlanned}, OutcomeWouldChange},
		{"planned: already in place", outcomeState{stage: stagePlanned, inPlace: true}, OutcomeUnchanged},
		{"planned: reads failed", outcomeState{stage: stagePlanned, failed: true}, OutcomeFailed},
		{"refused: a move of a verified image", outcomeState{stage: stageRefused}, OutcomeVerified},
		{"refused: already in place", outcomeState{stage: stageRefused, inPlace: true}, OutcomeUnchanged},
		{"refused: this image failed", outcomeState{stage: stageRefused, failed: true, inPlace: true}, OutcomeFailed},
		{"copy failed: this image's copy", outcomeState{stage: stageCopyFailed, copyFailed: true}, OutcomeFailed},
		{"copy failed: another image's copy", outcomeState{stage: stageCopyFailed}, OutcomeVerified},
		{"copy failed: another image's, this one in place", outcomeState{stage: stageCopyFailed, inPlace: true}, OutcomeVerified},
		{"written", outcomeState{stage: stageWritten}, OutcomeChanged},
		{"written: already in place", outcomeState{stage: stageWritten, inPlace: true}, OutcomeUnchanged},
		{"restored: no tag of its own moved", outcomeState{stage: stageRestored}, OutcomeRestored},
		{"restored: in place, and still", outcomeState{stage: stageRestored, inPlace: true, fates: []tagFate{tagInPlace}}, OutcomeUnchanged},
		{"restored: put back", outcomeState{stage: stageRestored, fates: []tagFate{tagRestored, tagRestored}}, OutcomeRestored},
		{"restored: in place, moved by another run", outcomeState{stage: stageRestored, inPlace: true, fates: []tagFate{tagConflict}}, OutcomeConflict},
		{"restored: conflict over restored", outcomeState{stage: stageRestored, fates: []tagFate{tagConflict, tagRestored}}, OutcomeConflict},
		{"restored: failed over conflict", outcomeState{stage: stageRestored, fates: []tagFate{tagRestored, tagFailed, tagConflict}}, OutcomeFailed},
		{"restored: in place, unreadable", outcomeState{stage: stageRestored, inPlace: true, fates: []tagFate{tagFailed}}, OutcomeFailed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := decideOutcome(tc.in); got != tc.want {
				t.Errorf("decideOutcome(%+v) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
