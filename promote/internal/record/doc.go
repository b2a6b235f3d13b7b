// Package record keeps promotion records: an immutable note in the registry,
// next to the images, for every tag move that promote makes.
//
// # Format
//
// A record is an OCI artifact in the repository of the tag it concerns: an
// OCI image manifest with
//
//   - artifactType [ArtifactType];
//   - the OCI empty descriptor ("{}", application/vnd.oci.empty.v1+json) as
//     its config, and as its one layer, as the image-spec's guidelines for
//     artifacts without content advise for portability;
//   - subject: the digest the record concerns (see [Record.Subject]);
//   - the data in annotations, as follows.
//
// The annotations:
//
//	io.github.molecule-ai.promote.action             promote | rollback | rolled-back
//	io.github.molecule-ai.promote.tag                repository path and tag, "org/app:latest"
//	io.github.molecule-ai.promote.digest             the digest the tag moved to
//	io.github.molecule-ai.promote.previous-digest    the digest it moved from; absent when the move created the tag
//	io.github.molecule-ai.promote.sha                the commit, when known
//	io.github.molecule-ai.promote.actor              who
//	io.github.molecule-ai.promote.run                the run's URL, when known
//	io.github.molecule-ai.promote.version            the promote version that wrote it
//	io.github.molecule-ai.promote.allow-rolled-back  true | false
//	org.opencontainers.image.created                 when, RFC 3339 in UTC
//
// The data lives in annotations, not in a JSON blob, because a referrers
// listing carries each referrer's annotations: the referrers API copies them
// from the manifest, and so does go-containerregistry into the fallback tag
// index. One listing per digest therefore gives every record of that digest,
// with no request per record; a blob would cost two more dependent requests
// (the manifest, then the blob) for each record read. Every field is a short
// string, so annotations hold it all.
//
// The repository path in the tag leaves the registry host out, so that a
// record reads the same through any name of the registry (an alias, a proxy,
// an endpoint override). Nothing secret is recorded, and nothing of the
// machine that wrote it: a run URL with user information, a query or a
// fragment is refused.
//
// # Subjects
//
// A promote or rollback record has the digest the tag moved to as its
// subject. A rollback also leaves a rolled-back mark on the digest it moved
// away from: the same move, with the from digest as the subject. So the
// records of one digest tell both how it came to a tag (to walk history back
// through previous digests) and whether it was rolled back (see
// [RolledBack]).
//
// # Writing
//
// A run writes its records as a [Batch], to repositories made with
// [Connect], around its own writes and read-back of the tags it moved: no
// record is listed before the run confirmed its moves, each record is read
// back in its subject's listing and written again where another writer of
// the fallback index dropped it, and all of them cost two dependent round
// trips after that read-back (see [Batch] for the order of reads and
// writes, and what a concurrent writer can make a record lose).
//
// # Reading back
//
// Everything read from a registry is untrusted: a listing with more than
// [MaxReferrers] entries, or more than [MaxRecords] records, is refused; each
// record's annotations are bounded in count, size and format, and a record
// that fails is reported as rejected, never used. Text fields are printable
// Unicode, but still need escaping before they reach Markdown or a terminal.
//
// Some registries report a referrer's config media type as its artifactType
// (go-containerregistry's own in-process registry does). A listing entry
// with the empty config's media type that carries a record's action
// annotation is read as a record too; its annotations are validated all the
// same.
package record
