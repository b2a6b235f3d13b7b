// Command promote moves a commit's container images from their staging tag
// to their production tags together, or not at all.
//
//	promote verify   --sha SHA      check every image of a commit
//	promote promote  --sha SHA      move every target tag to it
//	promote rollback [--sha SHA]    move back (to a sha, or to the backup tags)
//	promote status                  show what every target tag points at
//	promote demo                    run the whole story on an in-memory registry
//	promote --version               print its version and go-containerregistry's
//
// The images come from repeated --image flags, or else from $PROMOTE_IMAGES,
// separated by white space.
//
// Exit codes: 0 success; 1 verification or promotion failed and the registry
// is as before; 2 bad input or usage, found before any request; 3 the
// registry was left mixed. With --json, stdout holds one JSON report for
// every outcome.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
