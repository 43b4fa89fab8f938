package cli

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/internal/pins"
)

func (c *Command) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "print the tool's version and the pinned Pulumi CLI and provider versions",
		Example: "  deploy version",
		Args:    noArgs,
		RunE: func(*cobra.Command, []string) error {
			fmt.Fprintf(c.Stdout, "slipway %s\npulumi  %s (pinned CLI)\n", c.version(), pins.Pulumi)
			for _, p := range pins.Plugins {
				fmt.Fprintf(c.Stdout, "plugin  %s %s\n", p.Name, p.Version)
			}
			return nil
		},
	}
}

// version is Command.Version, else the commit the binary was built from.
func (c *Command) version() string {
	if c.Version != "" {
		return c.Version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v, dirty := info.Main.Version, false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			v = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	switch {
	case v == "" || v == "(devel)":
		return "(devel)"
	case dirty:
		return v + "-dirty"
	}
	return v
}
