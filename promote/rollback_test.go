package promote_test

import (
	"context"
	"errors"
	"testing"

	"github.com/molecule-ai/promote/promote"
)

// TestRollbackToBackupsCannotSkipBackups: a swap always rewrites the backup
// tag, so NoBackup without a sha is refused before any request.
func TestRollbackToBackupsCannotSkipBackups(t *testing.T) {
	f := newFixture(t, backends[0], true)
	_, err := f.promoter(promote.Config{}).Rollback(context.Background(), promote.SHA{}, promote.WriteOptions{NoBackup: true})
	if !errors.Is(err, promote.ErrInvalidInput) {
		t.Fatalf("err = %v, want invalid input", err)
	}
	if n := f.proxy.Total(); n != 0 {
		t.Errorf("%d requests reached the registry", n)
	}
}
