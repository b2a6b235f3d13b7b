package record

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/molecule-ai/promote/internal/registrytest"
)

// v3BinaryEnv names the distribution 3 registry executable for the tests
// that run on it; without it they are skipped.
const v3BinaryEnv = "PROMOTE_REGISTRY_V3_BIN"

// registryUnderTest is one kind of real registry the records are tested on.
type registryUnderTest struct {
	name string
	// fallback: no referrers API, so records are listed in the fallback
	// tag index that writers update read-modify-write.
	fallback bool
	start    func(t *testing.T) *registrytest.Server
}

// registries returns the registries to test on: distribution 2.8 (Debian's
// docker-registry) and 3.0, neither of which serves the referrers API, and
// go-containerregistry's in-process registry, which does.
func registries() []registryUnderTest {
	return []registryUnderTest{
		{"distribution-2.8", true, func(t *testing.T) *registrytest.Server { return registrytest.Distribution(t) }},
		{"distribution-3.0", true, startDistribution3},
		{"in-process-referrers-api", false, func(t *testing.T) *registrytest.Server { return registrytest.InProcessWithReferrers(t) }},
	}
}

// startDistribution3 starts the distribution 3 registry named by
// v3BinaryEnv, or skips the test.
func startDistribution3(t *testing.T) *registrytest.Server {
	t.Helper()
	bin := os.Getenv(v3BinaryEnv)
	if bin == "" {
		t.Skipf("distribution 3 not tested: set %s to its registry executable, built with "+
			"GOBIN=DIR go install github.com/distribution/distribution/v3/cmd/registry@v3.0.0", v3BinaryEnv)
	}
	s, err := registrytest.StartDistribution(t.Context(), registrytest.DistributionConfig{Binary: bin})
	if err != nil {
		t.Fatalf("start distribution 3: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("distribution 3 log tail:\n%s", s.Logs())
		}
		if err := s.Close(); err != nil {
			t.Errorf("stop distribution 3: %v", err)
		}
	})
	return s
}

// testContext bounds a test's registry exchanges.
func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// clientOptions returns remote options for a client of its own: a transport
// that no other client shares, below rt when given.
func clientOptions(t *testing.T, wrap func(http.RoundTripper) http.RoundTripper) []remote.Option {
	t.Helper()
	tr := remote.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	var rt http.RoundTripper = tr
	if wrap != nil {
		rt = wrap(rt)
	}
	return []remote.Option{remote.WithTransport(rt)}
}

