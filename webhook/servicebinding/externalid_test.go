package servicebinding_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/offering"
	"github.com/servicecatalog/service-catalog/osb/schema"
	"github.com/servicecatalog/service-catalog/webhook/servicebinding"
)

// TestBindingIDIsUnique tries to reuse another tenant's binding id (its
// own, or one a rotation gave it), which OSB makes globally unique: with it the broker would hand out, and the
// reuser's deletion would unbind, the other binding's credentials.
func TestBindingIDIsUnique(t *testing.T) {
	scheme := runtime.NewScheme()
	require.NoError(t, v1beta1.AddToScheme(scheme))
	victim := &v1beta1.ServiceBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "victim", Name: "payments-creds"}}
	victim.Spec.InstanceRef.Name, victim.Spec.ExternalID = "payments-db", "taken"
	victim.Status.CurrentBindingID = "rotated-to"
	victim.Status.Rotation = &v1beta1.BindingRotation{SuccessorID: "rotating-to"}
	builder := fake.NewClientBuilder().WithScheme(scheme).WithObjects(victim)
	for _, i := range offering.Indexes() {
		builder = builder.WithIndex(i.Object, i.Field, i.Extract)
	}
	w := &servicebinding.Webhook{Cache: builder.Build(), Schemas: schema.NewCache(16)}

	for externalID, refused := range map[string]bool{"taken": true, "TAKEN": true, "rotated-to": true, "rotating-to": true, "fresh": false} {
		t.Run(externalID, func(t *testing.T) {
			b := &v1beta1.ServiceBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "attacker", Name: "creds"}}
			b.Spec.InstanceRef.Name, b.Spec.ExternalID = "db", externalID
			_, err := w.ValidateCreate(context.Background(), b)
			if !refused {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), `spec.externalID: Forbidden: externalID "`+externalID+`" is already used by a ServiceBinding in namespace victim; leave externalID out`)
			assert.NotContains(t, err.Error(), "payments", "the holder's name is not disclosed")
		})
	}
}
