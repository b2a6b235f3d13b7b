package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// OpenBlob streams blob d of the repository.
func (c *Client) OpenBlob(ctx context.Context, d v1.Hash) (io.ReadCloser, error) {
	resp, err := c.do(ctx, http.MethodGet, c.url("/blobs/"+d.String()), http.StatusOK)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// HasBlob reports whether the repository has blob d.
func (c *Client) HasBlob(ctx context.Context, d v1.Hash) (bool, error) {
	resp, err := c.do(ctx, http.MethodHead, c.url("/blobs/"+d.String()), http.StatusOK, http.StatusNotFound)
	if err != nil {
		return false, err
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK, nil
}

// StartUpload starts a blob upload and returns where it continues. With
// from, a repository of the same registry, it asks the registry to mount
// blob d from there instead, and mounted reports whether it did.
func (c *Client) StartUpload(ctx context.Context, d v1.Hash, from string) (location string, mounted bool, err error) {
	u := c.url("/blobs/uploads/")
	if from != "" {
		u += "?" + url.Values{"mount": {d.String()}, "from": {from}}.Encode()
	}
	resp, err := c.do(ctx, http.MethodPost, u, http.StatusAccepted, http.StatusCreated)
	if err != nil {
		return "", false, err
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusCreated {
		return "", true, nil
	}
	loc, err := uploadLocation(resp)
	return loc, false, err
}

// FinishUpload sends blob d, of size bytes, read from body, to the upload
// at location, in one request: the registry checks the digest before it
// commits the blob.
func (c *Client) FinishUpload(ctx context.Context, location string, d v1.Hash, size int64, body io.Reader) error {
	u, err := url.Parse(location)
	if err != nil {
		return err
	}
	q := u.Query()
	q.Set("digest", d.String())
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u.String(), body)
	if err != nil {
		return err
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := c.send(req, http.StatusCreated)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

// CancelUpload ends the upload at location, if there is one.
func (c *Client) CancelUpload(ctx context.Context, location string) error {
	if location == "" {
		return nil
	}
	resp, err := c.do(ctx, http.MethodDelete, location, http.StatusNoContent, http.StatusOK, http.StatusAccepted, http.StatusNotFound)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

// uploadLocation resolves where an upload continues. Like
// go-containerregistry, it refuses to follow a registry to a private or
// loopback address on another host.
func uploadLocation(resp *http.Response) (string, error) {
	h := resp.Header.Get("Location")
	if h == "" {
		return "", errors.New("the registry did not say where the upload continues (no Location header)")
	}
	u, err := resp.Request.URL.Parse(h)
	if err != nil {
		return "", fmt.Errorf("the registry's upload location %q: %w", h, err)
	}
	if u.Hostname() != resp.Request.URL.Hostname() {
		if ip, err := netip.ParseAddr(u.Hostname()); err == nil && (ip.IsPrivate() || ip.IsLoopback() || ip.IsLinkLocalUnicast()) {
			return "", fmt.Errorf("the registry's upload location %s is a private address on another host", u.Host)
		}
	}
	return u.String(), nil
}

// url is the address of path under the repository's API.
func (c *Client) url(path string) string {
	return c.repo.Scheme() + "://" + c.repo.RegistryStr() + "/v2/" + c.repo.RepositoryStr() + path
}

// do sends one request without a body, with the registry's token, and
// checks its status. The caller closes the body of the response returned.
func (c *Client) do(ctx context.Context, method, url string, want ...int) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return nil, err
	}
	return c.send(req, want...)
}

// send sends req with the registry's token and checks its status.
func (c *Client) send(req *http.Request, want ...int) (*http.Response, error) {
	resp, err := (&http.Client{Transport: c.auth}).Do(req)
	if err != nil {
		return nil, withoutQuery(err)
	}
	if err := transport.CheckError(resp, want...); err != nil {
		resp.Body.Close()
		return nil, withoutQuery(err)
	}
	return resp, nil
}

// withoutQuery drops the query from the address that a failed request
// names: an upload's carries the registry's session state, long and of no
// use to a reader.
func withoutQuery(err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		if u, perr := url.Parse(uerr.URL); perr == nil && u.RawQuery != "" {
			u.RawQuery = ""
			uerr.URL = u.String()
		}
	}
	var terr *transport.Error
	if errors.As(err, &terr) && terr.Request != nil && terr.Request.URL.RawQuery != "" {
		req := *terr.Request
		u := *req.URL
		u.RawQuery = ""
		req.URL = &u
		terr.Request = &req
	}
	return err
}
