package sigstoretest

import (
	"encoding/json"
	"strings"
)

// Predicate types.
const (
	// SLSAProvenanceV1 is the predicate type of SLSA v1 build provenance.
	SLSAProvenanceV1 = "https://slsa.dev/provenance/v1"
	// CosignSignV1 is the predicate type cosign's new bundle format uses
	// for a plain image signature.
	CosignSignV1 = "https://sigstore.dev/cosign/sign/v1"
)

// Statement returns an in-toto v1 statement about the image name at digest
// ("sha256:<hex>").
func Statement(name, digest, predicateType string, predicate any) ([]byte, error) {
	if predicate == nil {
		predicate = map[string]any{}
	}
	return json.Marshal(map[string]any{
		"_type": "https://in-toto.io/Statement/v1",
		"subject": []map[string]any{{
			"name":   name,
			"digest": map[string]string{"sha256": strings.TrimPrefix(digest, "sha256:")},
		}},
		"predicateType": predicateType,
		"predicate":     predicate,
	})
}

// Provenance returns an SLSA v1 provenance predicate as GitHub's
// attest-build-provenance writes it for a workflow run with claims c,
// naming commit as the source built.
func Provenance(c Claims, commit string) map[string]any {
	repository := strings.TrimPrefix(c.Repository, "https://github.com/")
	workflow := c.Identity[strings.Index(c.Identity, repository)+len(repository)+1:]
	workflow = workflow[:strings.Index(workflow, "@")]
	return map[string]any{
		"buildDefinition": map[string]any{
			"buildType": "https://actions.github.io/buildtypes/workflow/v1",
			"externalParameters": map[string]any{
				"workflow": map[string]any{"ref": c.Ref, "repository": c.Repository, "path": workflow},
			},
			"internalParameters": map[string]any{
				"github": map[string]any{"event_name": "push", "runner_environment": "github-hosted"},
			},
			"resolvedDependencies": []map[string]any{{
				"uri":    "git+" + c.Repository + "@" + c.Ref,
				"digest": map[string]string{"gitCommit": commit},
			}},
		},
		"runDetails": map[string]any{
			"builder":  map[string]any{"id": "https://github.com/actions/runner/github-hosted"},
			"metadata": map[string]any{"invocationId": c.Repository + "/actions/runs/1/attempts/1"},
		},
	}
}
