package registrytest

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The tests in this file pin down how distribution 2.8 behaves where the
// promote logic depends on it, so that a change of registry version that
// breaks an assumption shows up here first.

func TestDistributionDeleteByDigestRemovesTags(t *testing.T) {
	t.Parallel()
	srv := Distribution(t)
	repo := srv.Repo("app")
	digest, err := PushImage(testContext(t), repo+":staging-1", ImageSpec{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	retag(t, repo+":staging-1", repo+":latest")

	deleteManifest(t, srv.Addr, "app", digest, http.StatusAccepted)
	assertAbsent(t, repo+":staging-1", nil)
	assertAbsent(t, repo+":latest", nil)
	assertAbsent(t, repo+"@"+digest, nil)
}

func TestDistributionDeleteByTagIsRefused(t *testing.T) {
	t.Parallel()
	srv := Distribution(t)
	repo := srv.Repo("app")
	digest, err := PushImage(testContext(t), repo+":latest", ImageSpec{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	deleteManifest(t, srv.Addr, "app", "latest", http.StatusBadRequest)
	if got := mustDigest(t, repo+":latest", nil); got != digest {
		t.Errorf("latest = %s after refused delete, want %s", got, digest)
	}
}

func TestDistributionDeleteDisabled(t *testing.T) {
	t.Parallel()
	srv := Distribution(t, WithoutDelete())
	repo := srv.Repo("app")
	digest, err := PushImage(testContext(t), repo+":latest", ImageSpec{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	body := deleteManifest(t, srv.Addr, "app", digest, http.StatusMethodNotAllowed)
	if !strings.Contains(body, "UNSUPPORTED") {
		t.Errorf("refusal body = %s, want code UNSUPPORTED", body)
	}
	deleteManifest(t, srv.Addr, "app", "latest", http.StatusMethodNotAllowed)
	deleteManifest(t, srv.Addr, "missing", digest, http.StatusMethodNotAllowed)
	mustDigest(t, repo+":latest", nil)
}

func TestDistributionDeleteMissing(t *testing.T) {
	t.Parallel()
	srv := Distribution(t)
	digest, err := PushImage(testContext(t), srv.Repo("app")+":latest", ImageSpec{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	deleteManifest(t, srv.Addr, "app", digest, http.StatusAccepted)
	deleteManifest(t, srv.Addr, "app", digest, http.StatusNotFound)
	deleteManifest(t, srv.Addr, "never-pushed", digest, http.StatusNotFound)
}

func TestDistributionAcceptsEmptyIndex(t *testing.T) {
	t.Parallel()
	srv := Distribution(t)
	ref := srv.Repo("app") + ":empty"
	digest, err := PushIndex(testContext(t), ref, IndexSpec{Annotations: map[string]string{"org.example.note": "no platforms"}}, nil)
	if err != nil {
		t.Fatalf("push index with no manifests: %v", err)
	}
	if got := mustDigest(t, ref, nil); got != digest {
		t.Errorf("Digest = %s, want %s", got, digest)
	}
	_, mediaType := rawManifest(t, ref, nil)
	if mediaType != string(types.OCIImageIndex) {
		t.Errorf("media type = %s, want %s", mediaType, types.OCIImageIndex)
	}
}

func TestDistributionMoveTag(t *testing.T) {
	t.Parallel()
	srv := Distribution(t)
	repo := srv.Repo("app")
	first, err := PushImage(testContext(t), repo+":latest", ImageSpec{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	second, err := PushImage(testContext(t), repo+":staging-2", ImageSpec{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	retag(t, repo+":staging-2", repo+":latest")
	if got := mustDigest(t, repo+":latest", nil); got != second {
		t.Errorf("latest = %s, want %s", got, second)
	}
	// The manifest the tag left stays reachable by digest.
	if got := mustDigest(t, repo+"@"+first, nil); got != first {
		t.Errorf("old manifest = %s, want %s", got, first)
	}
}

// retag points the tag dst at the manifest that src names, in one
// manifest PUT.
func retag(t *testing.T, src, dst string) {
	t.Helper()
	srcRef, err := name.ParseReference(src)
	if err != nil {
		t.Fatal(err)
	}
	dstTag, err := name.NewTag(dst)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Get(srcRef, remote.WithContext(testContext(t)))
	if err != nil {
		t.Fatalf("get %s: %v", src, err)
	}
	if err := remote.Tag(dstTag, desc, remote.WithContext(testContext(t))); err != nil {
		t.Fatalf("tag %s: %v", dst, err)
	}
}

// deleteManifest sends DELETE /v2/repo/manifests/reference, checks the
// status code, and returns the body.
func deleteManifest(t *testing.T, addr, repo, reference string, want int) string {
	t.Helper()
	url := "http://" + addr + "/v2/" + repo + "/manifests/" + reference
	resp, body, err := do(t, newClient(t, testTimeout), http.MethodDelete, url, nil, nil, "", "")
	if err != nil {
		t.Fatalf("DELETE %s: %v", url, err)
	}
	if resp.StatusCode != want {
		t.Errorf("DELETE %s = %d %s, want %d", url, resp.StatusCode, body, want)
	}
	return string(body)
}

func TestDistributionRejectsIndexWithMissingChild(t *testing.T) {
	t.Parallel()
	srv := Distribution(t)
	idx, err := NewIndex(IndexSpec{Images: []ImageSpec{{}}})
	if err != nil {
		t.Fatal(err)
	}
	manifest, err := idx.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	// The child image was never pushed, so the index refers to nothing.
	resp, err := putManifest(t, newClient(t, testTimeout), srv.Addr, "app", "latest", string(types.OCIImageIndex), manifest)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("PUT index with a missing child = %d, want 400", resp.StatusCode)
	}
	assertAbsent(t, srv.Repo("app")+":latest", nil)
}