// pushSubject pushes a random image to repo:tag and returns its descriptor.
func pushSubject(t *testing.T, ctx context.Context, repo name.Repository, tag string) v1.Descriptor {
	t.Helper()
	if _, err := registrytest.PushImage(ctx, repo.Tag(tag).String(), registrytest.ImageSpec{}, nil); err != nil {
		t.Fatal(err)
	}
	d, err := remote.Head(repo.Tag(tag), remote.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	return *d
}

// recordOf returns a record of repo's latest tag with run details.
func recordOf(repo name.Repository, action Action, to, from v1.Hash, minute int, actor string) Record {
	return Record{
		Action:         action,
		Tag:            TargetTag(repo.Tag("latest")),
		Digest:         to,
		PreviousDigest: from,
		SHA:            strings.Repeat("ab", 20),
		Time:           at(minute),
		Actor:          actor,
		Run:            "https://github.com/org/repo/actions/runs/7/attempts/" + actor,
		Version:        "v0.0.0-test",
	}
}

// records returns the records of repo, failing the test on error.
func records(t *testing.T, repo name.Repository, opts ...remote.Option) *Repository {
	t.Helper()
	r, err := NewRepository(repo, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// write writes rec on subject, failing the test on error.
func write(t *testing.T, ctx context.Context, r *Repository, rec Record, subject v1.Descriptor) v1.Descriptor {
	t.Helper()
	d, err := r.Write(ctx, rec, subject)
	if err != nil {
		t.Fatalf("Write %s: %v", rec.Action, err)
	}
	return d
}

// TestRecordsOnRegistries: promote A, promote B, roll back to A; history
// then reads rollback, promote, promote with actor and run; B counts as
// rolled back until a promotion with the override; and
// go-containerregistry's referrers reading, as oras discover or regctl
// artifact list read, sees the records.
func TestRecordsOnRegistries(t *testing.T) {
	for _, reg := range registries() {
		t.Run(reg.name, func(t *testing.T) {
			srv := reg.start(t)
			ctx := testContext(t)
			repo, err := name.NewRepository(srv.Repo("org/app"))
			if err != nil {
				t.Fatal(err)
			}
			A := pushSubject(t, ctx, repo, "staging-a")
			B := pushSubject(t, ctx, repo, "staging-b")
			r := records(t, repo, clientOptions(t, nil)...)
			tag := TargetTag(repo.Tag("latest"))

			write(t, ctx, r, recordOf(repo, ActionPromote, A.Digest, v1.Hash{}, 1, "alice"), A)
			write(t, ctx, r, recordOf(repo, ActionPromote, B.Digest, A.Digest, 2, "bob"), B)
			rollback := recordOf(repo, ActionRollback, A.Digest, B.Digest, 3, "carol")
			write(t, ctx, r, rollback, A)
			markRec := rollback
			markRec.Action = ActionRolledBack
			markID := write(t, ctx, r, markRec, B).Digest

			tr, err := Walk(ctx, r, tag, A.Digest, 0)
			if err != nil {
				t.Fatalf("Walk: %v", err)
			}
			var got []string
			for _, s := range tr.Steps {
				got = append(got, string(s.Kind)+" "+string(s.Record.Action)+" "+s.Record.Actor+" "+s.Record.Run[strings.LastIndex(s.Record.Run, "/")+1:])
			}
			want := []string{"move rollback carol carol", "move promote bob bob", "move promote alice alice"}
			if strings.Join(got, "\n") != strings.Join(want, "\n") || tr.Truncated {
				t.Errorf("history:\n got %q\nwant %q", got, want)
			}

			listB, err := r.List(ctx, B.Digest)
			if err != nil || len(listB.Rejected) > 0 {
				t.Fatalf("List B: %v %v", err, listB.Err())
			}
			m, ok := RolledBack(listB.Records, tag, B.Digest)
			if !ok || m.Actor != "carol" || m.ID != markID || !m.Time.Equal(at(3)) {
				t.Errorf("RolledBack(B) = %+v, %v; want carol's mark %s", m, ok, markID)
			}
			again := recordOf(repo, ActionPromote, B.Digest, A.Digest, 4, "dave")
			again.AllowRolledBack = true
			write(t, ctx, r, again, B)
			listB, err = r.List(ctx, B.Digest)
			if err != nil {
				t.Fatal(err)
			}
			if m, ok := RolledBack(listB.Records, tag, B.Digest); ok {
				t.Errorf("B still rolled back by %+v after a promotion with the override", m)
			}
			if len(listB.Records) != 3 || !listB.Records[0].AllowRolledBack {
				t.Errorf("records of B, newest first: %+v", listB.Records)
			}

			// go-containerregistry's referrers support, as other tools read.
			idx, err := remote.Referrers(repo.Digest(B.Digest.String()), remote.WithContext(ctx))
			if err != nil {
				t.Fatal(err)
			}
			im, err := idx.IndexManifest()
			if err != nil {
				t.Fatal(err)
			}
			found := 0
			for _, d := range im.Manifests {
				if d.Annotations[keyAction] != "" {
					found++
					if reg.fallback && d.ArtifactType != ArtifactType {
						t.Errorf("referrer %s has artifactType %q, want %q", d.Digest, d.ArtifactType, ArtifactType)
					}
				}
			}
			if found != 3 {
				t.Errorf("go-containerregistry's referrers listing of B holds %d records, want 3: %+v", found, im.Manifests)
			}
			if reg.fallback {
				idx, err := remote.Referrers(repo.Digest(B.Digest.String()), remote.WithContext(ctx), remote.WithFilter("artifactType", ArtifactType))
				if err != nil {
					t.Fatal(err)
				}
				if im, err := idx.IndexManifest(); err != nil || len(im.Manifests) != 3 {
					t.Errorf("listing filtered by artifactType: %v, %v", im, err)
				}
			}
			// The record's manifest, as a reader that fetches it sees it.
			desc, err := remote.Get(repo.Digest(markID.String()), remote.WithContext(ctx))
			if err != nil {
				t.Fatal(err)
			}
			var mf v1.Manifest
			if err := json.Unmarshal(desc.Manifest, &mf); err != nil {
				t.Fatal(err)
			}
			if mf.ArtifactType != ArtifactType || mf.Config.MediaType != emptyMediaType || mf.Subject == nil ||
				mf.Subject.Digest != B.Digest || mf.Subject.Size != B.Size || len(mf.Layers) != 1 {
				t.Errorf("record manifest: %s", desc.Manifest)
			}
		})
	}
}

// indexRace orders two writers of one fallback index, as the read-back is
// built to catch: both read the index before either writes it (the barrier
// on the first two reads), and neither reads it back before both have
// written it (later reads wait for two answered index PUTs). So whichever
// PUT lands second drops the other's entry, and the writer whose entry was
// dropped reads the loss back.
type indexRace struct {
	barrier *registrytest.Barrier
	reads   atomic.Int64
	puts    atomic.Int64
	written chan struct{} // closed once two index PUTs have been answered
	once    sync.Once
}

func newIndexRace() *indexRace {
	return &indexRace{
		barrier: registrytest.NewBarrier(2, registrytest.Match(http.MethodGet, "/manifests/sha256-")),
		written: make(chan struct{}),
	}
}

// transport returns one writer's transport, through inner.
func (r *indexRace) transport(inner http.RoundTripper) http.RoundTripper {
	held := r.barrier.Transport(inner)
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		index := strings.Contains(req.URL.Path, "/manifests/sha256-")
		if index && req.Method == http.MethodGet && r.reads.Add(1) > 2 {
			select {
			case <-r.written:
			case <-req.Context().Done():
				return nil, req.Context().Err()
			}
		}
		resp, err := held.RoundTrip(req)
		if index && req.Method == http.MethodPut && err == nil && r.puts.Add(1) == 2 {
			r.once.Do(func() { close(r.written) })
		}
		return resp, err
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// TestConcurrentWritersLoseNothing races two clients writing records on
// one digest of a registry without the referrers API, in the order that
// Write's read-back is built to catch (see indexRace): the second index PUT
// drops the first's entry, and the read-back finds the loss and writes the
// entry again. The control shows that without the read-back, one record is
// lost. (An index PUT that lands after the other writer's read-back is the
// loss Write documents it cannot find.)
func TestConcurrentWritersLoseNothing(t *testing.T) {
	for _, reg := range registries() {
		if !reg.fallback {
			continue
		}
		t.Run(reg.name, func(t *testing.T) {
			srv := reg.start(t)
			ctx := testContext(t)
			repo, err := name.NewRepository(srv.Repo("org/app"))
			if err != nil {
				t.Fatal(err)
			}
			readIndex := registrytest.Match(http.MethodGet, "/manifests/sha256-")

			t.Run("with read-back", func(t *testing.T) {
				A := pushSubject(t, ctx, repo, "staging-race")
				race := newIndexRace()
				recs := []Record{
					recordOf(repo, ActionPromote, A.Digest, v1.Hash{}, 1, "alice"),
					recordOf(repo, ActionPromote, A.Digest, v1.Hash{}, 2, "bob"),
				}
				ids := make([]v1.Hash, len(recs))
				errs := make([]error, len(recs))
				// A writer that fails must not leave the other at the barrier.
				raceCtx, cancel := context.WithCancel(ctx)
				defer cancel()
				var wg sync.WaitGroup
				for i, rec := range recs {
					w := records(t, repo, clientOptions(t, race.transport)...)
					wg.Go(func() {
						d, err := w.Write(raceCtx, rec, A)
						ids[i], errs[i] = d.Digest, err
						if err != nil {
							cancel()
						}
					})
				}
				wg.Wait()
				for i, err := range errs {
					if err != nil {
						t.Fatalf("writer %d: %v", i, err)
					}
				}
				l, err := records(t, repo).List(ctx, A.Digest)
				if err != nil {
					t.Fatal(err)
				}
				if len(l.Records) != 2 {
					t.Errorf("after the race the listing holds %d records, want both: %+v", len(l.Records), l.Records)
				}
				if n := race.puts.Load(); n < 3 {
					t.Errorf("the writers PUT the fallback index %d times; want a third, the rewrite of the entry the race dropped", n)
				}
				if race.barrier.Arrived() != 2 {
					t.Errorf("%d writers met at the barrier, want 2", race.barrier.Arrived())
				}
			})

			t.Run("control without read-back", func(t *testing.T) {
				A := pushSubject(t, ctx, repo, "staging-control")
				barrier := registrytest.NewBarrier(2, readIndex)
				raceCtx, cancel := context.WithCancel(ctx)
				defer cancel()
				var wg sync.WaitGroup
				errs := make([]error, 2)
				for i, actor := range []string{"alice", "bob"} {
					rec := recordOf(repo, ActionPromote, A.Digest, v1.Hash{}, i, actor)
					m, err := rec.manifest(A)
					if err != nil {
						t.Fatal(err)
					}
					// The empty blob first, as Write uploads it.
					if err := remote.WriteLayer(repo, static.NewLayer(emptyJSON, emptyMediaType), remote.WithContext(ctx)); err != nil {
						t.Fatal(err)
					}
					opts := append(clientOptions(t, barrier.Transport), remote.WithContext(raceCtx))
					wg.Go(func() {
						errs[i] = remote.Put(repo.Digest(m.descriptor().Digest.String()), m, opts...)
						if errs[i] != nil {
							cancel()
						}
					})
				}
				wg.Wait()
				for _, err := range errs {
					if err != nil {
						t.Fatalf("plain write: %v", err)
					}
				}
				l, err := records(t, repo).List(ctx, A.Digest)
				if err != nil {
					t.Fatal(err)
				}
				if len(l.Records) != 1 {
					t.Errorf("without read-back the race left %d records listed, want 1 (one lost)", len(l.Records))
				}
			})
		})
	}
}

// putRaw pushes a manifest as is, by digest, with go-containerregistry's
// handling of its subject.
func putRaw(t *testing.T, ctx context.Context, repo name.Repository, m v1.Manifest) v1.Hash {
	t.Helper()
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	a := artifact{raw: raw}
	d := a.descriptor().Digest
	if err := remote.Put(repo.Digest(d.String()), a, remote.WithContext(ctx)); err != nil {
		t.Fatalf("push hostile record: %v", err)
	}
	return d
}

// TestHostileListings: what a registry lists is bounded and validated. A
// listing too long is refused; oversized, foreign or misattached records
// are rejected, and the good record is still read.
func TestHostileListings(t *testing.T) {
	srv := registrytest.Distribution(t)
	ctx := testContext(t)
	repo, err := name.NewRepository(srv.Repo("org/app"))
	if err != nil {
		t.Fatal(err)
	}
	A := pushSubject(t, ctx, repo, "staging-a")
	B := pushSubject(t, ctx, repo, "staging-b")
	r := records(t, repo)
	good := recordOf(repo, ActionPromote, A.Digest, v1.Hash{}, 1, "alice")
	goodID := write(t, ctx, r, good, A).Digest

	forge := func(change func(a map[string]string)) v1.Manifest {
		m, err := good.manifest(A)
		if err != nil {
			t.Fatal(err)
		}
		var mf v1.Manifest
		if err := json.Unmarshal(m.raw, &mf); err != nil {
			t.Fatal(err)
		}
		change(mf.Annotations)
		return mf
	}
	putRaw(t, ctx, repo, forge(func(a map[string]string) { a[keyActor] = strings.Repeat("x", 64<<10) }))
	putRaw(t, ctx, repo, forge(func(a map[string]string) { a[keyTag] = "org/other:latest" }))
	putRaw(t, ctx, repo, forge(func(a map[string]string) { a[keyDigest] = B.Digest.String() }))
	putRaw(t, ctx, repo, forge(func(a map[string]string) { a[keyActor] = "eve\x1b[31m" }))

	l, err := r.List(ctx, A.Digest)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(l.Records) != 1 || l.Records[0].ID != goodID {
		t.Errorf("records: %+v, want only %s", l.Records, goodID)
	}
	wantReasons := []string{"bytes", "not of", "not to the digest it concerns", "unprintable"}
	if len(l.Rejected) != len(wantReasons) {
		t.Fatalf("rejected %d entries, want %d: %v", len(l.Rejected), len(wantReasons), l.Err())
	}
	for _, want := range wantReasons {
		if !strings.Contains(l.Err().Error(), want) {
			t.Errorf("no entry rejected for %q: %v", want, l.Err())
		}
	}
	if strings.Contains(l.Err().Error(), "\x1b") || len(l.Err().Error()) > 4096 {
		t.Errorf("rejection reasons carry raw or unbounded registry text: %q", l.Err())
	}

	// A fallback index of more entries than are read, all naming the good
	// record (the registry checks that each entry exists).
	entry := v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: goodID, Size: 1, ArtifactType: ArtifactType, Annotations: good.annotations()}
	huge := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}
	for range MaxReferrers + 1 {
		huge.Manifests = append(huge.Manifests, entry)
	}
	raw, err := json.Marshal(huge)
	if err != nil {
		t.Fatal(err)
	}
	fallback := repo.Tag(B.Digest.Algorithm + "-" + B.Digest.Hex)
	if err := remote.Put(fallback, rawIndex(raw), remote.WithContext(ctx)); err != nil {
		t.Fatalf("push huge fallback index: %v", err)
	}
	if _, err := r.List(ctx, B.Digest); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("List of a huge listing: got %v, want a bound error", err)
	}
	if _, err := r.Write(ctx, recordOf(repo, ActionPromote, B.Digest, A.Digest, 2, "bob"), B); err == nil {
		t.Error("Write read back a huge listing without error")
	}
}

// rawIndex is an index manifest pushed as is.
type rawIndex []byte

func (r rawIndex) RawManifest() ([]byte, error)        { return r, nil }
func (r rawIndex) MediaType() (types.MediaType, error) { return types.OCIImageIndex, nil }

// TestListMergesFallbackTagOnAPIRegistry: records written to the fallback
// tag before a registry gained the referrers API are still listed.
func TestListMergesFallbackTagOnAPIRegistry(t *testing.T) {
	srv := registrytest.InProcessWithReferrers(t)
	ctx := testContext(t)
	repo, err := name.NewRepository(srv.Repo("org/app"))
	if err != nil {
		t.Fatal(err)
	}
	A := pushSubject(t, ctx, repo, "staging-a")
	r := records(t, repo)
	viaAPI := write(t, ctx, r, recordOf(repo, ActionPromote, A.Digest, v1.Hash{}, 2, "bob"), A).Digest

	// An older record the API does not list (its manifest has no subject),
	// named only by the fallback tag, as a registry without the API kept it.
	old := recordOf(repo, ActionPromote, A.Digest, v1.Hash{}, 1, "alice")
	m, err := old.manifest(A)
	if err != nil {
		t.Fatal(err)
	}
	var mf v1.Manifest
	if err := json.Unmarshal(m.raw, &mf); err != nil {
		t.Fatal(err)
	}
	mf.Subject = nil
	oldID := putRaw(t, ctx, repo, mf)
	idx := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{
		{MediaType: types.OCIManifestSchema1, Digest: oldID, Size: 1, ArtifactType: ArtifactType, Annotations: old.annotations()},
	}}
	raw, err := json.Marshal(idx)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Put(repo.Tag(A.Digest.Algorithm+"-"+A.Digest.Hex), rawIndex(raw), remote.WithContext(ctx)); err != nil {
		t.Fatal(err)
	}
	l, err := r.List(ctx, A.Digest)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Records) != 2 || l.Records[0].ID != viaAPI || l.Records[1].ID != oldID {
		t.Errorf("records: %+v, want %s from the API then %s from the fallback tag", l.Records, viaAPI, oldID)
	}
}

