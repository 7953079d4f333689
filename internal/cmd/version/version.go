// Package version holds `pfz version`.
package version

import (
	"context"
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/pfz-cli/pfz/internal/cmdutil"
	"github.com/pfz-cli/pfz/internal/iostreams"
)

// Options are the inputs of `pfz version`.
type Options struct {
	IO      *iostreams.IOStreams
	Build   cmdutil.BuildInfo
	Printer func() (*cmdutil.Printer, error)
}

// Info is what `pfz version -o json` prints.
type Info struct {
	Version  string `json:"version"`
	Commit   string `json:"commit,omitempty"`
	Date     string `json:"date,omitempty"`
	Go       string `json:"go"`
	Platform string `json:"platform"`
}

// NewCmdVersion returns `pfz version`.
func NewCmdVersion(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Build: f.Build, Printer: f.Printer}
	return &cobra.Command{
		Use:   "version",
		Short: "Print pfz's version",
		Long:  "Print pfz's version, the commit and date it was built from, and the Go version and platform.",
		Example: `  pfz version
  pfz version -o json`,
		Args: cmdutil.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return run(opts)
		},
	}
}

func run(opts *Options) error {
	info := Info{
		Version: opts.Build.Version, Commit: opts.Build.Commit, Date: opts.Build.Date,
		Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH,
	}
	p, err := opts.Printer()
	if err != nil {
		return err
	}
	if p.IsTable() {
		line := "pfz version " + info.Version
		if info.Commit != "" {
			line += " (" + info.Commit
			if info.Date != "" {
				line += ", " + info.Date
			}
			line += ")"
		}
		_, err := fmt.Fprintf(opts.IO.Out, "%s\n%s %s\n", line, info.Go, info.Platform)
		return err
	}
	return p.Print(info, nil)
}
