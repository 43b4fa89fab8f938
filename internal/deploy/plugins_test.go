package deploy_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipway-dev/slipway/internal/deploy"
	"github.com/slipway-dev/slipway/internal/deploy/deploytest"
	"github.com/slipway-dev/slipway/internal/pins"
)

func openWithPlugins(t *testing.T, p deploytest.Project, plugins []pins.Plugin) *deploy.Session {
	t.Helper()
	s, err := deploy.Open(context.Background(), deploy.Options{
		ProjectDir: p.Dir, Stack: p.Stack, Program: deploytest.Program,
		ImageTagKey: "slipway:imageTag", Env: p.Env, Plugins: plugins,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func TestEnsurePlugins(t *testing.T) {
	p := deploytest.NewProject(t, "dev", deploytest.BaseConfig())
	ctx := context.Background()

	t.Run("installed at the pinned version: nothing to install", func(t *testing.T) {
		// A plugin already in PULUMI_HOME, as `pulumi plugin install` leaves it.
		dir := filepath.Join(os.Getenv("PULUMI_HOME"), "plugins", "resource-fake-v1.2.3")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "pulumi-resource-fake"), []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		s := openWithPlugins(t, p, []pins.Plugin{{Name: "fake", Version: "v1.2.3"}})
		if err := s.EnsurePlugins(ctx); err != nil {
			t.Errorf("EnsurePlugins with the plugin installed: %v, want nil", err)
		}
	})

	t.Run("missing and not obtainable: a clear error before the engine runs", func(t *testing.T) {
		s := openWithPlugins(t, p, []pins.Plugin{{Name: "slipway-no-such-plugin", Version: "v0.0.1"}})
		_, err := s.Preview(ctx, shaA, deploy.PreviewOptions{})
		for _, want := range []string{"provider plugin slipway-no-such-plugin v0.0.1 is not installed and could not be installed", "pulumi plugin install resource slipway-no-such-plugin v0.0.1 --file"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("err = %v, want it to contain %q", err, want)
			}
		}
	})
}
