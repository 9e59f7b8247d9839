//go:build tools

// Package tools pins helm, used by the chart tests and to install the chart.
package tools

import _ "helm.sh/helm/v4/cmd/helm"
