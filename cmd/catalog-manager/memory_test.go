package main

import "testing"

func TestParseMemoryLimit(t *testing.T) {
	for raw, want := range map[string]int64{
		"max\n":                 0,
		"536870912\n":           536870912,
		"9223372036854771712\n": 0, // cgroup v1 without a limit
		"":                      0,
		"-1":                    0,
	} {
		if got := parseMemoryLimit(raw); got != want {
			t.Errorf("parseMemoryLimit(%q) = %d, want %d", raw, got, want)
		}
	}
}
