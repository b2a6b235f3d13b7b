// Package registrytest provides real registries and fault injection for
// tests and benchmarks.
//
// Three kinds of registry are on offer, all reached over plain HTTP on the
// loopback interface, so go-containerregistry talks to them without TLS:
//
//   - [Distribution] runs the CNCF distribution registry (the Debian
//     docker-registry package) as a child process, with filesystem storage
//     in a temporary directory and optional htpasswd basic auth.
//   - [InProcess] serves go-containerregistry's in-memory registry from an
//     httptest server, with the OCI referrers API.
//   - [NewProxy] puts a reverse proxy in front of either one. The proxy
//     records every request, can add a fixed delay to each of them, and can
//     inject faults: error replies, dropped connections, responses that are
//     lost after the registry has applied a write, and responses that arrive
//     too late.
//
// [PushImage], [PushIndex] and [Digest] seed a registry with tiny random
// images and read its state back, so tests can assert what a registry holds.
package registrytest
