package main

import (
	"runtime/debug"
	"testing"
)

func TestDescribeBuild(t *testing.T) {
	checkout := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/f2fpay/f2fpay", Version: "(devel)"},
		Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "a4466dd0123456789abcdef0123456789abcdef0"},
			{Key: "vcs.time", Value: "2026-12-07T04:30:16Z"}, {Key: "vcs.modified", Value: "true"},
		}}
	release := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/f2fpay/f2fpay", Version: "v1.4.0"}}
	for _, tt := range []struct {
		ldflags string
		info    *debug.BuildInfo
		ok      bool
		want    string
	}{
		{"", checkout, true, "dev (git a4466dd01234+dirty, 2026-12-07T04:30:16Z, go1.26.8)"},
		{"", release, true, "v1.4.0 (go1.26.8)"},
		{"v1.5.0-rc1", checkout, true, "v1.5.0-rc1 (git a4466dd01234+dirty, 2026-12-07T04:30:16Z, go1.26.8)"},
		{"", nil, false, "dev"},
		{"v2", nil, false, "v2"},
	} {
		if got := describeBuild(tt.ldflags, tt.info, tt.ok); got != tt.want {
			t.Errorf("describeBuild(%q, …) = %q, want %q", tt.ldflags, got, tt.want)
		}
	}
}
