package parameters

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
)

func secretRef(name, key string) v1beta1.ParametersFromSource {
	return v1beta1.ParametersFromSource{SecretKeyRef: &v1beta1.SecretKeyReference{Name: name, Key: key}}
}

func TestBuild(t *testing.T) {
	secrets := fake.NewClientBuilder().WithObjects(
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "creds", Namespace: "ns"}, Data: map[string][]byte{
			"json": []byte(`{"password":"hunter2"}`), "list": []byte(`["a"]`), "dup": []byte(`{"region":"us"}`),
		}},
	).Build()
	tests := map[string]struct {
		inline  string
		from    []v1beta1.ParametersFromSource
		want    map[string]any
		wantErr string
	}{
		"inline only":             {inline: `{"region":"eu"}`, want: map[string]any{"region": "eu"}},
		"inline and a Secret":     {inline: `{"region":"eu"}`, from: []v1beta1.ParametersFromSource{secretRef("creds", "json")}, want: map[string]any{"region": "eu", "password": "hunter2"}},
		"missing Secret":          {from: []v1beta1.ParametersFromSource{secretRef("nope", "json")}, wantErr: "spec.parametersFrom[0]: Secret ns/nope not found"},
		"missing key":             {from: []v1beta1.ParametersFromSource{secretRef("creds", "nope")}, wantErr: `Secret ns/creds has no key "nope"`},
		"not an object":           {from: []v1beta1.ParametersFromSource{secretRef("creds", "list")}, wantErr: `key "list" of Secret ns/creds must hold a JSON object`},
		"duplicate key":           {inline: `{"region":"eu"}`, from: []v1beta1.ParametersFromSource{secretRef("creds", "dup")}, wantErr: `parameter "region" is given twice`},
		"inline is not an object": {inline: `[1]`, wantErr: "spec.parameters must be a JSON object"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var inline *runtime.RawExtension
			if tc.inline != "" {
				inline = &runtime.RawExtension{Raw: []byte(tc.inline)}
			}
			got, err := Build(context.Background(), secrets, "ns", inline, tc.from)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				assert.NotContains(t, err.Error(), "hunter2", "errors never quote Secret values")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got.Values)
		})
	}
}

func TestForStatusAndChangedSince(t *testing.T) {
	p := Set{Values: map[string]any{"region": "eu", "size": float64(10), "password": "hunter2"}, fromSecrets: map[string]bool{"password": true}}
	var shown map[string]any
	require.NoError(t, json.Unmarshal(p.ForStatus().Raw, &shown))
	assert.Equal(t, map[string]any{"region": "eu", "size": float64(10), "password": Redacted}, shown)

	sent := &v1beta1.PropertiesState{Parameters: p.ForStatus(), ParameterChecksum: p.Checksum()}
	assert.Nil(t, p.ChangedSince(sent), "nothing changed")

	bigger := Set{Values: map[string]any{"region": "eu", "size": float64(20), "password": "hunter2"}, fromSecrets: p.fromSecrets}
	assert.Equal(t, map[string]any{"size": float64(20)}, bigger.ChangedSince(sent), "only the changed inline key")

	rotated := Set{Values: map[string]any{"region": "eu", "size": float64(10), "password": "hunter3"}, fromSecrets: p.fromSecrets}
	assert.Equal(t, map[string]any{"password": "hunter3"}, rotated.ChangedSince(sent), "a changed Secret is noticed through the checksum")
	assert.NotEqual(t, p.Checksum(), rotated.Checksum())
}

func TestUpdatable(t *testing.T) {
	set := Set{Values: map[string]any{"region": "eu", "storageGB": 20.0}}
	closed := &runtime.RawExtension{Raw: []byte(`{"type":"object","additionalProperties":false,"properties":{"storageGB":{"type":"integer"}}}`)}
	open := &runtime.RawExtension{Raw: []byte(`{"type":"object","properties":{"storageGB":{"type":"integer"}}}`)}
	assert.Equal(t, map[string]any{"storageGB": 20.0}, set.Updatable(closed), "what the update schema does not take stays out")
	assert.Equal(t, set.Values, set.Updatable(open))
	assert.Equal(t, set.Values, set.Updatable(nil))
}
