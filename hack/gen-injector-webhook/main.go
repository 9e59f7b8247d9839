// Command gen-injector-webhook writes the pod injector's webhook
// configuration into manifests/webhook. controller-gen cannot express its
// matchConditions and namespaceSelector, so the configuration is built in
// Go (injector.WebhookConfiguration) and written here by `make manifests`.
package main

import (
	"fmt"
	"os"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"sigs.k8s.io/yaml"

	"github.com/servicecatalog/service-catalog/injector"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gen-injector-webhook <output file>")
		os.Exit(2)
	}
	// The same placeholders controller-gen uses; installs replace them.
	cfg := injector.WebhookConfiguration(admissionregistrationv1.ServiceReference{Namespace: "system", Name: "webhook-service"}, "system")
	raw, err := yaml.Marshal(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := os.WriteFile(os.Args[1], append([]byte("---\n"), raw...), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
