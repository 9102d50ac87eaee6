package main

import (
	"fmt"
	"runtime/debug"
	"strings"
)

// version is set at build time with -ldflags "-X main.version=..."; when it is not,
// versionString reads what the Go toolchain recorded in the binary.
var version = ""

// versionString says which f2fpay this is: the -ldflags version if one was set, else
// the module version (a tagged release installed with go install) and the VCS
// revision, its time and whether the tree was modified (a build from a checkout), and
// the Go version.
func versionString() string {
	info, ok := debug.ReadBuildInfo()
	return describeBuild(version, info, ok)
}

func describeBuild(ldflags string, info *debug.BuildInfo, ok bool) string {
	if !ok {
		if ldflags == "" {
			ldflags = "dev"
		}
		return ldflags
	}
	v := ldflags
	if v == "" {
		v = info.Main.Version
	}
	if v == "" || v == "(devel)" {
		v = "dev"
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	var extra []string
	if rev := settings["vcs.revision"]; rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if settings["vcs.modified"] == "true" {
			rev += "+dirty"
		}
		extra = append(extra, settings["vcs"]+" "+rev)
	}
	if t := settings["vcs.time"]; t != "" {
		extra = append(extra, t)
	}
	extra = append(extra, info.GoVersion)
	return fmt.Sprintf("%s (%s)", v, strings.Join(extra, ", "))
}
