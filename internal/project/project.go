// Package project reads the Pulumi project and stack files (Pulumi.yaml,
// Pulumi.<stack>.yaml) the way the engine does for configuration: project
// defaults first, the stack's values over them, structured values as JSON.
package project

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	"gopkg.in/yaml.v3"

	"github.com/slipway-dev/slipway/internal/contract"
)

// File is the project file's name.
const File = "Pulumi.yaml"

// Project is a Pulumi project on disk.
type Project struct {
	Dir  string
	Name string
	// Declared holds each declared key (without namespace) of the project's
	// own config section.
	Declared map[string]Declaration
}

// Declaration is a key of the project's config section.
type Declaration struct {
	Type        string      `yaml:"type"`
	Description string      `yaml:"description"`
	Default     interface{} `yaml:"default"`
	HasDefault  bool        `yaml:"-"`
}

// Find looks for Pulumi.yaml in dir and its parents.
func Find(dir string) (*Project, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	for d := abs; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, File)); err == nil {
			return Load(d)
		}
		if filepath.Dir(d) == d {
			return nil, fmt.Errorf("no %s in %s or any parent folder: run from the slipway project folder or pass --dir", File, abs)
		}
	}
}

// Load reads the project in dir.
func Load(dir string) (*Project, error) {
	b, err := os.ReadFile(filepath.Join(dir, File))
	if err != nil {
		return nil, err
	}
	var raw struct {
		Name   string               `yaml:"name"`
		Config map[string]yaml.Node `yaml:"config"`
	}
	if err := yaml.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, File), err)
	}
	if raw.Name == "" {
		return nil, fmt.Errorf("%s: no project name", filepath.Join(dir, File))
	}
	p := &Project{Dir: dir, Name: raw.Name, Declared: map[string]Declaration{}}
	for key, node := range raw.Config {
		var d Declaration
		if err := node.Decode(&d); err != nil {
			return nil, fmt.Errorf("%s: config %s: %w", filepath.Join(dir, File), key, err)
		}
		for i := 0; i+1 < len(node.Content); i += 2 {
			if node.Content[i].Value == "default" {
				d.HasDefault = true
			}
		}
		p.Declared[key] = d
	}
	return p, nil
}

var stackName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,100}$`)

// CheckStackName refuses a name that is no Pulumi stack name: one that
// would also name a folder above or the folder itself ("..", ".").
func CheckStackName(stack string) error {
	if !stackName.MatchString(stack) || strings.Trim(stack, ".") == "" {
		return fmt.Errorf("stack %q: want a name of letters, digits, '-', '_' or '.', not only dots", contract.Clip(stack))
	}
	return nil
}

// StackFile is the path of the stack's config file.
func (p *Project) StackFile(stack string) string {
	return filepath.Join(p.Dir, "Pulumi."+stack+".yaml")
}

// StackConfig returns the stack's plain configuration as the engine passes
// it to the program: "namespace:key" → string, with the project's declared
// defaults under the stack's values. The stack file is read by the Pulumi
// SDK's own loader (workspace.LoadProjectStack), the one the engine uses,
// so that both see the same values; a file in which two keys mean the
// same key (slipway:githubOwner and the legacy slipway:config:githubOwner,
// which the engine picks between at random) is refused, naming both
// lines. Secrets are left out: the program reads none, and these values
// are for validation and the offline synth.
func (p *Project) StackConfig(stack string) (map[string]string, error) {
	if err := CheckStackName(stack); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for key, d := range p.Declared {
		if d.HasDefault {
			v, err := plain(d.Default)
			if err != nil {
				return nil, fmt.Errorf("%s: config %s default: %w", File, key, err)
			}
			out[p.Name+":"+key] = v
		}
	}
	path := p.StackFile(stack)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("stack %q has no config file %s: create it (pulumi stack init %s) or pick an existing stack", stack, path, stack)
	}
	if err != nil {
		return nil, err
	}
	if err := p.duplicateKeys(path, b); err != nil {
		return nil, err
	}
	wp, err := workspace.LoadProject(filepath.Join(p.Dir, File))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(p.Dir, File), err)
	}
	ps, err := workspace.LoadProjectStack(nil, wp, path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for key, v := range ps.Config {
		if v.Secure() {
			continue // encrypted (e.g. github:token): the program reads no secret
		}
		s, err := v.Value(config.NopDecrypter)
		if err != nil {
			return nil, fmt.Errorf("%s: config %s: %w", path, key, err)
		}
		out[key.String()] = s
	}
	return out, nil
}

// duplicateKeys refuses config keys of the stack file that name the same
// key, as the engine reads them: a bare key is the project's, and
// "ns:config:name" is the legacy form of "ns:name".
func (p *Project) duplicateKeys(path string, b []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil
	}
	top := doc.Content[0].Content
	for i := 0; i+1 < len(top); i += 2 {
		if top[i].Value != "config" || top[i+1].Kind != yaml.MappingNode {
			continue
		}
		seen := map[string]*yaml.Node{}
		var errs []error
		entries := top[i+1].Content
		for j := 0; j+1 < len(entries); j += 2 {
			k := entries[j]
			name := k.Value
			if !strings.Contains(name, ":") {
				name = p.Name + ":" + name
			}
			key, err := config.ParseKey(name)
			if err != nil {
				return fmt.Errorf("%s line %d: config key %q: %w", path, k.Line, contract.Clip(k.Value), err)
			}
			if first, dup := seen[key.String()]; dup {
				errs = append(errs, fmt.Errorf("%s lines %d and %d: %q and %q both set %s (the engine would use one of them at random): keep one", path, first.Line, k.Line, contract.Clip(first.Value), contract.Clip(k.Value), key))
				continue
			}
			seen[key.String()] = k
		}
		return errors.Join(errs...)
	}
	return nil
}

// plain renders a YAML value as the engine's config string.
func plain(v interface{}) (string, error) {
	switch t := v.(type) {
	case string:
		return t, nil
	case int:
		return strconv.Itoa(t), nil
	case bool:
		return strconv.FormatBool(t), nil
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64), nil
	case nil:
		return "", nil
	default:
		b, err := json.Marshal(t)
		return string(b), err
	}
}
