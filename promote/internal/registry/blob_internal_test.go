package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

func TestUploadLocation(t *testing.T) {
	req := &http.Request{URL: &url.URL{Scheme: "https", Host: "registry.example.com", Path: "/v2/prod/api/blobs/uploads/"}}
	cases := []struct {
		location, want string
		ok             bool
	}{
		{"/v2/prod/api/blobs/uploads/123?_state=x", "https://registry.example.com/v2/prod/api/blobs/uploads/123?_state=x", true},
		{"https://registry.example.com/v2/prod/api/blobs/uploads/123", "https://registry.example.com/v2/prod/api/blobs/uploads/123", true},
		{"https://storage.example.net/upload/123", "https://storage.example.net/upload/123", true},
		{"http://10.0.0.7/upload/123", "", false},
		{"http://127.0.0.1:5000/upload/123", "", false},
		{"http://[fe80::1]/upload/123", "", false},
		{"", "", false},
	}
	for _, tc := range cases {
		resp := &http.Response{Request: req, Header: http.Header{}}
		if tc.location != "" {
			resp.Header.Set("Location", tc.location)
		}
		got, err := uploadLocation(resp)
		if tc.ok != (err == nil) || got != tc.want {
			t.Errorf("uploadLocation(%q) = %q, %v; want %q, ok=%t", tc.location, got, err, tc.want, tc.ok)
		}
	}
}

func TestRetryable(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	cases := []struct {
		name string
		ctx  context.Context
		err  error
		want bool
	}{
		{"503", context.Background(), &transport.Error{StatusCode: http.StatusServiceUnavailable}, true},
		{"429", context.Background(), &transport.Error{StatusCode: http.StatusTooManyRequests}, true},
		{"404", context.Background(), &transport.Error{StatusCode: http.StatusNotFound}, false},
		{"digest refused", context.Background(), &transport.Error{StatusCode: http.StatusBadRequest}, false},
		{"connection cut", context.Background(), fmt.Errorf("uploading: %w", io.ErrUnexpectedEOF), true},
		{"canceled", canceled, io.ErrUnexpectedEOF, false},
		{"anything else", context.Background(), errors.New("no"), false},
	}
	for _, tc := range cases {
		if got := Retryable(tc.ctx, tc.err); got != tc.want {
			t.Errorf("%s: Retryable = %t, want %t", tc.name, got, tc.want)
		}
	}
}
