package workflows

import (
	"fmt"
	"slices"
	"testing"

	"gopkg.in/yaml.v3"
)

// Minutes per job of CD, for the merge-to-healthy critical path. No CD run
// is recorded here: the job figures are the estimates; the tool
// build is measured.
const (
	// The test job: cargo fmt, clippy and test against DynamoDB Local and
	// ElasticMQ, and a release build (the estimate).
	testMinutes = 8.0
	// docker build and push of the API image with no layer cache, and with
	// the registry layer cache warm (the estimates).
	imageColdMinutes   = 6.0
	imageCachedMinutes = 2.0
	// The deploy job with the tool built from a restored build cache, as
	// before: setup, up and the rollout to healthy (the estimate).
	deployMinutes = 5.0
	// go build -trimpath ./cmd/deploy with an empty GOCACHE and GOMODCACHE
	// (modules from proxy.golang.org), measured on this 2-CPU machine:
	// 346 s (264 s with the module cache warm). The tool is built with no
	// cache, once per run, by the tool job.
	toolBuildMinutes = 5.8
	// Uploading the tool (a single binary) to the run's artifacts, and
	// fetching and checking it in a job that assumes a role: an estimate,
	// not measured (no GitHub here).
	toolUploadMinutes, toolFetchMinutes = 0.5, 0.5
)

// The CD job graph before the image job ran beside the tests: image
// needed test, deploy needed image.
var needsBefore = map[string][]string{"test": nil, "image": {"test"}, "deploy": {"image"}}

// criticalPath is the time from the run's start until every job is done:
// each job starts when the last job it needs finishes.
func criticalPath(needs map[string][]string, minutes map[string]float64) (float64, error) {
	done := map[string]float64{}
	var finish func(job string, path []string) (float64, error)
	finish = func(job string, path []string) (float64, error) {
		if f, ok := done[job]; ok {
			return f, nil
		}
		if slices.Contains(path, job) {
			return 0, fmt.Errorf("needs cycle %v", append(path, job))
		}
		d, ok := minutes[job]
		if !ok {
			return 0, fmt.Errorf("no duration for job %s", job)
		}
		start := 0.0
		for _, n := range needs[job] {
			if _, ok := needs[n]; !ok {
				return 0, fmt.Errorf("job %s needs %s, which is no job", job, n)
			}
			f, err := finish(n, append(path, job))
			if err != nil {
				return 0, err
			}
			start = max(start, f)
		}
		done[job] = start + d
		return done[job], nil
	}
	total := 0.0
	for job := range needs {
		f, err := finish(job, nil)
		if err != nil {
			return 0, err
		}
		total = max(total, f)
	}
	return total, nil
}

