// Package workflowcheck reads rendered workflow files for the tests: Check
// holds them to the hardening rules, and the OIDC helpers (Events,
// JobsAssumingRole, JobSubject) let the program's tests prove that what the
// files do matches what the IAM trust policies admit. Production code does
// not import it: the program and the deploy tool only render the files.
package workflowcheck

import (
	"bytes"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/slipway-dev/slipway/workflows"
)

func roleExpr(variable string) string { return "${{ vars." + variable + " }}" }

// roleJobs are, per file, the jobs that assume a role and the kind of
// role (its variable's base name): the program's trust policies are
// written for exactly these. CD has one deploy job per environment; the
// drift check one job per stack; the preview job assumes every stack's
// preview role, one after the other.
func roleJobs(p workflows.Params) map[string]map[string]string {
	cd := map[string]string{"image": workflows.ImageRoleVar}
	drift := map[string]string{}
	for _, e := range p.Environments {
		cd[workflows.JobID(e.Stack)] = workflows.DeployRoleVar
		drift[DriftJobID(e.Stack)] = workflows.PreviewRoleVar
	}
	return map[string]map[string]string{
		"cd.yml":       cd,
		"ci.yml":       {"preview": workflows.PreviewRoleVar},
		"drift.yml":    drift,
		"rollback.yml": {"rollback": workflows.DeployRoleVar},
	}
}

// DriftJobID is the drift check's job of stack, such as drift-staging.
func DriftJobID(stack string) string {
	return "drift-" + strings.TrimPrefix(workflows.JobID(stack), "deploy-")
}

// deployGroupFiles are the files whose jobs use the environments' deploy
// concurrency groups.
var deployGroupFiles = []string{"cd.yml", "rollback.yml"}

// gateFiles are the files whose jobs run the workflow-integrity gate
// before they assume a role.
var gateFiles = []string{"cd.yml", "rollback.yml"}

// RollbackEnvironment is the rollback job's environment: the one the
// dispatch chose.
const RollbackEnvironment = "${{ inputs.environment }}"

// deployGroups are the concurrency groups of everything that changes a
// stack: one per environment, and the rollback job's, of the chosen one.
func deployGroups(p workflows.Params) []string {
	groups := []string{workflows.DeployGroup(RollbackEnvironment)}
	for _, e := range p.Environments {
		groups = append(groups, workflows.DeployGroup(e.GitHubEnvironment))
	}
	return groups
}

// deployVerbs are the deploy tool verbs that deploy: each needs its
// --deadline.
var deployVerbs = []string{"promote", "rollback", "up"}

// readOnlyVerbs are the deploy tool verbs a preview-role job may run.
var readOnlyVerbs = []string{"drift", "metrics", "preview"}

// imageJobVerbs are the deploy tool verbs the image-role job may run: the
// workflow-integrity gate only.
var imageJobVerbs = []string{"workflows"}

var (
	// imageBuildActions build or push container images.
	imageBuildActions = []string{"docker/build-push-action", "docker/setup-buildx-action"}
	// dockerBuildRE finds an image build or push in a script.
	dockerBuildRE = regexp.MustCompile(`\bdocker[ \t]+(?:build|push|buildx|image[ \t]+(?:build|push))\b`)
)

// buildsImage reports whether a step builds or pushes a container image.
func buildsImage(s step) bool {
	return slices.Contains(imageBuildActions, action(s.Uses.Value)) || dockerBuildRE.MatchString(s.Run)
}

// deadlineRE finds the deploy tool's --deadline in minutes.
var deadlineRE = regexp.MustCompile(`--deadline[ =]([0-9]+)m\b`)

// commentingJob is the one job allowed pull-requests: write.
const commentingJob = "ci.yml/preview"

// forkGuard keeps a pull_request job that assumes a role off fork pull
// requests, which get no OIDC token.
const forkGuard = "github.event.pull_request.head.repo.full_name == github.repository"

var (
	pinnedUsesRE = regexp.MustCompile(`^([A-Za-z0-9-]+/[A-Za-z0-9._-]+)(/[^@]+)?@([0-9a-f]{40})$`)
	expressionRE = regexp.MustCompile(`\$\{\{(.*?)\}\}`)
	varRE        = regexp.MustCompile(`\bvars\.([A-Za-z_][A-Za-z0-9_]*)`)
	secretRE     = regexp.MustCompile(`\bsecrets\.([A-Za-z_][A-Za-z0-9_]*)`)
	// githubReadTokenRE is the one value GITHUB_TOKEN may have where the
	// tool runs drift.
	githubReadTokenRE = regexp.MustCompile(`^\$\{\{\s*secrets\.` + workflows.GitHubReadTokenSecret + `\s*\}\}$`)
)

func containsExpression(s string) bool { return strings.Contains(s, "${{") }

