package workflows

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// fakeAWS is a stand-in for the AWS CLI's two ECR commands the image
// job's "Look for the image" step runs, over a registry laid out in a
// folder (tags/<tag> holds a manifest, blobs/<digest> a blob), answering
// as the CLI documents: batch-get-image of a missing tag succeeds with
// the image among "failures" and none in "images", so the step's
// --query 'images[0].imageManifest' --output text prints None (text
// output renders null as None); get-download-url-for-layer prints a URL
// of the blob (here file://, which the real curl the step runs reads).
// DENY makes every call fail as an AccessDenied does: exit 254.
const fakeAWS = `#!/bin/bash
set -eu
[ -z "${DENY:-}" ] || { echo "An error occurred (AccessDeniedException)" >&2; exit 254; }
op="$2"; shift 2
tag= digest=
while [ $# -gt 0 ]; do
  case "$1" in
    --image-ids) tag="${2#imageTag=}"; shift 2 ;;
    --layer-digest) digest="$2"; shift 2 ;;
    *) shift ;;
  esac
done
case "$op" in
  batch-get-image) if [ -f "$REGISTRY/tags/$tag" ]; then cat "$REGISTRY/tags/$tag"; echo; else echo None; fi ;;
  get-download-url-for-layer) echo "file://$REGISTRY/blobs/$digest" ;;
  *) echo "fake aws: unexpected $op" >&2; exit 2 ;;
esac
`

// imageStep is the script of cd.yml's "Look for the image" step.
func imageStep(t *testing.T) string {
	t.Helper()
	var w struct {
		Jobs map[string]struct {
			Steps []struct {
				ID  string `yaml:"id"`
				Run string `yaml:"run"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal(renderedByName(t, paramSets[0].p)["cd.yml"], &w); err != nil {
		t.Fatal(err)
	}
	for _, s := range w.Jobs["image"].Steps {
		if s.ID == "image" {
			return s.Run
		}
	}
	t.Fatal("cd.yml's image job has no step with id image")
	return ""
}

// push stores an image in the folder registry: a config blob with the
// revision label (none for ""), and a manifest naming it under tag.
func push(t *testing.T, registry, tag, revision string) {
	t.Helper()
	cfg := map[string]interface{}{"architecture": "amd64", "os": "linux", "config": map[string]interface{}{}}
	if revision != "" {
		cfg["config"] = map[string]interface{}{"Labels": map[string]string{"org.opencontainers.image.revision": revision}}
	}
	blob, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(blob)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	manifest, err := json.Marshal(map[string]interface{}{
		"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
		"config": map[string]interface{}{"mediaType": "application/vnd.docker.container.image.v1+json", "digest": digest, "size": len(blob)},
	})
	if err != nil {
		t.Fatal(err)
	}
	for path, content := range map[string][]byte{"blobs/" + digest: blob, "tags/" + tag: manifest} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(registry, path)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(registry, path), content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// An existing tag is trusted only when its image was built from this
// commit: an older build tagged with the new SHA, or an image without the
// label, fails the job instead of skipping the build; a missing tag
// builds; an unreadable registry fails.
func TestImageStepTrustsOnlyABuildOfThisCommit(t *testing.T) {
	for _, tool := range []string{"bash", "jq", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found (%v): the runner's image has it and the step uses it", tool, err)
		}
	}
	script := imageStep(t)
	sha, older := strings.Repeat("a", 40), strings.Repeat("b", 40)
	for _, tc := range []struct {
		name     string
		setup    func(t *testing.T, registry string)
		deny     bool
		wantCode int
		output   string // what the step writes to $GITHUB_OUTPUT
		stdout   string
	}{
		{"not pushed yet", func(*testing.T, string) {}, false, 0, "exists=false\n", ""},
		{"a build of this commit", func(t *testing.T, r string) { push(t, r, sha, sha) }, false, 0, "exists=true\n", "built from this commit: not rebuilding it"},
		{"an older build tagged with this SHA", func(t *testing.T, r string) { push(t, r, sha, older) }, false, 1, "", "::error title=Image not built from this commit::"},
		{"an image without the label", func(t *testing.T, r string) { push(t, r, sha, "") }, false, 1, "", "::error title=Image not built from this commit::"},
		{"registry unreadable", func(*testing.T, string) {}, true, 254, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, registry := t.TempDir(), t.TempDir()
			tc.setup(t, registry)
			bin := filepath.Join(dir, "bin")
			if err := os.MkdirAll(bin, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(bin, "aws"), []byte(fakeAWS), 0o755); err != nil {
				t.Fatal(err)
			}
			step := filepath.Join(dir, "step.sh")
			if err := os.WriteFile(step, []byte(script), 0o644); err != nil {
				t.Fatal(err)
			}
			output := filepath.Join(dir, "output")
			cmd := exec.Command(runnerShell[0], append(runnerShell[1:], step)...)
			cmd.Env = []string{"PATH=" + bin + ":" + os.Getenv("PATH"), "HOME=" + dir, "REGISTRY=" + registry,
				"GITHUB_SHA=" + sha, "GITHUB_OUTPUT=" + output, "ECR_REPOSITORY=123456789012.dkr.ecr.us-east-1.amazonaws.com/api-service"}
			if tc.deny {
				cmd.Env = append(cmd.Env, "DENY=1")
			}
			out, err := cmd.Output()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(output)
			if code != tc.wantCode || string(got) != tc.output || !strings.Contains(string(out), tc.stdout) {
				t.Errorf("exit %d, $GITHUB_OUTPUT %q, stdout %q; want exit %d, %q, stdout containing %q", code, got, out, tc.wantCode, tc.output, tc.stdout)
			}
		})
	}
}
