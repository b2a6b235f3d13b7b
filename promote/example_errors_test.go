package promote_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/molecule-ai/promote/promote"
)

// A caller reaches the cause of a failure with errors.As: a registry that
// cannot be used, or the kind of signature failure of each image.
func ExampleVerificationError() {
	p, err := promote.New(promote.Config{Repositories: []string{"127.0.0.1:1/team/api"}}, promote.WithAnonymous())
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = p.Verify(context.Background(), promote.MustParseSHA("2222222"))

	var verr *promote.VerificationError
	var access *promote.AccessError
	var sig *promote.SignatureError
	switch {
	case err == nil:
		fmt.Println("verified")
	case errors.As(err, &access):
		fmt.Println("registry:", access.Cause)
	case errors.As(err, &sig) && sig.Kind == promote.Unsigned:
		fmt.Println("not signed:", sig.Reason)
	case errors.As(err, &sig):
		fmt.Printf("signature: %v: %s\n", sig.Kind, sig.Reason)
	}
	if errors.As(err, &verr) {
		for _, img := range verr.Images {
			fmt.Println("failed:", img.Image)
		}
	}
	fmt.Println("nothing written:", errors.Is(err, promote.ErrVerification))
	// Output:
	// registry: cannot reach 127.0.0.1:1 (connection refused)
	// failed: 127.0.0.1:1/team/api:staging-2222222
	// nothing written: true
}
