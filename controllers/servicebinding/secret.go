package servicebinding

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/jsonpath"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/controllers/metaonly"
	"github.com/servicecatalog/service-catalog/offering"
)

// LabelBinding marks the Secrets a binding owns.
const LabelBinding = "servicecatalog.k8s.io/binding"

// EnvVarName turns a binding name and credential key into the variable
// name the pod injector exposes: MYDB01_BINDING_URI for mydb01-binding/uri.
func EnvVarName(binding, key string) string {
	upper := func(s string) string {
		var b strings.Builder
		for _, r := range strings.ToUpper(s) {
			if (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
				b.WriteRune(r)
			} else {
				b.WriteByte('_')
			}
		}
		return b.String()
	}
	name := upper(binding) + "_" + upper(key)
	if name[0] >= '0' && name[0] <= '9' {
		name = "_" + name
	}
	return name
}

// credentialData turns broker credentials into Secret data: strings as
// they are, anything else as JSON.
func credentialData(creds map[string]any) map[string][]byte {
	data := make(map[string][]byte, len(creds))
	for k, v := range creds {
		if s, ok := v.(string); ok {
			data[k] = []byte(s)
			continue
		}
		raw, _ := json.Marshal(v)
		data[k] = raw
	}
	return data
}

// transformError is a secretTransforms entry that cannot be applied.
type transformError struct{ msg string }

func (e *transformError) Error() string { return e.msg }

// applyTransforms applies secretTransforms in order. Secrets named by
// addKeysFrom are read from the binding's namespace only.
func applyTransforms(ctx context.Context, secrets client.Reader, b *v1beta1.ServiceBinding, creds map[string]any, data map[string][]byte) error {
	for i, t := range b.Spec.SecretTransforms {
		switch {
		case t.RenameKey != nil:
			if v, ok := data[t.RenameKey.From]; ok {
				data[t.RenameKey.To] = v
				delete(data, t.RenameKey.From)
			}
		case t.AddKey != nil:
			switch {
			case t.AddKey.Value != nil:
				data[t.AddKey.Key] = t.AddKey.Value
			case t.AddKey.StringValue != nil:
				data[t.AddKey.Key] = []byte(*t.AddKey.StringValue)
			case t.AddKey.JSONPathExpression != nil:
				jp := jsonpath.New("addKey")
				if err := jp.Parse(*t.AddKey.JSONPathExpression); err != nil {
					return &transformError{fmt.Sprintf("spec.secretTransforms[%d].addKey.jsonPathExpression: %v", i, err)}
				}
				var out bytes.Buffer
				if err := jp.Execute(&out, creds); err != nil {
					// client-go's error prints the data it searched, the
					// credentials: name only the keys.
					return &transformError{fmt.Sprintf("spec.secretTransforms[%d].addKey.jsonPathExpression %q finds nothing in the credentials; their keys are: %s",
						i, *t.AddKey.JSONPathExpression, strings.Join(sortedKeys(data), ", "))}
				}
				data[t.AddKey.Key] = out.Bytes()
			}
		case t.AddKeysFrom != nil && t.AddKeysFrom.SecretRef != nil:
			ref := t.AddKeysFrom.SecretRef
			if ref.Namespace != "" && ref.Namespace != b.Namespace {
				return &transformError{fmt.Sprintf("spec.secretTransforms[%d].addKeysFrom: Secret %s/%s is in another namespace; only Secrets of namespace %s can be used", i, ref.Namespace, ref.Name, b.Namespace)}
			}
			var src corev1.Secret
			if err := secrets.Get(ctx, client.ObjectKey{Namespace: b.Namespace, Name: ref.Name}, &src); err != nil {
				if apierrors.IsNotFound(err) {
					return &transformError{fmt.Sprintf("spec.secretTransforms[%d].addKeysFrom: Secret %s/%s not found", i, b.Namespace, ref.Name)}
				}
				return err
			}
			for k, v := range src.Data {
				data[k] = v
			}
		case t.RemoveKey != nil:
			delete(data, t.RemoveKey.Key)
		}
	}
	return nil
}

// envData renames credential keys to variable names. Two keys that become
// the same name are an error, never a silent overwrite.
func envData(binding string, data map[string][]byte) (map[string][]byte, error) {
	out := make(map[string][]byte, len(data))
	from := map[string]string{}
	for _, k := range sortedKeys(data) {
		name := EnvVarName(binding, k)
		if other, dup := from[name]; dup {
			return nil, &transformError{fmt.Sprintf("credential keys %q and %q both become variable %s; rename one with spec.secretTransforms", other, k, name)}
		}
		from[name] = k
		out[name] = data[k]
	}
	return out, nil
}

