package app

import (
	"runtime/debug"

	"github.com/pfz-cli/pfz/internal/cmdutil"
)

// Build metadata, stamped at release with
// -ldflags "-X github.com/pfz-cli/pfz/internal/app.Version=... -X ...Commit=... -X ...Date=...".
// They are written only by the linker.
var (
	Version = "dev"
	Commit  = ""
	Date    = ""
)

// buildInfo returns the stamped metadata, falling back to what the Go
// toolchain recorded (a `go install ...@version` build).
func buildInfo() cmdutil.BuildInfo {
	b := cmdutil.BuildInfo{Version: Version, Commit: Commit, Date: Date}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	if b.Version == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
		b.Version = info.Main.Version
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			if b.Commit == "" {
				b.Commit = s.Value
			}
		case "vcs.time":
			if b.Date == "" {
				b.Date = s.Value
			}
		}
	}
	return b
}
