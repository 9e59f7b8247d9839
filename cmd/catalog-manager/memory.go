package main

import (
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// gcPercent is the manager's GOGC unless the environment sets one. Most of
// its heap is informer caches that live as long as the process, so the
// default (100) lets the heap grow to twice them before a collection;
// 75 trades a little CPU for a quarter less headroom.
const gcPercent = 75

// memoryLimitShare is the part of the container's memory limit the Go
// runtime is asked to stay under (GOMEMLIMIT) unless the environment sets
// one: it collects harder as the heap nears it, rather than being killed.
const memoryLimitShare = 0.9

// tuneMemory applies gcPercent and the soft memory limit; it returns the
// limit it set, 0 when none.
func tuneMemory() int64 {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if os.Getenv("GOMEMLIMIT") != "" {
		return 0
	}
	limit := containerMemoryLimit()
	if limit <= 0 {
		return 0
	}
	soft := int64(float64(limit) * memoryLimitShare)
	debug.SetMemoryLimit(soft)
	return soft
}

// containerMemoryLimit reads the cgroup's memory limit (v2, then v1); 0
// when there is none.
func containerMemoryLimit() int64 {
	for _, path := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		raw, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		return parseMemoryLimit(string(raw))
	}
	return 0
}

// parseMemoryLimit reads a cgroup limit file: "max" (v2) and the v1
// "unlimited" value (close to the largest int64) are no limit.
func parseMemoryLimit(raw string) int64 {
	n, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64)
	if err != nil || n <= 0 || n >= 1<<62 {
		return 0
	}
	return n
}