// Check returns the problems of a rendered workflow file against the
// hardening rules (none means it passes): the header, pinned actions,
// least-privilege permissions, no privileged triggers, no expressions in
// scripts, the role each job assumes with the environment its OIDC subject
// needs, deploy serialization, credentials not persisted, timeouts, the
// deploy tool run as the built binary in ToolPath and exec'd, the timeout
// and AWS session of deploy-role jobs that run it, the read token of
// drift, the caches and build of jobs that can assume a role, the
// workflow-integrity gate before the credentials of cd.yml's and
// rollback.yml's, the image push, CD's order (the tests and the image,
// then each environment after the one before), the rollback's choice of
// environment, pinned service containers and Rust toolchain, cargo
// --locked, the known variables and secrets, and each job reading only
// the variables of its scope. path's base name
// ("cd.yml") selects the per-file expectations.
func Check(path string, content []byte, p workflows.Params) []string {
	c := &checker{file: pathBase(path), p: p}
	if !bytes.HasPrefix(content, []byte(workflows.HeaderPrefix)) {
		c.add("missing the header comment %q...: readers must learn the file is managed by slipway", workflows.HeaderPrefix)
	}
	w, err := parseWorkflow(content)
	if err != nil {
		return append(c.problems, err.Error())
	}
	c.workflowLevel(w)
	for _, id := range w.jobIDs() {
		c.job(w, id, w.Jobs[id])
	}
	if c.file == "cd.yml" {
		c.deployNeeds(w)
	}
	if c.file == "rollback.yml" {
		c.rollbackChoice(w)
	}
	if want, ok := roleJobs(p)[c.file]; ok {
		for _, id := range sortedKeys(want) {
			if _, ok := w.Jobs[id]; !ok {
				c.add("job %s is missing: it must assume %s", id, roleExpr(want[id]))
			}
		}
	}
	c.names(content)
	c.variableScopes(w)
	return c.problems
}

// variableScopes checks that each job reads only variables it can see: a
// job sees an environment's variables only when it runs in that
// environment, so the image job reads image-push's, a deploy job its
// environment's, and a job without environment the stacks' repository
// variables. A variable out of scope would read as empty.
func (c *checker) variableScopes(w *workflow) {
	deployEnvs := []string{RollbackEnvironment}
	for _, e := range c.p.Environments {
		deployEnvs = append(deployEnvs, e.GitHubEnvironment)
	}
	repository := workflows.RepositoryVariables(c.p)
	for _, id := range w.jobIDs() {
		text, err := yaml.Marshal(&w.Jobs[id].node)
		if err != nil {
			continue
		}
		env := w.Jobs[id].environment()
		visible, scope := repository, "the repository's (no environment)"
		switch {
		case env == workflows.ImageEnvironment:
			visible, scope = workflows.ImageVariables(), "environment "+env+"'s"
		case slices.Contains(deployEnvs, env):
			visible, scope = workflows.DeployVariables(), "environment "+env+"'s"
		case env != "":
			visible, scope = nil, "environment "+env+"'s (no stack's)"
		}
		for _, e := range expressionRE.FindAllSubmatch(text, -1) {
			for _, m := range varRE.FindAllSubmatch(e[1], -1) {
				if name := string(m[1]); !slices.Contains(visible, name) {
					c.add("job %s reads vars.%s, which is not among %s variables %v: there it reads as empty", id, name, scope, visible)
				}
			}
		}
	}
}