// renderedNeeds is the job graph of a rendered workflow: needs: takes a
// job name or a list of them.
func renderedNeeds(t *testing.T, content []byte) map[string][]string {
	t.Helper()
	var w struct {
		Jobs map[string]struct {
			Needs yaml.Node `yaml:"needs"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal(content, &w); err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for id, j := range w.Jobs {
		out[id] = nil
		switch j.Needs.Kind {
		case yaml.ScalarNode:
			out[id] = []string{j.Needs.Value}
		case yaml.SequenceNode:
			for _, n := range j.Needs.Content {
				out[id] = append(out[id], n.Value)
			}
		}
	}
	return out
}

func TestCriticalPathMergeToHealthy(t *testing.T) {
	before, err := criticalPath(needsBefore, map[string]float64{"test": testMinutes, "image": imageColdMinutes, "deploy": deployMinutes})
	if err != nil {
		t.Fatal(err)
	}
	for _, set := range paramSets {
		all := renderedNeeds(t, renderedByName(t, set.p)["cd.yml"])
		// The path to healthy in environment n (from 1): the graph
		// without the deploy jobs after it; each deploy job costs the
		// same. With toolJob false, the same graph with the tool built in
		// every job that assumes a role instead (no tool job): what the
		// tool job saves.
		path := func(image float64, n int, toolJob bool) float64 {
			setup := toolFetchMinutes
			needs, durations := map[string][]string{}, map[string]float64{"test": testMinutes, "tool": toolBuildMinutes + toolUploadMinutes}
			for id, need := range all {
				needs[id] = need
			}
			if !toolJob {
				setup = toolBuildMinutes
				delete(needs, "tool")
				for id, need := range needs {
					needs[id] = slices.DeleteFunc(slices.Clone(need), func(s string) bool { return s == "tool" })
				}
			}
			durations["image"] = setup + image
			for i, e := range set.p.Environments {
				if i < n {
					durations[JobID(e.Stack)] = setup + deployMinutes
				} else {
					delete(needs, JobID(e.Stack))
				}
			}
			m, err := criticalPath(needs, durations)
			if err != nil {
				t.Fatalf("%s: cd.yml (tool job %v): %v", set.name, toolJob, err)
			}
			return m
		}
		after := func(image float64, n int) float64 { return path(image, n, true) }
		perJob := func(image float64, n int) float64 { return path(image, n, false) }
		last := len(set.p.Environments)
		t.Logf("%s: with the tool built in each job instead: %.1f min warm, %.1f cold to %s; %.1f and %.1f to %s", set.name,
			perJob(imageCachedMinutes, 1), perJob(imageColdMinutes, 1), set.p.Environments[0].GitHubEnvironment,
			perJob(imageCachedMinutes, last), perJob(imageColdMinutes, last), set.p.Environments[last-1].GitHubEnvironment)
		if got, without := after(imageColdMinutes, last), perJob(imageColdMinutes, last); got >= without {
			t.Errorf("%s: %.1f min to %s with the tool job, not less than the %.1f min with the tool built in each job", set.name, got, set.p.Environments[last-1].GitHubEnvironment, without)
		}
		cached, cold := after(imageCachedMinutes, 1), after(imageColdMinutes, 1)
		t.Logf("%s: merge to healthy in %s: before %.1f min; after %.1f min with the layer cache warm, %.1f min cold", set.name, set.p.Environments[0].GitHubEnvironment, before, cached, cold)
		for n := 2; n <= len(set.p.Environments); n++ {
			t.Logf("%s: merge to healthy in %s (promoted): %.1f min warm, %.1f min cold", set.name, set.p.Environments[n-1].GitHubEnvironment, after(imageCachedMinutes, n), after(imageColdMinutes, n))
		}
		if cached >= before {
			t.Errorf("%s: merge to healthy in the first environment takes %.1f min with the layer cache warm, not less than the %.1f min before: does the image job wait for the tests again? needs %v", set.name, cached, before, all)
		}
		needs := all
		if !slices.Equal(needs["image"], []string{"tool"}) || len(needs["tool"]) != 0 {
			t.Errorf("%s: the image job needs %v and the tool job %v: want [tool] and none, both beside the tests", set.name, needs["image"], needs["tool"])
		}
		// With the tool built once, even a cold layer cache beats before.
		if cold := after(imageColdMinutes, 1); cold >= before {
			t.Errorf("%s: first environment healthy after %.1f min with a cold layer cache, not less than the %.1f min before: is the tool built in every job again?", set.name, cold, before)
		}
	}
}

func TestCriticalPathRefusesBadGraphs(t *testing.T) {
	one := map[string]float64{"a": 1, "b": 1}
	for name, needs := range map[string]map[string][]string{
		"cycle":        {"a": {"b"}, "b": {"a"}},
		"missing need": {"a": {"c"}, "b": nil},
		"no duration":  {"a": nil, "b": nil, "x": nil},
	} {
		if m, err := criticalPath(needs, one); err == nil {
			t.Errorf("%s: criticalPath = %v, want an error", name, m)
		}
	}
	if m, err := criticalPath(map[string][]string{"a": nil, "b": {"a"}}, map[string]float64{"a": 2, "b": 3}); err != nil || m != 5 {
		t.Errorf("criticalPath(a then b) = %v, %v; want 5", m, err)
	}
}
