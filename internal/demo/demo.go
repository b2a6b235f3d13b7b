// Package demo runs the whole promote story against a registry held in
// memory, so that a newcomer can watch it work with no registry of their own.
package demo

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/molecule-ai/promote/promote"
)

// The made-up commits of the story: the one in production, and the new one.
const (
	oldSHA = "0123456789abcdef0123456789abcdef01234567"
	newSHA = "89abcdef0123456789abcdef0123456789abcdef"
)

// Run starts an in-memory registry on a loopback port, pushes the staging
// images of two commits for two services, makes the older commit
// production's :latest, then runs verify, promote, status, a repeated
// promote, two rollbacks and the history they recorded, writing each
// report to w.
func Run(ctx context.Context, w io.Writer) error {
	addr, stop, err := serve()
	if err != nil {
		return err
	}
	defer stop()

	repos := []string{addr + "/molecule-ai/platform", addr + "/molecule-ai/platform-tenant"}
	p, err := promote.New(promote.Config{Repositories: repos}, promote.WithAnonymous())
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "In-memory registry at %s with images:\n", addr)
	for _, repo := range repos {
		for _, sha := range []string{oldSHA, newSHA} {
			if err := push(ctx, repo+":"+p.SourceTag(mustSHA(sha)), sha); err != nil {
				return err
			}
			fmt.Fprintf(w, "  %s:%s\n", repo, p.SourceTag(mustSHA(sha)))
		}
	}
	if _, err := p.Promote(ctx, mustSHA(oldSHA), promote.WriteOptions{NoBackup: true, Actor: "demo"}); err != nil {
		return fmt.Errorf("making %s production: %w", oldSHA[:7], err)
	}
	fmt.Fprintf(w, "Production (:latest) is at commit %s.\n", oldSHA[:7])

	steps := []struct {
		title string
		do    func() (*promote.Report, error)
		// show, instead of do, prints a history.
		show func() (*promote.HistoryReport, error)
	}{
		{title: "$ promote verify --sha " + newSHA, do: func() (*promote.Report, error) { return p.Verify(ctx, mustSHA(newSHA)) }},
		{title: "$ promote promote --sha " + newSHA, do: func() (*promote.Report, error) {
			return p.Promote(ctx, mustSHA(newSHA), promote.WriteOptions{Actor: "demo"})
		}},
		{title: "$ promote status", do: func() (*promote.Report, error) { return p.Status(ctx) }},
		{title: "$ promote promote --sha " + newSHA + "   # again: nothing to do", do: func() (*promote.Report, error) {
			return p.Promote(ctx, mustSHA(newSHA), promote.WriteOptions{Actor: "demo"})
		}},
		{title: "$ promote rollback   # back to :latest-previous", do: func() (*promote.Report, error) {
			return p.Rollback(ctx, promote.SHA{}, promote.WriteOptions{Actor: "demo"})
		}},
		{title: "$ promote rollback   # undoes the rollback", do: func() (*promote.Report, error) {
			return p.Rollback(ctx, promote.SHA{}, promote.WriteOptions{Actor: "demo"})
		}},
		{title: "$ promote history   # who moved :latest, newest first", show: func() (*promote.HistoryReport, error) {
			return p.History(ctx, 0)
		}},
		{title: "$ promote verify --sha 0000000   # a commit that was never built", do: func() (*promote.Report, error) {
			return p.Verify(ctx, mustSHA("0000000"))
		}},
	}
	for i, s := range steps {
		fmt.Fprintf(w, "\n%s\n", s.title)
		if s.show != nil {
			h, err := s.show()
			if err != nil {
				return err
			}
			fmt.Fprint(w, h.Text())
			continue
		}
		rep, err := s.do()
		if rep != nil {
			fmt.Fprint(w, rep.Text())
		}
		last := i == len(steps)-1
		switch {
		case last && err == nil:
			return fmt.Errorf("verifying a commit that was never built succeeded")
		case last:
			fmt.Fprintf(w, "error (as expected): %v\n", err)
		case err != nil:
			return err
		}
	}
	return nil
}

// serve starts the in-memory registry on a loopback port.
func serve() (addr string, stop func(), err error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("listening on loopback: %w", err)
	}
	srv := &http.Server{
		Handler:           registry.New(registry.Logger(log.New(io.Discard, "", 0))),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go srv.Serve(l)
	return l.Addr().String(), func() { srv.Close() }, nil
}

// push writes a small random image labelled with its commit sha.
func push(ctx context.Context, ref, sha string) error {
	tag, err := name.NewTag(ref)
	if err != nil {
		return err
	}
	img, err := random.Image(256, 1)
	if err != nil {
		return err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config.Labels = map[string]string{"org.opencontainers.image.revision": sha}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return err
	}
	return remote.Write(tag, img, remote.WithContext(ctx))
}

func mustSHA(s string) promote.SHA { return promote.MustParseSHA(s) }
