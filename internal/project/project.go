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

	"gopkg.in/yaml.v3"
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

// StackFile is the path of the stack's config file.
func (p *Project) StackFile(stack string) string {
	return filepath.Join(p.Dir, "Pulumi."+stack+".yaml")
}

// StackConfig returns the stack's plain configuration as the engine passes
// it to the program: "namespace:key" → string, with the project's declared
// defaults under the stack's values. Secrets are left out: the program reads
// none, and these values are for validation and the offline synth.
func (p *Project) StackConfig(stack string) (map[string]string, error) {
	if !stackName.MatchString(stack) {
		return nil, fmt.Errorf("stack %q: want letters, digits, '-', '_' or '.'", stack)
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
	var raw struct {
		Config map[string]interface{} `yaml:"config"`
	}
	if err := yaml.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for key, v := range raw.Config {
		if m, ok := v.(map[string]interface{}); ok {
			if _, secret := m["secure"]; secret {
				continue // encrypted (e.g. github:token): the program reads no secret
			}
		}
		s, err := plain(v)
		if err != nil {
			return nil, fmt.Errorf("%s: config %s: %w", path, key, err)
		}
		if !strings.Contains(key, ":") {
			key = p.Name + ":" + key // the engine reads a bare key as the project's
		}
		out[key] = s
	}
	return out, nil
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
