package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// TestEveryCommandHasHelp builds every command's flags (a clash of short
// flags panics only then) and prints its help.
func TestEveryCommandHasHelp(t *testing.T) {
	var paths [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		paths = append(paths, path)
		for _, sub := range c.Commands() {
			walk(sub, append(append([]string(nil), path...), sub.Name()))
		}
	}
	walk(NewCommand("svcat", genericiooptions.IOStreams{}), nil)
	if len(paths) < 25 {
		t.Fatalf("only %d commands found", len(paths))
	}
	for _, path := range paths {
		var out bytes.Buffer
		root := NewCommand("svcat", genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &out})
		root.SetArgs(append(path, "--help"))
		if err := root.Execute(); err != nil {
			t.Errorf("svcat %s --help: %v", strings.Join(path, " "), err)
		}
		if !strings.Contains(out.String(), "Usage:") {
			t.Errorf("svcat %s --help printed no usage:\n%s", strings.Join(path, " "), out.String())
		}
	}
}
