// Package parameters builds the parameters sent to a broker from an object's
// inline parameters and the Secrets its parametersFrom names, and says what
// changed since the broker last saw them without keeping Secret values.
package parameters

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
)

// Redacted replaces, in status, every parameter value taken from a Secret.
const Redacted = "<redacted>"

// Set is the merged parameters of an instance or binding.
type Set struct {
	// Values is what the broker is sent.
	Values map[string]any
	// fromSecrets names the keys whose values came from Secrets.
	fromSecrets map[string]bool
}

// Error says what is wrong with parameters or parametersFrom, in
// words a user can act on.
type Error struct{ msg string }

func (e *Error) Error() string { return e.msg }

// Build merges inline parameters with those of the Secrets named
// by parametersFrom, all in namespace. A key given twice is an error.
func Build(ctx context.Context, secrets client.Reader, namespace string, inline *runtime.RawExtension, from []v1beta1.ParametersFromSource) (Set, error) {
	p := Set{Values: map[string]any{}, fromSecrets: map[string]bool{}}
	if inline != nil && len(bytes.TrimSpace(inline.Raw)) > 0 {
		if err := json.Unmarshal(inline.Raw, &p.Values); err != nil {
			return p, &Error{"spec.parameters must be a JSON object: " + err.Error()}
		}
		if p.Values == nil {
			p.Values = map[string]any{}
		}
	}
	for i, src := range from {
		ref := src.SecretKeyRef
		if ref == nil {
			return p, &Error{fmt.Sprintf("spec.parametersFrom[%d] names no secretKeyRef", i)}
		}
		var secret corev1.Secret
		if err := secrets.Get(ctx, client.ObjectKey{Namespace: namespace, Name: ref.Name}, &secret); err != nil {
			if client.IgnoreNotFound(err) == nil {
				return p, &Error{fmt.Sprintf("spec.parametersFrom[%d]: Secret %s/%s not found", i, namespace, ref.Name)}
			}
			return p, err
		}
		raw, ok := secret.Data[ref.Key]
		if !ok {
			return p, &Error{fmt.Sprintf("spec.parametersFrom[%d]: Secret %s/%s has no key %q", i, namespace, ref.Name, ref.Key)}
		}
		var values map[string]any
		if err := json.Unmarshal(raw, &values); err != nil || values == nil {
			// The value is never quoted back: it may be a secret.
			return p, &Error{fmt.Sprintf("spec.parametersFrom[%d]: key %q of Secret %s/%s must hold a JSON object", i, ref.Key, namespace, ref.Name)}
		}
		for k, v := range values {
			if _, dup := p.Values[k]; dup {
				return p, &Error{fmt.Sprintf("parameter %q is given twice: in spec.parametersFrom[%d] (Secret %s) and earlier", k, i, ref.Name)}
			}
			p.Values[k] = v
			p.fromSecrets[k] = true
		}
	}
	return p, nil
}

// Checksum hashes the parameters taken from Secrets, so a changed Secret is
// noticed without storing its content. Inline parameters are compared as
// they are, from status.
func (p Set) Checksum() string {
	fromSecrets := map[string]any{}
	for k := range p.fromSecrets {
		fromSecrets[k] = p.Values[k]
	}
	raw, _ := json.Marshal(fromSecrets) // map keys are sorted
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}

// ForStatus is what status may show: Secret values replaced.
func (p Set) ForStatus() *runtime.RawExtension {
	if len(p.Values) == 0 {
		return nil
	}
	out := map[string]any{}
	for k, v := range p.Values {
		if p.fromSecrets[k] {
			out[k] = Redacted
		} else {
			out[k] = v
		}
	}
	raw, _ := json.Marshal(out)
	return &runtime.RawExtension{Raw: raw}
}

// ChangedSince returns the parameters to send in an update: those added or
// changed since previous (what status recorded), and every Secret-derived one
// when the checksum moved, since their old values are not kept. nil means
// nothing changed.
func (p Set) ChangedSince(previous *v1beta1.PropertiesState) map[string]any {
	var old map[string]any
	if previous != nil && previous.Parameters != nil {
		_ = json.Unmarshal(previous.Parameters.Raw, &old)
	}
	secretsChanged := previous == nil || previous.ParameterChecksum != p.Checksum()
	inline := map[string]any{}
	changed := map[string]any{}
	for k, v := range p.Values {
		switch {
		case !p.fromSecrets[k]:
			inline[k] = v
		case secretsChanged:
			changed[k] = v
		}
	}
	maps.Copy(changed, Diff(old, inline))
	if len(changed) == 0 {
		return nil
	}
	return changed
}

// Diff returns the keys of after that are new or changed since before,
// with their values: what an update sends. Admission checks the same diff
// against the plan's update schema.
func Diff(before, after map[string]any) map[string]any {
	changed := map[string]any{}
	for k, v := range after {
		if old, ok := before[k]; !ok || !reflect.DeepEqual(old, v) {
			changed[k] = v
		}
	}
	return changed
}

// Updatable returns the parameters an update may resend under the plan's
// update schema: when it closes its properties (additionalProperties:
// false), only those it lists; parameters fixed at creation (a region, say)
// would make the broker refuse the whole update. With no update schema, or
// an open one, every parameter.
func (p Set) Updatable(updateSchema *runtime.RawExtension) map[string]any {
	var schema struct {
		Properties           map[string]json.RawMessage `json:"properties"`
		AdditionalProperties *bool                      `json:"additionalProperties"`
	}
	if updateSchema == nil || json.Unmarshal(updateSchema.Raw, &schema) != nil ||
		schema.AdditionalProperties == nil || *schema.AdditionalProperties {
		return p.Values
	}
	out := map[string]any{}
	for k, v := range p.Values {
		if _, ok := schema.Properties[k]; ok {
			out[k] = v
		}
	}
	return out
}
