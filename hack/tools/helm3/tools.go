//go:build tools

// Package tools pins helm 3, so the chart tests show the chart renders the
// same with helm 3 as with helm 4.
package tools

import _ "helm.sh/helm/v3/cmd/helm"
