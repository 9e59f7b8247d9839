// Package injector projects ServiceBinding credentials into pods that ask
// for them by annotation: as environment variables (envFrom the binding's
// env Secret, plus explicit variables) and as files under /bindings/<name>.
// Projection records what it added, so a second admission recognises its
// own entries (those the record names that equal what it adds) and adds
// only what is missing; the record alone never removes anything.
package injector

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
)

// The annotations a pod sets to ask for credentials.
const (
	AnnotationBindings   = "servicecatalog.k8s.io/inject-bindings"
	AnnotationContainers = "servicecatalog.k8s.io/inject-containers"
	AnnotationAs         = "servicecatalog.k8s.io/inject-as"
	AnnotationEnv        = "servicecatalog.k8s.io/inject-env"
	// AnnotationInjected records what was injected. Anyone can write it, so
	// it only claims: see Project.
	AnnotationInjected = "servicecatalog.k8s.io/injected"
)

// Request is what a pod's annotations ask for.
type Request struct {
	// Bindings are ServiceBinding names in the pod's namespace, in order.
	Bindings []string
	// Containers names the targeted containers; empty means every regular
	// container. Init containers are targeted only when named.
	Containers []string
	// Env and Files say how to project; both by default.
	Env, Files bool
	// Variables are the explicit inject-env variables.
	Variables []Variable
}

// Variable is one explicit variable: Name from key Key of binding Binding.
type Variable struct {
	Name, Binding, Key string
}

// AnnotationError is a malformed annotation. Its message quotes the
// annotation and shows the right form.
type AnnotationError struct {
	Annotation, Value, Problem, Form string
}

func (e *AnnotationError) Error() string {
	return fmt.Sprintf("annotation %s: %q: %s; write it as %s", e.Annotation, e.Value, e.Problem, e.Form)
}

// ParseRequest reads the inject annotations. ok is false when the pod did
// not opt in.
func ParseRequest(annotations map[string]string) (req Request, ok bool, err error) {
	value, ok := annotations[AnnotationBindings]
	if !ok {
		return req, false, nil
	}
	const bindingsForm = `"binding-a, binding-b" (ServiceBinding names in the pod's namespace)`
	if req.Bindings, err = nameList(AnnotationBindings, value, bindingsForm, dnsSubdomain); err != nil {
		return req, true, err
	}
	if len(req.Bindings) == 0 {
		return req, true, &AnnotationError{AnnotationBindings, value, "names no binding", bindingsForm}
	}
	if v, set := annotations[AnnotationContainers]; set {
		const form = `"app, worker" (container names of the pod)`
		if req.Containers, err = nameList(AnnotationContainers, v, form, dnsLabel); err != nil {
			return req, true, err
		}
		if len(req.Containers) == 0 {
			return req, true, &AnnotationError{AnnotationContainers, v, "names no container", form}
		}
	}
	req.Env, req.Files = true, true
	if v, set := annotations[AnnotationAs]; set {
		const form = `"env", "files" or "env,files"`
		modes, err := nameList(AnnotationAs, v, form, func(s string) string {
			if s != "env" && s != "files" {
				return "only env and files are known"
			}
			return ""
		})
		if err != nil {
			return req, true, err
		}
		if len(modes) == 0 {
			return req, true, &AnnotationError{AnnotationAs, v, "names no way to inject", form}
		}
		req.Env, req.Files = sets.New(modes...).Has("env"), sets.New(modes...).Has("files")
	}
	if v, set := annotations[AnnotationEnv]; set {
		if req.Variables, err = parseVariables(v, req.Bindings); err != nil {
			return req, true, err
		}
	}
	return req, true, nil
}

func dnsSubdomain(s string) string { return strings.Join(validation.IsDNS1123Subdomain(s), "; ") }
func dnsLabel(s string) string     { return strings.Join(validation.IsDNS1123Label(s), "; ") }

// nameList splits a comma-separated list, refusing empty entries,
// duplicates and entries check refuses.
func nameList(annotation, value, form string, check func(string) string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, raw := range strings.Split(value, ",") {
		name := strings.TrimSpace(raw)
		switch {
		case name == "" && strings.TrimSpace(value) == "":
			return nil, nil
		case name == "":
			return nil, &AnnotationError{annotation, value, "has an empty entry", form}
		case seen[name]:
			return nil, &AnnotationError{annotation, value, fmt.Sprintf("names %q twice", name), form}
		}
		if problem := check(name); problem != "" {
			return nil, &AnnotationError{annotation, value, fmt.Sprintf("%q: %s", name, problem), form}
		}
		seen[name] = true
		out = append(out, name)
	}
	return out, nil
}

func parseVariables(value string, bindings []string) ([]Variable, error) {
	const form = `"DATABASE_URL=mydb-binding/uri, QUEUE_HOST=queue/host"`
	known := sets.New(bindings...)
	var out []Variable
	seen := map[string]bool{}
	for _, raw := range strings.Split(value, ",") {
		entry := strings.TrimSpace(raw)
		if entry == "" {
			return nil, &AnnotationError{AnnotationEnv, value, "has an empty entry", form}
		}
		name, source, ok := strings.Cut(entry, "=")
		binding, key, ok2 := strings.Cut(source, "/")
		name, binding, key = strings.TrimSpace(name), strings.TrimSpace(binding), strings.TrimSpace(key)
		switch {
		case !ok || !ok2 || name == "" || binding == "" || key == "":
			return nil, &AnnotationError{AnnotationEnv, value, fmt.Sprintf("%q is not VARIABLE=binding/key", entry), form}
		case len(validation.IsEnvVarName(name)) > 0:
			return nil, &AnnotationError{AnnotationEnv, value, fmt.Sprintf("%q is not a valid variable name", name), form}
		case len(validation.IsConfigMapKey(key)) > 0:
			return nil, &AnnotationError{AnnotationEnv, value, fmt.Sprintf("%q is not a valid Secret key", key), form}
		case !known.Has(binding):
			return nil, &AnnotationError{AnnotationEnv, value, fmt.Sprintf("binding %q is not in %s", binding, AnnotationBindings), form}
		case seen[name]:
			return nil, &AnnotationError{AnnotationEnv, value, fmt.Sprintf("variable %q is set twice", name), form}
		}
		seen[name] = true
		out = append(out, Variable{Name: name, Binding: binding, Key: key})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