func sortedKeys(data map[string][]byte) []string {
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// notOwnedError names a Secret that exists and belongs to someone else.
type notOwnedError struct{ name string }

func (e *notOwnedError) Error() string {
	return fmt.Sprintf("Secret %s already exists and is not owned by this binding; delete it, or create the binding with another spec.secretName", e.name)
}

// checkSecretsFree fails when a Secret the binding would write exists and
// is not the binding's: it is never overwritten. It reads the metadata
// cache, which keeps owners, so a binding waiting for a slot costs the API
// server nothing; a Secret made so recently that the cache has not seen it
// is still caught by writeSecret. One the cache says is someone else's is
// confirmed with the API server: the cache may still hold the Secret of a
// deleted binding of the same name.
func (r *Reconciler) checkSecretsFree(ctx context.Context, b *v1beta1.ServiceBinding) error {
	for _, name := range []string{b.CredentialsSecretName(), v1beta1.EnvSecretNameOf(b.Name)} {
		cached, err := r.cachedSecret(ctx, b.Namespace, name)
		if err != nil {
			return err
		}
		if cached == nil || metav1.IsControlledBy(cached, b) {
			continue
		}
		// Its metadata only: someone else's credentials have no business in
		// the manager.
		existing := metaonly.Secret()
		err = r.APIReader.Get(ctx, client.ObjectKey{Namespace: b.Namespace, Name: name}, existing)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return err
		}
		if !metav1.IsControlledBy(existing, b) {
			return &notOwnedError{name}
		}
	}
	return nil
}

// cachedSecret is the Secret's metadata from the manager's cache, nil when
// the cache does not hold it.
func (r *Reconciler) cachedSecret(ctx context.Context, namespace, name string) (*metav1.PartialObjectMetadata, error) {
	meta := metaonly.Secret()
	err := r.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, meta)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return meta, err
}

// writeSecret creates or updates a Secret the binding owns. A Secret the
// metadata cache does not hold, as on a first bind, is created without a
// read first; one it holds (a rotation, a restore) is read from the API
// server and updated if it is the binding's.
func (r *Reconciler) writeSecret(ctx context.Context, b *v1beta1.ServiceBinding, name string, data map[string][]byte) error {
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: b.Namespace, Name: name,
		Labels: map[string]string{LabelBinding: b.Name}}, Type: corev1.SecretTypeOpaque, Data: data}
	if err := controllerutil.SetControllerReference(b, secret, r.Client.Scheme()); err != nil {
		return err
	}
	cached, err := r.cachedSecret(ctx, b.Namespace, name)
	if err != nil {
		return err
	}
	if cached == nil {
		err := r.Client.Create(ctx, secret)
		if !apierrors.IsAlreadyExists(err) {
			return err
		}
	}
	var existing corev1.Secret
	err = r.APIReader.Get(ctx, client.ObjectKeyFromObject(secret), &existing)
	if apierrors.IsNotFound(err) && cached != nil {
		// The cache still held a Secret deleted meanwhile.
		return r.Client.Create(ctx, secret)
	}
	if err != nil {
		return err
	}
	if !metav1.IsControlledBy(&existing, b) {
		return &notOwnedError{name}
	}
	existing.Data = data
	// A Secret the retired project wrote has the owner but not the label.
	if existing.Labels == nil {
		existing.Labels = map[string]string{}
	}
	existing.Labels[LabelBinding] = b.Name
	return r.Client.Update(ctx, &existing)
}

// deleteSecrets removes the Secrets the binding owns.
func (r *Reconciler) deleteSecrets(ctx context.Context, b *v1beta1.ServiceBinding) error {
	for _, name := range []string{b.CredentialsSecretName(), v1beta1.EnvSecretNameOf(b.Name)} {
		var existing corev1.Secret
		err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: b.Namespace, Name: name}, &existing)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return err
		}
		if metav1.IsControlledBy(&existing, b) {
			if err := r.Client.Delete(ctx, &existing); client.IgnoreNotFound(err) != nil {
				return err
			}
		}
	}
	return nil
}

// writeCredentials writes the credentials Secret and the env Secret and
// records the key names in status.
func (r *Reconciler) writeCredentials(ctx context.Context, b *v1beta1.ServiceBinding, creds map[string]any, off *offering.Offering) error {
	data := credentialData(creds)
	// Before the transforms, which may rename or remove them as they may
	// any key; never in the env Secret, where <BINDING>_TYPE could clash
	// with a credential or replace a variable the pod has from elsewhere.
	added := addServiceBindingEntries(data, b, off)
	if err := applyTransforms(ctx, r.APIReader, b, creds, data); err != nil {
		return err
	}
	env, err := envData(b.Name, without(data, added))
	if err != nil {
		return err
	}
	if err := r.writeSecret(ctx, b, b.CredentialsSecretName(), data); err != nil {
		return err
	}
	if err := r.writeSecret(ctx, b, v1beta1.EnvSecretNameOf(b.Name), env); err != nil {
		return err
	}
	// Key names only, never values.
	b.Status.SecretKeys = sortedKeys(data)
	b.Status.EnvSecretName = v1beta1.EnvSecretNameOf(b.Name)
	b.Status.Binding = &v1beta1.LocalObjectReference{Name: b.CredentialsSecretName()}
	return nil
}

