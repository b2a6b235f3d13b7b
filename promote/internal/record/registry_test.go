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

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
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

// connect returns the records of repo for a client of its own, as a run
// connects: a transport that no other client shares, below wrap when
// given, authenticated for push.
func connect(t *testing.T, ctx context.Context, repo name.Repository, wrap func(http.RoundTripper) http.RoundTripper) *Repository {
	t.Helper()
	inner := remote.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(inner.CloseIdleConnections)
	var rt http.RoundTripper = inner
	if wrap != nil {
		rt = wrap(rt)
	}
	tr, err := transport.NewWithContext(ctx, repo.Registry, authn.Anonymous, rt, []string{repo.Scope(transport.PushScope)})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Connect(repo, tr)
	if err != nil {
		t.Fatal(err)
	}
	return r
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

// write writes rec on subject as a batch of one, as a run writes it once
// it has listed the subject, failing the test on error.
func write(t *testing.T, ctx context.Context, r *Repository, rec Record, subject v1.Descriptor) v1.Descriptor {
	t.Helper()
	d, err := writeBatch(ctx, r, rec, subject)
	if err != nil {
		t.Fatalf("writing a %s record: %v", rec.Action, err)
	}
	return d
}

// writeBatch writes rec on subject as a batch of one, in a run's order:
// list the subject (which says whether the registry serves the referrers
// API), prepare, stage, commit.
func writeBatch(ctx context.Context, r *Repository, rec Record, subject v1.Descriptor) (v1.Descriptor, error) {
	l, err := r.List(ctx, subject.Digest)
	if err != nil {
		return v1.Descriptor{}, err
	}
	var b Batch
	d, err := b.Add(r, rec, subject, l.API)
	if err != nil {
		return d, err
	}
	b.Prepare(ctx)
	defer b.Wait()
	b.Stage(ctx)
	return d, b.Commit(ctx)[0]
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
			r := connect(t, ctx, repo, nil)
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

// TestConcurrentWritersLoseNothing races two clients writing a batch of
// one record on one digest of a registry without the referrers API, in the
// order that the read-back is built to catch (see indexRace): the second
// index PUT drops the first's entry, and the read-back finds the loss and
// writes the entry again. The control, the same race committed without the
// read-back, loses one record. (An index PUT that lands after the other
// writer's read-back is the loss Batch documents it cannot find.) The
// core's TestRacingRunsKeepEachOthersRecords races two whole runs.
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
			for _, tc := range []struct {
				name   string
				commit func(context.Context, *Batch) []error
				// want: records listed; puts: fewest index PUTs.
				want, puts int
			}{
				{"with read-back", func(ctx context.Context, b *Batch) []error { return b.Commit(ctx) }, 2, 3},
				{"control without read-back", commitWithoutReadBack, 1, 2},
			} {
				t.Run(tc.name, func(t *testing.T) {
					A := pushSubject(t, ctx, repo, "staging-"+strings.ReplaceAll(tc.name, " ", "-"))
					race := newIndexRace()
					// A writer that fails must not leave the other at the barrier.
					raceCtx, cancel := context.WithCancel(ctx)
					defer cancel()
					errs := make([]error, 2)
					var wg sync.WaitGroup
					for i, actor := range []string{"alice", "bob"} {
						w := connect(t, ctx, repo, race.transport)
						var b Batch
						if _, err := b.Add(w, recordOf(repo, ActionPromote, A.Digest, v1.Hash{}, i, actor), A, false); err != nil {
							t.Fatal(err)
						}
						wg.Go(func() {
							b.Prepare(raceCtx)
							defer b.Wait()
							b.Stage(raceCtx)
							if errs[i] = tc.commit(raceCtx, &b)[0]; errs[i] != nil {
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
					l, err := connect(t, ctx, repo, nil).List(ctx, A.Digest)
					if err != nil {
						t.Fatal(err)
					}
					if len(l.Records) != tc.want {
						t.Errorf("after the race the listing holds %d records, want %d: %+v", len(l.Records), tc.want, l.Records)
					}
					if n := race.puts.Load(); n < int64(tc.puts) {
						t.Errorf("the writers PUT the fallback index %d times, want at least %d", n, tc.puts)
					}
					if race.barrier.Arrived() != 2 {
						t.Errorf("%d writers met at the barrier, want 2", race.barrier.Arrived())
					}
				})
			}
		})
	}
}

// commitWithoutReadBack commits b as Commit does, but writes each listing
// entry once and reads nothing back.
func commitWithoutReadBack(ctx context.Context, b *Batch) []error {
	for _, g := range b.groups {
		g.write(ctx, b)
	}
	errs := make([]error, len(b.entries))
	for k, e := range b.entries {
		errs[k] = e.err
	}
	return errs
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
	r := connect(t, ctx, repo, nil)
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
	var b Batch
	if _, err := b.Add(r, recordOf(repo, ActionPromote, B.Digest, A.Digest, 2, "bob"), B, false); err != nil {
		t.Fatal(err)
	}
	b.Prepare(ctx)
	b.Stage(ctx)
	if err := b.Commit(ctx)[0]; err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("a batch over a huge listing: got %v, want a bound error", err)
	}
	b.Wait()
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
	r := connect(t, ctx, repo, nil)
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

// TestBatchOutlastsBlobUnknown: a registry that, for a moment, does not
// know the empty blob it has just confirmed (distribution's filesystem
// storage, when two clients upload that blob at once) does not fail the
// batch: the record manifest is PUT again after a pause.
func TestBatchOutlastsBlobUnknown(t *testing.T) {
	srv := registrytest.InProcessWithReferrers(t)
	ctx := testContext(t)
	repo, err := name.NewRepository(srv.Repo("org/app"))
	if err != nil {
		t.Fatal(err)
	}
	A := pushSubject(t, ctx, repo, "staging-a")
	fault := &blobUnknownOnce{}
	r := connect(t, ctx, repo, func(rt http.RoundTripper) http.RoundTripper { fault.inner = rt; return fault })
	id := write(t, ctx, r, recordOf(repo, ActionPromote, A.Digest, v1.Hash{}, 1, "alice"), A).Digest
	if !fault.done.Load() {
		t.Fatal("the fault was never injected")
	}
	l, err := r.List(ctx, A.Digest)
	if err != nil || len(l.Records) != 1 || l.Records[0].ID != id {
		t.Errorf("listing after the write: %+v, %v", l.Records, err)
	}
}
