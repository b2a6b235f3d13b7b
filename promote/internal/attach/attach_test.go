package attach

import (
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestClassicTag(t *testing.T) {
	d := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("ab", 32)}
	for s, want := range map[Scheme]string{CosignSig: "sha256-" + d.Hex + ".sig", CosignAtt: "sha256-" + d.Hex + ".att"} {
		if got := ClassicTag(d, s); got != want {
			t.Errorf("ClassicTag(%s) = %s, want %s", s, got, want)
		}
	}
	if got := Referrers.Suffix(); got != "" {
		t.Errorf("the referrers have a tag suffix %q", got)
	}
}

func TestBudget(t *testing.T) {
	r := Reader{Limits: Limits{Referrers: 1, Layers: 1, LayerBytes: 10, TotalBytes: 25, Concurrency: 1}}
	b := r.NewBudget()
	for i, want := range []bool{true, true, false, false} {
		if got := b.take(10); got != want {
			t.Errorf("take %d = %v, want %v", i, got, want)
		}
	}
	if got := (&LimitError{What: "signature layers in x", Limit: 1000}).Error(); got != "more than 1000 signature layers in x" {
		t.Errorf("LimitError = %q", got)
	}
}