// addServiceBindingEntries gives the Secret the type and provider entries
// servicebinding.io asks for (libraries reading $SERVICE_BINDING_ROOT pick
// a binding by its type): the binding's annotation, else what the broker
// sent, else the class's first tag (its name without tags) and its
// metadata's providerDisplayName, or the broker's name.
func addServiceBindingEntries(data map[string][]byte, b *v1beta1.ServiceBinding, off *offering.Offering) (added []string) {
	var tag, provider string
	if off != nil {
		// servicebinding.io requires a type: the class's name when it has
		// no tag.
		tag = off.Class.ExternalName
		if len(off.Class.Tags) > 0 {
			tag = off.Class.Tags[0]
		}
		provider = off.BrokerName
		var md struct {
			ProviderDisplayName string `json:"providerDisplayName"`
		}
		if off.Class.ExternalMetadata != nil && json.Unmarshal(off.Class.ExternalMetadata.Raw, &md) == nil && md.ProviderDisplayName != "" {
			provider = md.ProviderDisplayName
		}
	}
	for key, fallback := range map[string]string{"type": tag, "provider": provider} {
		override := b.Annotations[map[string]string{"type": v1beta1.AnnotationBindingType, "provider": v1beta1.AnnotationBindingProvider}[key]]
		switch {
		case override != "" && !hasKeyFold(data, key):
			data[key] = []byte(override)
			added = append(added, key)
		case override != "":
			// The broker's entry (of any case) is replaced, not doubled.
			for k := range data {
				if strings.EqualFold(k, key) {
					delete(data, k)
				}
			}
			data[key] = []byte(override)
		case !hasKeyFold(data, key) && fallback != "":
			data[key] = []byte(fallback)
			added = append(added, key)
		}
	}
	return added
}

func hasKeyFold(data map[string][]byte, key string) bool {
	for k := range data {
		if strings.EqualFold(k, key) {
			return true
		}
	}
	return false
}

// without is data less keys.
func without(data map[string][]byte, keys []string) map[string][]byte {
	out := make(map[string][]byte, len(data))
	for k, v := range data {
		if !slices.Contains(keys, k) {
			out[k] = v
		}
	}
	return out
}

// secretsInPlace says whether both Secrets of a bound binding exist and
// are the binding's, by the manager's metadata cache: a bound binding is
// reconciled at every change of its instance, and reading its credentials
// from the API server each time cost two requests and brought the
// credentials into the manager for nothing. Otherwise boundSecrets asks
// the API server: a Secret the cache lacks may be one just written.
func (r *Reconciler) secretsInPlace(ctx context.Context, b *v1beta1.ServiceBinding) (bool, error) {
	for _, name := range []string{b.CredentialsSecretName(), v1beta1.EnvSecretNameOf(b.Name)} {
		existing, err := r.cachedSecret(ctx, b.Namespace, name)
		if err != nil || existing == nil || !metav1.IsControlledBy(existing, b) {
			return false, err
		}
	}
	return true, nil
}

// boundSecrets reads the metadata of a bound binding's two Secrets from
// the API server, nil for one that is gone: their owners are all that is
// needed, and one may be someone else's now.
func (r *Reconciler) boundSecrets(ctx context.Context, b *v1beta1.ServiceBinding) (creds, env *metav1.PartialObjectMetadata, err error) {
	read := func(name string) (*metav1.PartialObjectMetadata, error) {
		meta := metaonly.Secret()
		err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: b.Namespace, Name: name}, meta)
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return meta, err
	}
	if creds, err = read(b.CredentialsSecretName()); err != nil {
		return nil, nil, err
	}
	if env, err = read(v1beta1.EnvSecretNameOf(b.Name)); err != nil {
		return nil, nil, err
	}
	return creds, env, nil
}

// replacedSecret is a bound binding's Secret that is someone else's now:
// it was deleted and another made under its name. It is never overwritten.
func replacedSecret(b *v1beta1.ServiceBinding, creds, env *metav1.PartialObjectMetadata) *notOwnedError {
	switch {
	case creds != nil && !metav1.IsControlledBy(creds, b):
		return &notOwnedError{creds.Name}
	case env != nil && !metav1.IsControlledBy(env, b):
		return &notOwnedError{env.Name}
	}
	return nil
}

// restoreEnvSecret writes the env Secret from the credentials Secret
// (the binding's own: only then are its credentials read), and labels that
// one as the binding's (the retired project did not).
func (r *Reconciler) restoreEnvSecret(ctx context.Context, b *v1beta1.ServiceBinding) error {
	var creds corev1.Secret
	if err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: b.Namespace, Name: b.CredentialsSecretName()}, &creds); err != nil {
		return err
	}
	if !metav1.IsControlledBy(&creds, b) {
		return &notOwnedError{creds.Name}
	}
	env, err := envData(b.Name, creds.Data)
	if err != nil {
		return err
	}
	if err := r.writeSecret(ctx, b, b.CredentialsSecretName(), creds.Data); err != nil {
		return err
	}
	if err := r.writeSecret(ctx, b, v1beta1.EnvSecretNameOf(b.Name), env); err != nil {
		return err
	}
	b.Status.SecretKeys = sortedKeys(creds.Data)
	b.Status.EnvSecretName = v1beta1.EnvSecretNameOf(b.Name)
	return nil
}
