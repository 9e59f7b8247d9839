// Command svcat is the catalog's CLI: browse the marketplace, provision,
// bind, and see what the catalog and the brokers say. Installed as
// kubectl-svcat on the PATH, it runs as `kubectl svcat`.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/servicecatalog/service-catalog/cmd/svcat/internal/cli"
)

func main() {
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	name := "svcat"
	if strings.HasPrefix(filepath.Base(os.Args[0]), "kubectl-") {
		name = "kubectl svcat"
	}
	// Errors are the API server's, admission messages verbatim.
	if err := cli.NewCommand(name, streams).Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}