// blobUnknownOnce answers the first PUT of a record manifest with the
// registry's "manifest blob unknown", without forwarding it.
type blobUnknownOnce struct {
	inner http.RoundTripper
	done  atomic.Bool
}

func (b *blobUnknownOnce) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPut && strings.Contains(req.URL.Path, "/manifests/sha256:") && b.done.CompareAndSwap(false, true) {
		body := `{"errors":[{"code":"MANIFEST_BLOB_UNKNOWN","message":"blob unknown to registry"}]}`
		return &http.Response{
			StatusCode: http.StatusBadRequest,
			Header:     http.Header{"Content-Type": {"application/json"}},
			Body:       io.NopCloser(strings.NewReader(body)),
			Request:    req,
		}, nil
	}
	return b.inner.RoundTrip(req)
}

// TestWriteOutlastsBlobUnknown: a registry that, for a moment, does not know
// the empty blob it has just confirmed (distribution's filesystem storage,
// when two clients upload that blob at once) does not fail the write.
func TestWriteOutlastsBlobUnknown(t *testing.T) {
	srv := registrytest.InProcessWithReferrers(t)
	ctx := testContext(t)
	repo, err := name.NewRepository(srv.Repo("org/app"))
	if err != nil {
		t.Fatal(err)
	}
	A := pushSubject(t, ctx, repo, "staging-a")
	fault := &blobUnknownOnce{}
	r := records(t, repo, clientOptions(t, func(rt http.RoundTripper) http.RoundTripper { fault.inner = rt; return fault })...)
	id := write(t, ctx, r, recordOf(repo, ActionPromote, A.Digest, v1.Hash{}, 1, "alice"), A).Digest
	if !fault.done.Load() {
		t.Fatal("the fault was never injected")
	}
	l, err := r.List(ctx, A.Digest)
	if err != nil || len(l.Records) != 1 || l.Records[0].ID != id {
		t.Errorf("listing after the write: %+v, %v", l.Records, err)
	}
}
