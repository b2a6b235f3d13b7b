// Command bench measures how long promoting N images from staging-<sha> to
// latest takes with promote, and with the tools it replaces.
//
// It starts the CNCF distribution registry (Debian's docker-registry) on a
// loopback port and a proxy in front of it that adds a fixed delay to every
// request and records every request. It seeds N repositories with a
// staging-<sha> image each (the image's org.opencontainers.image.revision
// label is the 40-character sha), plus the images that latest and
// latest-previous point at before a promotion, and then promotes them with:
//
//   - core: the promote package, called in this process;
//   - cli: the promote CLI, one process (promote promote --sha SHA --image
//     REPO ... --json);
//   - cli-signed: the same with a keyless signature policy that requires
//     provenance (--certificate-identity, --certificate-oidc-issuer,
//     --trusted-root, --require-provenance); then the staging images carry
//     the build provenance a throwaway, offline Sigstore signed, as an OCI
//     referrer;
//   - crane: one "crane manifest" per image, then one "crane tag" per image,
//     one process after another, as the old workflow did;
//   - skopeo: one "skopeo copy" per image;
//   - regctl: one "regctl image copy" per image.
//
// Before every run latest and latest-previous are put back where they were,
// directly on the registry, so every run moves every tag. Each repetition
// runs each tool twice, back to back: through the delaying proxy and
// through the same proxy with no delay, in alternating order; tools take
// turns in a rotating order. Each run is checked: afterwards every latest
// must point at its staging image. core, cli and cli-signed, whose runs
// take under a second, make more repetitions (-promote-reps) than the other
// tools (-reps).
//
// For each tool and N it prints a Markdown table to standard output:
// requests made, median wall time with and without the delay, the delay as
// the proxy applied it, sequential round trips, peak memory, and how many
// times shorter than crane's its median wall time is. Progress goes to
// standard error.
//
// Sequential round trips are counted differentially, one pair of runs at a
// time: (wall through the delaying proxy - wall through the proxy with no
// delay) / the delay as held. The CPU time that the registry, the proxy
// and the tools spend is in both runs of a pair and cancels out, and so
// does a change in the machine's load between pairs. The delay as held is
// the mean time the proxy held each request of the run: on a busy machine
// its timers fire late, and a round trip then costs more than the nominal
// delay. The median over the pairs is reported, with a distribution-free
// 95% confidence interval. bench/README.md explains the estimate and its
// limits.
//
// Peak memory is the largest peak resident set size of any process a tool
// ran. Each process is started through the small rusage command
// (./bench/rusage), which reports the wall time and the getrusage peak of
// its child: a child started straight from this process would count this
// process's own memory as well, since at exec the kernel keeps the
// high-water mark of the address space the child replaces. The core runs
// inside this process, which also holds the proxy and the measurements, so
// its peak memory is reported as n/a; the cli row measures the same code in
// a process of its own.
//
// After the table it checks the targets, regression guards at what the
// design reaches on a 2-core machine, one PASS or FAIL line each, for both
// core and cli:
//
//   - at most 7 sequential round trips at N=2 and N=20, five for the
//     moves and two for their promotion records (other N are reported
//     only): round trips come whole, so the target passes when the
//     confidence interval lies below 8;
//   - a median wall at least 2 times shorter than crane's at N=2, and at
//     least 7 times shorter at N=20, promote writing the -previous backups
//     that crane does not;
//   - the cli's peak memory at most 40 MiB at N=50.
//
// Then it prints the short table of the project README (the cli against
// crane at each N), what the signature checks add (cli-signed against
// cli), the requests by kind, and the waves of promote's requests.
//
// It exits 0 when every target checked passes, 1 when one fails, and 2
// when the benchmark could not run. With -smoke it runs N=2 once, checks
// no target, and reports a missing crane, skopeo or regctl as skipped
// rather than failing; without -smoke a missing tool is an error.
//
// With -cross it runs the cross-registry case instead. Two distribution
// registries, each behind its own delaying proxy; the source holds N
// signed images (a linux/amd64 and linux/arm64 index of four random layers
// of -layer-mib MiB, 20 MiB by default, with a Sigstore bundle as an OCI
// referrer and a classic .sig tag). Every run copies them into destination
// repositories no run used before, so that every run uploads every blob:
// core and cli promote with --destination-prefix (copy, then move
// latest); crane copy, regctl image copy --referrers --digest-tags and
// skopeo copy --all --preserve-digests run once per image. It prints wall
// time, requests, bytes uploaded to the destination and peak RSS, and
// checks that promote's median wall at N=10 is at least 4 times lower than
// the fastest other tool's, and that the cli's peak RSS on images 4 times
// larger grows by at most 16 MiB.
//
// Usage (from the module root; scripts/bench.sh installs the tools first):
//
//	go run ./bench [-n 2,20,50] [-reps 5] [-promote-reps 15] [-delay 25ms] [-tools-dir DIR] [-smoke]
//	go run ./bench -cross [-cross-n 2,10] [-layer-mib 5] [-reps 5] [-smoke]
package main
