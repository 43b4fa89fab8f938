package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/slipway-dev/slipway/internal/contract"
	"github.com/slipway-dev/slipway/internal/project"
)

// checkChain checks the CD chain the registry's owner lists
// (slipway:environments) against the other listed stacks' own files:
// each must exist, set the GitHub environment the owner's entry gives
// it, name the owner's registry instead of owning one, expect the
// owner's OIDC subject template, share the owner's state backend, and
// promote from the stack before it (the first from none; the contract
// parser checks the owner's own entry and promoteFrom). Every
// mismatch is reported at once, as bad input; a stack that does not own
// the registry, or a chain of the owner alone, is not checked. The
// other stacks' config is parsed as the engine would see it, with a
// placeholder image tag and without refusing example values, so that
// the untouched example project passes the offline synth.
func checkChain(proj *project.Project, owner contract.Config) error {
	if !owner.Registry.Own || len(owner.Environments) < 2 {
		return nil
	}
	ownerFile := filepath.Base(proj.StackFile(owner.Stack))
	listed := ownerFile + " " + chainKey(contract.KeyEnvironments)
	var errs []error
	fail := func(format string, args ...interface{}) { errs = append(errs, fmt.Errorf(format, args...)) }
	configs := map[string]contract.Config{}
	for i, e := range owner.Environments {
		if e.Stack == owner.Stack {
			continue // the contract parser checks the owner's own entry
		}
		file := filepath.Base(proj.StackFile(e.Stack))
		entry := fmt.Sprintf("%s[%d]", listed, i)
		if _, err := os.Stat(proj.StackFile(e.Stack)); errors.Is(err, os.ErrNotExist) {
			fail("%s lists stack %s, but %s does not exist (%s): create it (pulumi stack init %s, then its config: README, \"First-time bootstrap\", steps 1 and 2), or remove the entry",
				entry, e.Stack, file, proj.StackFile(e.Stack), e.Stack)
			continue
		}
		cfg, err := parseListed(proj, e.Stack)
		if err != nil {
			fail("%s, listed in %s: %v", file, entry, err)
			continue
		}
		configs[e.Stack] = cfg
		if cfg.GitHubEnvironment != e.GitHubEnvironment {
			fail("%s %s: got %q, want %q, the githubEnvironment of its entry %s: its deploy jobs run in the environment CD names; set the same in both files",
				file, chainKey(contract.KeyGitHubEnvironment), cfg.GitHubEnvironment, e.GitHubEnvironment, entry)
		}
		if cfg.Registry.Own {
			fail("%s %s: got %q, want the repository of %s, which owns the registry (%s, or its ARN from another account): exactly one stack of the chain owns it",
				file, chainKey(contract.KeyRegistry), contract.RegistryOwn, ownerFile, owner.Registry.Name)
		}
		if cfg.OIDCSubjectTemplate != owner.OIDCSubjectTemplate {
			fail("%s %s: got %s, want %s, as %s sets it: the registry's owner sets the repository's OIDC subject template, and every stack's trust must expect it",
				file, chainKey(contract.KeyOIDCSubjectTemplate), strconv.FormatBool(cfg.OIDCSubjectTemplate), strconv.FormatBool(owner.OIDCSubjectTemplate), ownerFile)
		}
		if cfg.BackendURL != owner.BackendURL {
			fail("%s %s/%s: got backend %q, want %q, as %s has it: deploy promote reads the previous stack's state through the same backend",
				file, chainKey(contract.KeyStateBucket), chainKey(contract.KeyBackendURL), cfg.BackendURL, owner.BackendURL, ownerFile)
		}
	}
	for i, e := range owner.Environments {
		cfg, ok := configs[e.Stack]
		if !ok {
			continue // the owner (the contract parser checks it), or reported above
		}
		file := filepath.Base(proj.StackFile(e.Stack))
		key := chainKey(contract.KeyPromoteFrom)
		if i == 0 {
			if cfg.PromoteFrom != "" {
				fail("%s %s: got %q, want it unset: %s is first in %s, so CD deploys it from the build and it promotes from no stack",
					file, key, cfg.PromoteFrom, e.Stack, listed)
			}
			continue
		}
		prev := owner.Environments[i-1].Stack
		if cfg.PromoteFrom != prev {
			fail("%s %s: got %q, want %q, the stack before %s in %s: CD runs promote --from %s --to %s; set %s: %s in %s",
				file, key, cfg.PromoteFrom, prev, e.Stack, listed, prev, e.Stack, key, prev, file)
		}
	}
	if len(errs) > 0 {
		stacks := make([]string, len(owner.Environments))
		for i, e := range owner.Environments {
			stacks[i] = e.Stack
		}
		return badInput("stack %s: the CD chain %s (%s) does not match its stacks' files:\n%w", owner.Stack, strings.Join(stacks, " → "), listed, errors.Join(errs...))
	}
	return nil
}

// parseListed parses a listed stack's config as the engine would see it,
// with the placeholder image tag.
func parseListed(proj *project.Project, stack string) (contract.Config, error) {
	config, err := proj.StackConfig(stack)
	if err != nil {
		return contract.Config{}, err
	}
	config[imageTagKey()] = zeroSHA
	return contract.ParseMap(stack, config)
}

// chainKey is key in the project's namespace.
func chainKey(key string) string { return contract.Project + ":" + key }
