package serviceinstance_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/offering"
	"github.com/servicecatalog/service-catalog/osb/schema"
	"github.com/servicecatalog/service-catalog/webhook/serviceinstance"
)

// readsNothing is a user who may read no Secret.
type readsNothing struct{}

func (readsNothing) CanReadSecret(context.Context, admission.Request, string, string) (bool, error) {
	return false, nil
}

// TestEveryChangeChecksTheSecrets: raising updateRequests on someone
// else's instance resends its parametersFrom Secrets to the broker, so it
// needs the right to read them, as naming them does.
func TestEveryChangeChecksTheSecrets(t *testing.T) {
	old := &v1beta1.ServiceInstance{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "team"}}
	old.Spec.ClusterServiceClassExternalName, old.Spec.ClusterServicePlanExternalName, old.Spec.ExternalID = "nosuch", "small", "id-1"
	old.Spec.ParametersFrom = []v1beta1.ParametersFromSource{{SecretKeyRef: &v1beta1.SecretKeyReference{Name: "db-admin", Key: "json"}}}
	builder := fake.NewClientBuilder().WithScheme(newScheme())
	for _, i := range offering.Indexes() {
		builder = builder.WithIndex(i.Object, i.Field, i.Extract)
	}
	w := &serviceinstance.Webhook{Cache: builder.Build(), Schemas: schema.NewCache(16), Access: readsNothing{}}
	ctx := admission.NewContextWithRequest(context.Background(), admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		Operation: admissionv1.Update, UserInfo: authenticationv1.UserInfo{Username: "mallory"}}})

	raised := old.DeepCopy()
	raised.Spec.UpdateRequests++
	_, err := w.ValidateUpdate(ctx, old, raised)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `spec.parametersFrom[0].secretKeyRef.name: Forbidden: user "mallory" cannot read Secret team/db-admin`)

	// The controller's own writes change nothing a user wrote: no check.
	resolved := old.DeepCopy()
	resolved.Spec.SetResolvedRefs(true, "class", "plan")
	_, err = w.ValidateUpdate(ctx, old, resolved)
	assert.NoError(t, err)
}