func pathBase(p string) string { return path.Base(strings.ReplaceAll(p, `\`, "/")) }

type checker struct {
	file     string
	p        workflows.Params
	problems []string
}

func (c *checker) add(format string, args ...any) {
	c.problems = append(c.problems, c.file+": "+fmt.Sprintf(format, args...))
}

func (c *checker) workflowLevel(w *workflow) {
	if w.Permissions.Kind != yaml.MappingNode || len(w.Permissions.Content) != 0 {
		c.add("top-level permissions: want {} (each job declares its own), got %s", describe(&w.Permissions))
	}
	for _, e := range w.events() {
		if e == "pull_request_target" || e == "workflow_run" {
			c.add("trigger %s is not allowed: it runs with the base repository's secrets and write token for changes from forks", e)
		}
	}
	c.concurrency("workflow", &w.Concurrency)
	if group, _ := concurrency(&w.Concurrency); group != "" && slices.Contains(deployGroupFiles, c.file) {
		c.add("workflow concurrency group %q: want none: each deploy job has its environment's group (%v), so one environment's queue does not hold up another's", group, deployGroups(c.p))
	}
}

// concurrency checks a workflow's or job's concurrency: only the deploy
// files use the deploy groups, never cancelling (a cancelled pulumi up
// leaves the stack locked). Other groups would displace queued deploys.
func (c *checker) concurrency(where string, n *yaml.Node) {
	group, cancel := concurrency(n)
	if !slices.Contains(deployGroups(c.p), group) {
		return
	}
	if !slices.Contains(deployGroupFiles, c.file) {
		c.add("%s concurrency: group %q belongs to %v only: a run queued here would displace a queued deploy", where, group, deployGroupFiles)
	}
	if cancel != "false" {
		c.add("%s concurrency: group %q needs cancel-in-progress: false, got %q", where, group, cancel)
	}
}

func (c *checker) job(w *workflow, id string, j *job) {
	where := "job " + id
	if j.Uses.Value != "" {
		c.add("%s: calls reusable workflow %s: not allowed (its OIDC subject and permissions are outside these checks)", where, j.Uses.Value)
	}
	if t, err := strconv.Atoi(j.TimeoutMinutes.Value); err != nil || t <= 0 {
		c.add("%s: timeout-minutes: want a positive number of minutes, got %s", where, describe(&j.TimeoutMinutes))
	}
	c.concurrency(where, &j.Concurrency)

	role, err := j.roleKind(c.p)
	if err != nil {
		c.add("%s: %v", where, err)
	}
	c.permissions(where, c.file+"/"+id, j, role != "")
	c.role(w, where, id, j, role)
	switch {
	case role != "":
		c.roleJobBuild(w, where, "can assume a role", j)
	case j.buildsTool():
		c.roleJobBuild(w, where, "builds the deploy tool the jobs that assume a role run", j)
		c.toolJob(where, j)
	}
	c.toolFetch(w, where, j)
	c.toolRefPin(w, where, j)
	if role != "" {
		if slices.Contains(gateFiles, c.file) {
			c.workflowGate(where, j)
		}
	}
	if role == roleExpr(workflows.DeployRoleVar) {
		c.deployGroup(where, j)
		if j.runsDeployVerb() {
			c.deploySession(where, j)
		}
	}
	c.services(where, j)
	for i, s := range j.Steps {
		stepWhere := fmt.Sprintf("%s, step %d (%s)", where, i+1, s.Name)
		c.step(stepWhere, s)
		c.imagePush(stepWhere, s)
		c.rust(stepWhere, s)
		c.toolStep(w, j, stepWhere, s)
		c.toolBuild(w, j, stepWhere, s)
	}
}

// toolBuildRE finds a go build of the deploy tool in a script.
var toolBuildRE = regexp.MustCompile(`\bgo[ \t]+build\b[^\n]*cmd/deploy`)

// toolBuild checks a step that builds the deploy tool: with GOWORK=off and
// -mod=readonly, so that only the tool's go.mod and go.sum decide what is
// built. The tool is checked out inside the application's workspace, and
// a go.work there (above the checkout) would otherwise apply and could
// replace any dependency with code of the application repository's.
func (c *checker) toolBuild(w *workflow, j *job, where string, s step) {
	if !toolBuildRE.MatchString(s.Run) {
		return
	}
	if v, _ := w.env(j, s, "GOWORK"); v != "off" {
		c.add("%s: builds the deploy tool, so it needs env GOWORK: \"off\" (a go.work in the application repository, above the tool's checkout, would decide its dependencies), got %q", where, v)
	}
	if v, _ := w.env(j, s, "GOFLAGS"); v != "-mod=readonly" {
		c.add("%s: builds the deploy tool, so it needs env GOFLAGS: -mod=readonly (go.sum must already hold every module), got %q", where, v)
	}
	if dir := w.workingDirectory(j, s); dir != path.Clean(c.p.ToolPath) {
		c.add("%s: builds the deploy tool in %q: want working-directory: %s (elsewhere ./cmd/deploy is another repository's code)", where, dir, c.p.ToolPath)
	}
	// Any other variable is a way around go.sum, the pinned toolchain or
	// the build itself (GOSUMDB=off, GONOSUMDB, GOINSECURE, a GOPROXY
	// serving other code, GOTOOLCHAIN fetching another go, a CC or
	// CGO_CFLAGS that cgo runs).
	for _, n := range []*yaml.Node{&s.Env, &j.Env, &w.Env} {
		for i := 0; n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
			if k := n.Content[i].Value; k != "GOWORK" && k != "GOFLAGS" && buildEnvRE.MatchString(k) {
				c.add("%s: builds the deploy tool with env %s: %q: of what go build reads, only GOWORK and GOFLAGS may be set (the module proxy, checksum database, toolchain, git and C compiler stay the runner's and Go's defaults)", where, k, n.Content[i+1].Value)
			}
		}
	}
}

var (
	// buildEnvRE matches the environment variables go build reads, or
	// what it runs does: Go's own, cgo's and the C toolchain's, git's (a
	// direct module fetch), pkg-config's, and where programs and
	// libraries are found.
	buildEnvRE = regexp.MustCompile(`^(?:GO.*|CGO_.*|GIT_.*|PKG_CONFIG.*|CC|CXX|AR|FC|PATH|HOME|LD_PRELOAD|LD_LIBRARY_PATH)$`)
	// goBuildRE finds a go build or go install in a script.
	goBuildRE = regexp.MustCompile(`\bgo[ \t]+(?:build|install)\b`)
	// goModVerifyRE finds go mod verify in a script.
	goModVerifyRE = regexp.MustCompile(`\bgo[ \t]+mod[ \t]+verify\b`)
)

// goModuleCachePaths are where Go keeps its module cache on the runner.
var goModuleCachePaths = []string{"~/go/pkg/mod", "/home/runner/go/pkg/mod"}

// onlyModuleCache reports whether an actions/cache path: input names the
// Go module cache and nothing else.
func onlyModuleCache(paths string) bool {
	n := 0
	for _, p := range strings.Split(paths, "\n") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if !slices.Contains(goModuleCachePaths, strings.TrimSuffix(p, "/")) {
			return false
		}
		n++
	}
	return n > 0
}

// roleJobBuild checks what a job that can assume a role builds from. Any
// job of any run can write an Actions cache that a run of the default
// branch reads, and Go trusts build-cache entries as they are: such a job
// restores no build cache (actions/setup-go with cache: false, no
// Swatinem/rust-cache, actions/cache of nothing but the Go module cache)
// and builds ./cmd/deploy only, with -trimpath. A restored module cache
// must pass go mod verify, in ToolPath with GOWORK off, before the build:
// it re-hashes the cache against the tool's go.sum.
func (c *checker) roleJobBuild(w *workflow, where, why string, j *job) {
	unverified := 0 // the step (from 1) that restored a module cache not verified since
	for i, s := range j.Steps {
		stepWhere := fmt.Sprintf("%s, step %d (%s)", where, i+1, s.Name)
		switch name := action(s.Uses.Value); {
		case name == "actions/setup-go":
			if v := s.With["cache"]; v.Value != "false" {
				c.add("%s: the job %s, so actions/setup-go needs cache: false (it would restore a build cache that any run can write and Go trusts as it is), got %s", stepWhere, why, describe(&v))
			}
			// The toolchain is the one the tool's go.mod names, nothing else.
			want := path.Join(c.p.ToolPath, "go.mod")
			for _, k := range sortedKeys(s.With) {
				if v := s.With[k]; (k != "cache" && k != "go-version-file") || (k == "go-version-file" && path.Clean(v.Value) != want) {
					c.add("%s: the job %s, so actions/setup-go takes go-version-file: %s and cache: false only, got %s: %s", stepWhere, why, want, k, describe(&v))
				}
			}
		case name == "Swatinem/rust-cache":
			c.add("%s: the job %s, so it restores no build cache: Swatinem/rust-cache restores build outputs that any run can write", stepWhere, why)
		case name == "actions/cache" || name == "actions/cache/restore":
			if v := s.With["path"]; !onlyModuleCache(v.Value) {
				c.add("%s: the job %s, so %s may restore the Go module cache only (path: %s), got path %s", stepWhere, why, name, goModuleCachePaths[0], describe(&v))
			} else if unverified == 0 {
				unverified = i + 1
			}
		case goModVerifyRE.MatchString(s.Run):
			if gowork, _ := w.env(j, s, "GOWORK"); gowork == "off" && w.workingDirectory(j, s) == path.Clean(c.p.ToolPath) {
				unverified = 0
			}
		case goBuildRE.MatchString(s.Run):
			if strings.TrimSpace(s.Run) != toolBuildCmd {
				c.add("%s: the job %s, so it builds the deploy tool only, with -trimpath: want run: %s, got %q", stepWhere, why, toolBuildCmd, strings.TrimSpace(s.Run))
			}
			if unverified > 0 {
				c.add("%s: builds from the module cache step %d restored, with no go mod verify (in %s, GOWORK \"off\") between them: the cache is not checked against go.sum", stepWhere, unverified, c.p.ToolPath)
			}
		}
	}
}

// workflowGate checks that a job of gateFiles runs the workflow-integrity
// gate (gateCmd) before its credentials step, always: no if:, no
// continue-on-error. An edited workflow file must fail before the role is
// assumed, not after.
func (c *checker) workflowGate(where string, j *job) {
	for i, s := range j.Steps {
		if action(s.Uses.Value) == awsCredentialsAction && s.If != "" {
			// always() or failure() would assume the role after the gate failed.
			c.add("%s, step %d (%s): the credentials step has if: %s: it must run only when every step before it, the gate's too, succeeded", where, i+1, s.Name, s.If)
		}
	}
	for i, s := range j.Steps {
		if action(s.Uses.Value) == awsCredentialsAction {
			break
		}
		if strings.TrimSpace(s.Run) != gateCmd(c.p) {
			continue
		}
		stepWhere := fmt.Sprintf("%s, step %d (%s)", where, i+1, s.Name)
		if s.If != "" {
			c.add("%s: the workflow-integrity gate has if: %s: it must always run", stepWhere, s.If)
		}
		if s.ContinueOnError.Kind != 0 && s.ContinueOnError.Value != "false" {
			c.add("%s: the workflow-integrity gate has continue-on-error: %s: its failure must stop the job", stepWhere, describe(&s.ContinueOnError))
		}
		return
	}
	c.add("%s: assumes a role without the workflow-integrity gate first: want a step with run: %s before the %s step (an edited workflow file must not get the role)", where, gateCmd(c.p), awsCredentialsAction)
}

// toolStep checks a step that runs the deploy tool: as the binary the tool
// setup built, exec'd as the script's last command, in ToolPath, and, for
// drift, with the read token.
func (c *checker) toolStep(w *workflow, j *job, where string, s step) {
	calls := toolCalls(s.Run)
	if len(calls) == 0 {
		return
	}
	if dir, want := w.workingDirectory(j, s), path.Clean(c.p.ToolPath); dir != want {
		c.add("%s: runs the deploy tool in %q: want working-directory: %s (the tool finds Pulumi.yaml in its working directory)", where, dir, c.p.ToolPath)
	}
	if len(calls) > 1 {
		c.add("%s: runs the deploy tool %d times: one call a step, exec'd as its last command", where, len(calls))
	}
	if !execsToolLast(s.Run) {
		c.add("%s: runs the deploy tool without exec as the script's last command: want exec \"%s\" ... last (on a cancel the runner signals only the step's shell, SIGINT then SIGTERM; a tool the shell started gets no signal and is left running)", where, toolBinary)
	}
	drift := false
	for _, call := range calls {
		if call.goRun {
			c.add("%s: runs the deploy tool with go run: build it once in the tool setup (%s) and run %q: go run compiles inside the step and stands between the runner's cancel signal and the tool", where, toolBuildCmd, toolBinary)
		}
		drift = drift || call.verb == "drift"
	}
	if !drift {
		return
	}
	if token, _ := w.env(j, s, "GITHUB_TOKEN"); !githubReadTokenRE.MatchString(token) {
		c.add("%s: runs drift, so it needs env GITHUB_TOKEN: ${{ secrets.%s }} (a fine-grained read-only token: the refresh reads the stack's GitHub resources, and github.token cannot read Actions variables), got %q", where, workflows.GitHubReadTokenSecret, token)
	}
}

// deploySession checks a job that runs the deploy tool with the deploy
// role: its timeout covers a deploy's worst case, and its AWS session, set
// to workflows.DeploySessionSeconds, outlasts the job.
func (c *checker) deploySession(where string, j *job) {
	// Every up or rollback passes the tool its deadline, and the job's
	// timeout covers it plus the setup: the runner must never kill the tool
	// before its own deadline.
	deadline := 0
	for i, s := range j.Steps {
		for _, call := range toolCalls(s.Run) {
			if !slices.Contains(deployVerbs, call.verb) {
				continue
			}
			m := deadlineRE.FindStringSubmatch(s.Run)
			if m == nil {
				c.add("%s, step %d (%s): runs deploy %s without --deadline %dm: the tool must know how long it may run", where, i+1, s.Name, call.verb, workflows.ToolDeadlineMinutes)
				continue
			}
			n, _ := strconv.Atoi(m[1])
			deadline = max(deadline, n)
		}
	}
	if t, err := strconv.Atoi(j.TimeoutMinutes.Value); err == nil {
		if need := deadline + workflows.ToolSetupMinutes; t < need {
			c.add("%s: runs the deploy tool with the deploy role and --deadline %dm, so it needs timeout-minutes of at least %d (the deadline plus %d minutes of setup), got %d", where, deadline, need, workflows.ToolSetupMinutes, t)
		}
		if t*60 > workflows.DeploySessionSeconds {
			c.add("%s: timeout-minutes %d outlasts the AWS session of %d seconds: the credentials would expire before the job times out", where, t, workflows.DeploySessionSeconds)
		}
	}
	for i, s := range j.Steps {
		if action(s.Uses.Value) != awsCredentialsAction {
			continue
		}
		d, ok := s.With["role-duration-seconds"]
		if !ok || d.Value != strconv.Itoa(workflows.DeploySessionSeconds) {
			got := "nothing (the action's default, one hour)"
			if ok {
				got = describe(&d)
			}
			c.add("%s, step %d (%s): runs the deploy tool with the deploy role, so it needs role-duration-seconds: %d (a deploy can outlast one hour; the role's MaxSessionDuration allows it), got %s", where, i+1, s.Name, workflows.DeploySessionSeconds, got)
		}
	}
}

// permissions: contents: read; id-token: write exactly when the job
// assumes a role; pull-requests: write only for the commenting job.
func (c *checker) permissions(where, qualified string, j *job, assumesRole bool) {
	if j.Permissions.Kind != yaml.MappingNode {
		c.add("%s: permissions: want a mapping of the scopes it needs, got %s", where, describe(&j.Permissions))
		return
	}
	got := map[string]string{}
	for i := 0; i+1 < len(j.Permissions.Content); i += 2 {
		got[j.Permissions.Content[i].Value] = j.Permissions.Content[i+1].Value
	}
	if got["contents"] != "read" {
		c.add("%s: permissions: want contents: read, got %q", where, got["contents"])
	}
	if assumesRole && got["id-token"] != "write" {
		c.add("%s: permissions: assumes an AWS role, so it needs id-token: write", where)
	}
	for _, scope := range sortedKeys(got) {
		level := got[scope]
		switch {
		case scope == "contents":
		case scope == "id-token" && level == "write":
			if !assumesRole {
				c.add("%s: permissions: id-token: write without a %s step: only jobs that assume an AWS role may mint OIDC tokens", where, awsCredentialsAction)
			}
		case scope == "pull-requests" && level == "write" && qualified == commentingJob:
		default:
			c.add("%s: permissions: %s: %s is not needed", where, scope, level)
		}
	}
}

// role checks which role the job assumes against the file's expectations,
// and that its OIDC subject can match that role's trust.
func (c *checker) role(w *workflow, where, id string, j *job, role string) {
	env := j.environment()
	if want, ok := roleJobs(c.p)[c.file]; ok {
		switch wantVar, expected := want[id]; {
		case expected && role != roleExpr(wantVar):
			c.add("%s: role-to-assume: want %s, got %q", where, roleExpr(wantVar), role)
		case !expected && role != "":
			c.add("%s: assumes %s: only %v may assume a role in this file", where, role, sortedKeys(want))
		}
	}
	switch role {
	case "":
	case roleExpr(workflows.DeployRoleVar):
		if want := c.deployEnvironment(id); env != want {
			c.add("%s: assumes the deploy role of its environment's stack, so it needs environment: %s (the role trusts that subject only), got %q", where, want, env)
		}
	case roleExpr(workflows.ImageRoleVar):
		if env != workflows.ImageEnvironment {
			c.add("%s: assumes the image role, so it needs environment: %s (the role trusts that subject only), got %q", where, workflows.ImageEnvironment, env)
		}
		c.verbs(where, j, "the image role", imageJobVerbs)
	case roleExpr(workflows.PreviewRoleVar):
		if env != "" {
			c.add("%s: assumes the preview role, so it must have no environment (the role trusts pull_request and default-branch subjects), got %q", where, env)
		}
		c.verbs(where, j, "the read-only preview role", readOnlyVerbs)
	default:
		c.add("%s: role-to-assume %q: want %s, %s or %s", where, role, roleExpr(workflows.DeployRoleVar), roleExpr(workflows.ImageRoleVar), roleExpr(workflows.PreviewRoleVar))
	}
	if role != "" && role != roleExpr(workflows.ImageRoleVar) {
		for i, s := range j.Steps {
			if buildsImage(s) {
				c.add("%s, step %d (%s): builds or pushes an image with %s: only the image job does, with the image role", where, i+1, s.Name, role)
			}
		}
	}
	if role != "" && slices.Contains(w.events(), "pull_request") && !strings.Contains(j.If, forkGuard) {
		c.add("%s: assumes a role on pull_request, so it needs if: %s (forks get no OIDC token: skip, do not fail)", where, forkGuard)
	}
}

// deployEnvironment is the environment the deploy job id needs: in CD its
// stage's, in rollback.yml the chosen one.
func (c *checker) deployEnvironment(id string) string {
	for _, e := range c.p.Environments {
		if c.file == "cd.yml" && id == workflows.JobID(e.Stack) {
			return e.GitHubEnvironment
		}
	}
	if c.file == "rollback.yml" {
		return RollbackEnvironment
	}
	return "(none: only cd.yml's deploy jobs and rollback.yml's job assume the deploy role)"
}

// deployGroup checks that a deploy-role job is in its environment's deploy
// group: one update of the stack at a time, CD's and the rollback's.
func (c *checker) deployGroup(where string, j *job) {
	want := workflows.DeployGroup(j.environment())
	if group, _ := concurrency(&j.Concurrency); group != want {
		c.add("%s: assumes the deploy role, so it needs concurrency group %q (its environment's, shared by %v), got %q", where, want, deployGroupFiles, group)
	}
}

// deployNeeds checks CD's order: the first environment's deploy job needs
// the tests and the image, each later one those and the deploy job before
// it, so an image reaches an environment only after it verifiably ran in
// every one before.
func (c *checker) deployNeeds(w *workflow) {
	want := []string{"test", "image"}
	for _, e := range c.p.Environments {
		id := workflows.JobID(e.Stack)
		j, ok := w.Jobs[id]
		if !ok {
			continue
		}
		needs := j.needs()
		for _, n := range want {
			if !slices.Contains(needs, n) {
				c.add("job %s: needs %v, want %v: it must wait for the tests, the image and the environment before it", id, needs, want)
				break
			}
		}
		// A deploy runs only when every job it needs succeeded, and fails
		// when its deploy fails: an if: (always(), failure()) would promote
		// after a failure, a continue-on-error would hide one.
		if j.If != "" {
			c.add("job %s: has if: %s: a deploy must run only when every job it needs succeeded", id, j.If)
		}
		if j.ContinueOnError.Kind != 0 {
			c.add("job %s: has continue-on-error: %s: a failed deploy must fail the run", id, describe(&j.ContinueOnError))
		}
		for _, n := range j.needs() {
			need, ok := w.Jobs[n]
			if !ok || strings.HasPrefix(n, "deploy-") {
				continue // a deploy job is checked as itself
			}
			if need.ContinueOnError.Kind != 0 {
				c.add("job %s: has continue-on-error: %s: job %s deploys only after it succeeded", n, describe(&need.ContinueOnError), id)
			}
			for i, s := range need.Steps {
				if s.ContinueOnError.Kind != 0 {
					c.add("job %s, step %d (%s): has continue-on-error: %s: job %s deploys only after it succeeded", n, i+1, s.Name, describe(&s.ContinueOnError), id)
				}
			}
		}
		for i, s := range j.Steps {
			if s.ContinueOnError.Kind != 0 {
				c.add("job %s, step %d (%s): has continue-on-error: %s: a failed step must fail the deploy, and with it the promotion after it", id, i+1, s.Name, describe(&s.ContinueOnError))
			}
		}
		want = []string{"test", "image", id}
	}
}

// rollbackChoice checks the rollback's environment input: a required
// choice of exactly the environments' names, so that the job's
// environment (and with it its role and stack) is one of them.
func (c *checker) rollbackChoice(w *workflow) {
	input := mappingValue(mappingValue(w.trigger("workflow_dispatch"), "inputs"), "environment")
	var want []string
	for _, e := range c.p.Environments {
		want = append(want, e.GitHubEnvironment)
	}
	typ, required, options := "", "", choiceOptions(input)
	if n := mappingValue(input, "type"); n != nil {
		typ = n.Value
	}
	if n := mappingValue(input, "required"); n != nil {
		required = n.Value
	}
	if typ != "choice" || required != "true" || !slices.Equal(options, want) {
		c.add("workflow_dispatch input environment: want a required choice of %v, got type %q, required %q, options %v", want, typ, required, options)
	}
}

// choiceOptions are a workflow_dispatch input's options.
func choiceOptions(input *yaml.Node) []string {
	var options []string
	if o := mappingValue(input, "options"); o != nil {
		for _, n := range o.Content {
			options = append(options, n.Value)
		}
	}
	return options
}

// The image push's cache repository and the attestation-free, single
// platform push that ECR's lifecycle rules cannot break.
var (
	cacheRefPrefix = "type=registry,ref=" + roleExpr("ECR_CACHE_REPOSITORY") + ":"
	imageTagPrefix = roleExpr("ECR_REPOSITORY") + ":"
)

// listInput splits an action's list input: by lines and commas.
func listInput(v string) []string {
	var out []string
	for _, line := range strings.Split(v, "\n") {
		for _, item := range strings.Split(line, ",") {
			if item = strings.TrimSpace(item); item != "" {
				out = append(out, item)
			}
		}
	}
	return out
}

// imagePush checks a docker/build-push-action step: it pushes a single
// platform image with no attestations to the service's repository, tagged
// there, only when the tag does not exist yet (if:), with a registry layer
// cache in the MUTABLE cache repository only, in ECR's format. An
// attestation or a second platform makes the push an image index whose
// children are untagged: the repository's untagged-expiry rule would
// delete them from under the tag.
func (c *checker) imagePush(where string, s step) {
	if allowed, ok := imageActionInputs[action(s.Uses.Value)]; ok {
		for _, k := range sortedKeys(s.With) {
			if !slices.Contains(allowed, k) {
				c.add("%s: %s has input %s: want only %v (another input can hand the image role's credentials to the build, or change the BuildKit that pushes)", where, action(s.Uses.Value), k, allowed)
			}
		}
	}
	if action(s.Uses.Value) == "docker/setup-buildx-action" {
		// Without a version input the runner's buildx runs; should the
		// action download one, it must not come from an Actions cache
		// that a job without credentials could have written.
		if v := s.With["cache-binary"]; v.Value != "false" {
			c.add("%s: docker/setup-buildx-action needs cache-binary: false, got %s: a buildx binary restored from the Actions cache would build the image this role pushes", where, describe(&v))
		}
		if v := s.With["driver-opts"]; strings.TrimSpace(v.Value) != "image="+workflows.BuildKitImage {
			c.add("%s: docker/setup-buildx-action needs driver-opts: image=%s (a BuildKit release), got %s: the default moves with every release", where, workflows.BuildKitImage, describe(&v))
		}
		return
	}
	if action(s.Uses.Value) != "docker/build-push-action" {
		return
	}
	with := func(key string) string { v := s.With[key]; return v.Value }
	if with("push") != "true" {
		c.add("%s: docker/build-push-action needs push: true, got %q", where, with("push"))
	}
	if _, ok := s.With["build-contexts"]; ok {
		c.add("%s: has build-contexts: %s: the image is built from the Git context of this commit only", where, with("build-contexts"))
	}
	if _, ok := s.With["context"]; ok {
		c.add("%s: has context: %s: the image is built from the Git context of this commit (no context: input), so nothing else in the workspace (the tool's checkout) reaches it", where, with("context"))
	}
	if s.If == "" {
		c.add("%s: pushes an image on every run: want an if: that skips it when the tag exists (tags are immutable: a re-run's push would fail)", where)
	}
	if with("provenance") != "false" || with("sbom") != "false" {
		c.add("%s: needs provenance: false and sbom: false, got %q and %q: attestations make the push an index whose untagged children the untagged-expiry rule deletes", where, with("provenance"), with("sbom"))
	}
	if p := listInput(with("platforms")); len(p) != 1 {
		c.add("%s: needs exactly one platform, got %v: several make the push an index whose untagged children the untagged-expiry rule deletes", where, p)
	}
	for _, tag := range listInput(with("tags")) {
		if !strings.HasPrefix(tag, imageTagPrefix) {
			c.add("%s: tag %q: want %s<sha>: images go to the service's repository only", where, tag, imageTagPrefix)
		}
	}
	for _, key := range []string{"cache-from", "cache-to"} {
		for _, line := range strings.Split(with(key), "\n") {
			if line = strings.TrimSpace(line); line == "" {
				continue
			}
			if !strings.HasPrefix(line, cacheRefPrefix) {
				c.add("%s: %s %q: want %s<tag>: the layer cache's moving tag lives in its own MUTABLE repository", where, key, line, cacheRefPrefix)
			}
			if key == "cache-to" && (!strings.Contains(line, ",image-manifest=true") || !strings.Contains(line, ",oci-mediatypes=true")) {
				c.add("%s: cache-to %q: ECR needs image-manifest=true,oci-mediatypes=true (moby/buildkit #3776, #876)", where, line)
			}
		}
	}
}

// imageActionInputs are the inputs the image job may give BuildKit's
// actions: build-args, secrets, secret-envs or ssh would carry the image
// role's credentials into the application's build; version or
// buildkitd-flags would run another buildx or BuildKit.
var imageActionInputs = map[string][]string{
	"docker/setup-buildx-action": {"cache-binary", "driver-opts"},
	"docker/build-push-action":   {"cache-from", "cache-to", "labels", "platforms", "provenance", "push", "sbom", "tags"},
}

var (
	// serviceImageRE is a service container image pinned to a version tag
	// (not latest), with its digest or not.
	serviceImageRE = regexp.MustCompile(`^[a-z0-9./_-]+:[0-9][A-Za-z0-9._-]*(?:@sha256:[0-9a-f]{64})?$`)
	// cargoBuildRE finds cargo clippy, test or build and the rest of the
	// line.
	cargoBuildRE = regexp.MustCompile(`\bcargo[ \t]+(?:\+\S+[ \t]+)?(?:clippy|test|build)\b[^\n]*`)
	// lockedRE finds --locked among a command's words.
	lockedRE = regexp.MustCompile(`(?:^|[ \t])--locked(?:[ \t]|$)`)
)

// services checks that every service container is pinned to a version.
func (c *checker) services(where string, j *job) {
	if j.Services.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(j.Services.Content); i += 2 {
		name, svc := j.Services.Content[i].Value, j.Services.Content[i+1]
		image := ""
		if n := mappingValue(svc, "image"); n != nil {
			image = n.Value
		}
		if !serviceImageRE.MatchString(image) {
			c.add("%s: service %s: image %q: want a version tag (name:x.y.z, with @sha256:<digest> where one is known), not latest or none", where, name, image)
		}
	}
}

// rust checks the Rust steps: the toolchain is Params.RustToolchain, and
// cargo clippy, test and build run --locked, so Cargo.lock decides.
func (c *checker) rust(where string, s step) {
	if action(s.Uses.Value) == "dtolnay/rust-toolchain" {
		if v := s.With["toolchain"]; v.Value != c.p.RustToolchain {
			c.add("%s: dtolnay/rust-toolchain: want toolchain: %q (Params.RustToolchain), got %s", where, c.p.RustToolchain, describe(&v))
		}
	}
	for _, cmd := range cargoBuildRE.FindAllString(s.Run, -1) {
		if !lockedRE.MatchString(cmd) {
			c.add("%s: %q: want --locked (Cargo.lock decides every crate)", where, strings.TrimSpace(cmd))
		}
	}
}

// verbs checks that a job runs the deploy tool with the given verbs only.
func (c *checker) verbs(where string, j *job, under string, allowed []string) {
	for _, s := range j.Steps {
		for _, call := range toolCalls(s.Run) {
			if !slices.Contains(allowed, call.verb) {
				c.add("%s: runs the deploy tool with %q under %s: only %v", where, call.verb, under, allowed)
			}
		}
	}
}

func (c *checker) step(where string, s step) {
	if containsExpression(s.Run) {
		c.add("%s: run: contains a ${{ }} expression; pass the value through env: and quote \"$VAR\" (expressions are pasted into the script unescaped)", where)
	}
	if s.Uses.Value == "" {
		return
	}
	m := pinnedUsesRE.FindStringSubmatch(s.Uses.Value)
	if m == nil {
		c.add("%s: uses %s: want owner/repo@<40-hex commit SHA> # <version> from the pin table", where, s.Uses.Value)
		return
	}
	name, sha := m[1], m[3]
	pin, ok := workflows.LookupPin(name)
	switch {
	case !ok:
		c.add("%s: uses %s: action %s is not in the pin table (pins.go, ACTIONS.md)", where, s.Uses.Value, name)
	case sha != pin.SHA:
		c.add("%s: uses %s: the pin table has %s@%s (%s)", where, s.Uses.Value, name, pin.SHA, pin.Version)
	case s.Uses.LineComment != "# "+pin.Version:
		c.add("%s: uses %s: want the line comment %q, got %q", where, s.Uses.Value, "# "+pin.Version, s.Uses.LineComment)
	}
	if name == "actions/checkout" {
		if v := s.With["persist-credentials"]; v.Value != "false" {
			c.add("%s: actions/checkout needs persist-credentials: false (else the token stays in .git/config for every later step), got %q", where, v.Value)
		}
	}
}

// names checks that every vars.X and secrets.X in an expression is one the
// program creates.
func (c *checker) names(content []byte) {
	for _, e := range expressionRE.FindAllSubmatch(content, -1) {
		for _, m := range varRE.FindAllSubmatch(e[1], -1) {
			if !slices.Contains(workflows.Variables(c.p), string(m[1])) {
				c.add("variable vars.%s is not one of Variables() %v", m[1], workflows.Variables(c.p))
			}
		}
		for _, m := range secretRE.FindAllSubmatch(e[1], -1) {
			if !slices.Contains(workflows.Secrets(), string(m[1])) {
				c.add("secret secrets.%s is not one of Secrets() %v", m[1], workflows.Secrets())
			}
		}
	}
}

// describe shows a node as written, for messages.
func describe(n *yaml.Node) string {
	if n.Kind == 0 {
		return "nothing"
	}
	if n.Kind == yaml.ScalarNode {
		return strconv.Quote(n.Value)
	}
	out, err := yaml.Marshal(n)
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(out))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
