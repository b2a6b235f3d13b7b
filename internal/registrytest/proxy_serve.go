package registrytest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"
)

// Reasons that a forwarded response is not relayed.
var (
	errDropResponse = errors.New("response dropped by fault")
	errProxyClosing = errors.New("proxy is closing")
)

// exchangeKey is the context key of a forwarded request's *exchange.
type exchangeKey struct{}

// exchange carries a request's record and fault to the response hook.
type exchange struct {
	rec   *Request
	fault Fault
}

// serve handles one request: it records it, applies the delay, and then
// does what the fault says.
func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	rec, delay, fault, ok := p.admit(r)
	if !ok {
		hijackClose(w)
		return
	}
	defer p.finish(rec)
	body := &countingBody{ReadCloser: r.Body}
	r.Body = body
	defer func() { p.setReceived(rec, body.n.Load()) }()
	sw := &statusWriter{ResponseWriter: w, record: func(status int) { p.setStatus(rec, status) }}
	ex := &exchange{rec: rec, fault: fault}

	if fault.Kind == FaultStallRequest {
		delay += fault.Delay
	}
	if !p.wait(r.Context(), delay) {
		if r.Context().Err() == nil {
			// The proxy is closing under a client that still waits.
			hijackClose(sw)
		}
		return
	}
	if delay > 0 {
		// rec.Time is written once, by admit in this goroutine.
		p.setHeld(rec, time.Since(rec.Time))
	}
	switch fault.Kind {
	case FaultReply:
		writeFault(sw, fault.Status)
	case FaultDropRequest:
		hijackClose(sw)
	default:
		p.forward.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), exchangeKey{}, ex)))
	}
}

// modifyResponse applies response faults to the registry's response before
// the reverse proxy relays it.
func (p *Proxy) modifyResponse(resp *http.Response) error {
	ex, _ := resp.Request.Context().Value(exchangeKey{}).(*exchange)
	if ex == nil {
		return nil
	}
	p.setUpstream(ex.rec, resp.StatusCode)
	switch ex.fault.Kind {
	case FaultDropResponse:
		// Read the whole response so the registry has finished with the
		// request before the client's connection is cut.
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return errors.Join(errDropResponse, fmt.Errorf("read response to drop: %w", err))
		}
		return errDropResponse
	case FaultStripHeader:
		resp.Header.Del(ex.fault.Header)
	case FaultDelayResponse:
		ctx := resp.Request.Context()
		if !p.wait(ctx, ex.fault.Delay) {
			if err := ctx.Err(); err != nil {
				return err
			}
			return errProxyClosing
		}
	}
	return nil
}

// forwardError handles a request that could not be forwarded or whose
// response is not to be relayed.
func (p *Proxy) forwardError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, errDropResponse):
		hijackClose(w)
	case r.Context().Err() != nil:
		// The client has gone; nobody is left to answer.
	case errors.Is(err, errProxyClosing):
		hijackClose(w)
	default:
		writeError(w, http.StatusBadGateway, "UNKNOWN", fmt.Sprintf("registrytest proxy cannot reach the registry: %v", err))
	}
}

// wait sleeps for d and reports true, or reports false as soon as ctx ends
// or the proxy closes.
func (p *Proxy) wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	case <-p.done:
		return false
	}
}

// hijackClose closes the client's connection without writing anything.
func hijackClose(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// The connection cannot be taken over; abort the response instead,
		// which the server also answers by closing the connection.
		panic(http.ErrAbortHandler)
	}
	conn.Close()
}

// writeFault answers with status, or 500 when status is not a valid code,
// and a registry-style error body.
func writeFault(w http.ResponseWriter, status int) {
	if status < 100 || status > 999 {
		status = http.StatusInternalServerError
	}
	code := "UNKNOWN"
	switch status {
	case http.StatusTooManyRequests:
		code = "TOOMANYREQUESTS"
	case http.StatusUnauthorized:
		code = "UNAUTHORIZED"
	case http.StatusForbidden:
		code = "DENIED"
	}
	writeError(w, status, code, fmt.Sprintf("fault injected by registrytest proxy: %d %s", status, http.StatusText(status)))
}

// writeError answers with status and a body in the registry API's error
// format.
func writeError(w http.ResponseWriter, status int, code, message string) {
	type apiError struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	body, err := json.Marshal(struct {
		Errors []apiError `json:"errors"`
	}{Errors: []apiError{{Code: code, Message: message}}})
	if err != nil {
		http.Error(w, message, status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// A failed write means the client has gone; nobody is left to tell.
	w.Write(body)
}

// statusWriter records the final status code written through it before
// the client can see it.
type statusWriter struct {
	http.ResponseWriter
	record  func(status int)
	written bool
}

// WriteHeader records a final status code and passes it on.
func (w *statusWriter) WriteHeader(code int) {
	if code >= 200 && !w.written {
		w.written = true
		w.record(code)
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write records the implied 200 status of a body written without a header.
func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.written {
		w.written = true
		w.record(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap gives http.ResponseController access to the underlying writer, for
// flushing and hijacking.
func (w *statusWriter) Unwrap() http.ResponseWriter {
	return w.ResponseWriter
}

// countingBody counts the bytes of a request body read through it.
type countingBody struct {
	io.ReadCloser
	n atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}
