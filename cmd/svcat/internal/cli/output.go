package cli

import (
	"fmt"
	"io"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/printers"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// Output is -o: table (the default), wide, json or yaml.
type Output string

// The formats of -o.
const (
	OutputTable Output = "table"
	OutputWide  Output = "wide"
	OutputJSON  Output = "json"
	OutputYAML  Output = "yaml"
)

func parseOutput(s string) (Output, error) {
	switch Output(s) {
	case "", OutputTable:
		return OutputTable, nil
	case OutputWide, OutputJSON, OutputYAML:
		return Output(s), nil
	}
	return "", fmt.Errorf("-o %q: use table, wide, json or yaml", s)
}

// printObjects prints objects as kubectl -o json|yaml does: one object
// as itself, several (or none, for a list) as a v1 List.
func printObjects(w io.Writer, format Output, objs []client.Object, single bool) error {
	var printer printers.ResourcePrinter = &printers.JSONPrinter{}
	if format == OutputYAML {
		printer = &printers.YAMLPrinter{}
	}
	items := make([]unstructured.Unstructured, 0, len(objs))
	for _, obj := range objs {
		u, err := toUnstructured(obj)
		if err != nil {
			return err
		}
		items = append(items, *u)
	}
	if single && len(items) == 1 {
		return printer.PrintObj(&items[0], w)
	}
	list := &unstructured.UnstructuredList{Object: map[string]any{"apiVersion": "v1", "kind": "List", "metadata": map[string]any{"resourceVersion": ""}}, Items: items}
	return printer.PrintObj(list, w)
}

// toUnstructured keeps the object's apiVersion and kind, which typed
// objects read through a client leave empty.
func toUnstructured(obj client.Object) (*unstructured.Unstructured, error) {
	gvk, err := apiutil.GVKForObject(obj, Scheme())
	if err != nil {
		return nil, err
	}
	raw, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{Object: raw}
	u.SetGroupVersionKind(gvk)
	u.SetManagedFields(nil)
	return u, nil
}
