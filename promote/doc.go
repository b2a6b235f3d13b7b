// Package promote moves a commit's container images from their staging tag
// to their production tags together, or not at all.
//
// A [Promoter] is built from a [Config] (which repositories, which source tag
// template, which target tags, which platforms must be present) and options
// (credentials, transport, concurrency). Its methods are the operations:
//
//   - [Promoter.Verify] resolves every repo:staging-<sha> tag and checks it.
//   - [Promoter.Promote] verifies, pins the verified digests, and moves every
//     target tag to its pinned digest; if anything fails after a tag moved,
//     it puts back every tag that still holds what it wrote, and leaves alone
//     any tag that another run moved meanwhile. With
//     [WriteOptions.ForwardOnly] and a [History] (see [OpenGitHistory]), it
//     refuses to move a target tag to a commit that does not descend from
//     the one it holds.
//   - [Promoter.Rollback] promotes an older sha, or swaps every target tag
//     with its "-previous" backup.
//   - [Promoter.Status] reads what every target tag points at now.
//
// Every operation returns a [Report]. Input is validated before any request
// is made; errors wrap [ErrInvalidInput], [ErrVerification], [ErrNotPromoted],
// [ErrMixedState] or, for status, [ErrIncomplete] so callers can tell the
// outcomes apart. A failed verification is a [*VerificationError] naming
// each failing image, and [errors.As] reaches each cause: an [*AccessError]
// for a registry that cannot be used, a [*SignatureError] with its
// [SignatureErrorKind] for a signature that does not satisfy the policy.
//
// Tags are moved the way `crane tag` moves them: the manifest bytes that were
// verified are PUT to the target tag, so no layer is pulled and the source tag
// is never resolved a second time.
//
// With [Config.Destinations] or [Config.DestinationPrefixes], an image's
// tags move in another repository, on any registry. Promote then first
// copies each pinned digest there, with every child manifest, blob, OCI
// referrer and classic .sig/.att tag, and moves no tag unless every copy
// succeeded; the tag moves that follow keep the rules above.
package promote
