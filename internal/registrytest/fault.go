package registrytest

import (
	"fmt"
	"time"
)

// FaultKind says what a [Proxy] does with one request.
type FaultKind int

const (
	// FaultPass forwards the request and relays the registry's response.
	FaultPass FaultKind = iota
	// FaultReply answers with Fault.Status and a registry-style JSON error
	// body, without forwarding: the registry never sees the request.
	FaultReply
	// FaultDropRequest closes the client's connection without forwarding
	// and without answering: the registry never sees the request.
	FaultDropRequest
	// FaultDropResponse forwards the request, waits for the registry's
	// complete response, and then closes the client's connection without
	// relaying any of it: the registry has applied the request, but the
	// client never hears so.
	FaultDropResponse
	// FaultDelayResponse forwards the request and holds the registry's
	// response for Fault.Delay before relaying it. A client whose timeout is
	// shorter gives up first and never sees the response, although the
	// registry has applied the request.
	FaultDelayResponse
	// FaultStripHeader forwards the request and removes the header
	// Fault.Header from the registry's response, as registries that omit
	// it do.
	FaultStripHeader
	// FaultStallRequest holds the request for Fault.Delay before
	// forwarding it, as a registry that hangs does. A client that gives up
	// first is never forwarded: the registry never sees the request.
	FaultStallRequest
)

// String returns the kind's name, as used in test output.
func (k FaultKind) String() string {
	switch k {
	case FaultPass:
		return "pass"
	case FaultReply:
		return "reply"
	case FaultDropRequest:
		return "drop-request"
	case FaultDropResponse:
		return "drop-response"
	case FaultDelayResponse:
		return "delay-response"
	case FaultStripHeader:
		return "strip-header"
	case FaultStallRequest:
		return "stall-request"
	default:
		return fmt.Sprintf("FaultKind(%d)", int(k))
	}
}

// Fault is what a [Proxy] does with one request. The zero value passes the
// request through.
type Fault struct {
	// Kind selects the behaviour.
	Kind FaultKind
	// Status is the HTTP status code that FaultReply answers with; an
	// invalid code, such as zero, means 500.
	Status int
	// Delay is how long FaultDelayResponse holds the response, or
	// FaultStallRequest the request.
	Delay time.Duration
	// Header is the response header that FaultStripHeader removes.
	Header string
}

// String describes the fault, as used in test output.
func (f Fault) String() string {
	switch f.Kind {
	case FaultReply:
		return fmt.Sprintf("reply %d", f.Status)
	case FaultDelayResponse:
		return fmt.Sprintf("delay response %v", f.Delay)
	default:
		return f.Kind.String()
	}
}

// Pass returns the fault that forwards a request untouched.
func Pass() Fault { return Fault{} }

// Reply returns a fault that answers with the HTTP status code without
// forwarding, such as 500 or 429.
func Reply(status int) Fault { return Fault{Kind: FaultReply, Status: status} }

// DropRequest returns a fault that closes the connection before forwarding.
//
// Go's http.Transport resends a request without a body (GET, HEAD) by
// itself when its reused connection is closed this way; the proxy counts
// the resent request as a new one.
func DropRequest() Fault { return Fault{Kind: FaultDropRequest} }

// DropResponse returns a fault that forwards the request and then closes the
// connection instead of relaying the response: the registry has applied the
// request, but the client never hears so. As with [DropRequest], Go's
// http.Transport may resend a request without a body by itself.
func DropResponse() Fault { return Fault{Kind: FaultDropResponse} }

// DelayResponse returns a fault that forwards the request and holds the
// response for d, for example longer than the client's timeout.
func DelayResponse(d time.Duration) Fault { return Fault{Kind: FaultDelayResponse, Delay: d} }

// StallRequest returns a fault that holds the request for d before
// forwarding it.
func StallRequest(d time.Duration) Fault { return Fault{Kind: FaultStallRequest, Delay: d} }

// StripHeader returns a fault that relays the registry's response without
// the named header.
func StripHeader(name string) Fault { return Fault{Kind: FaultStripHeader, Header: name} }
