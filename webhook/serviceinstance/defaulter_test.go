package serviceinstance_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/webhook/serviceinstance"
)

// TestUserInfoCannotBeForged: the identity sent to brokers is always the
// requester's, or the previous stamp when the request changes nothing a
// user writes; never what the client put in spec.userInfo.
func TestUserInfoCannotBeForged(t *testing.T) {
	stamped := func(name string) *v1beta1.UserInfo { return &v1beta1.UserInfo{Username: name} }
	forged := &v1beta1.UserInfo{Username: "cluster-admin", Groups: []string{"system:masters"}}
	base := func(u *v1beta1.UserInfo, params string) *v1beta1.ServiceInstance {
		inst := &v1beta1.ServiceInstance{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "team"}}
		inst.Spec.ClusterServiceClassExternalName, inst.Spec.ClusterServicePlanExternalName = "db", "small"
		inst.Spec.ExternalID, inst.Spec.UserInfo = "id-1", u
		inst.Spec.Parameters = &runtime.RawExtension{Raw: []byte(params)}
		return inst
	}
	tests := map[string]struct {
		old       *v1beta1.ServiceInstance
		sent      *v1beta1.ServiceInstance
		requester string
		want      *v1beta1.UserInfo
	}{
		"create with a forged userInfo":    {sent: base(forged, `{}`), requester: "mallory", want: stamped("mallory")},
		"update of userInfo alone":         {old: base(stamped("alice"), `{}`), sent: base(forged, `{}`), requester: "mallory", want: stamped("mallory")},
		"update of parameters, forged too": {old: base(stamped("alice"), `{}`), sent: base(forged, `{"a":1}`), requester: "mallory", want: stamped("mallory")},
		"the controller's own write":       {old: base(stamped("alice"), `{}`), sent: base(stamped("alice"), `{}`), requester: "system:serviceaccount:catalog:manager", want: stamped("alice")},
		"a client that drops userInfo":     {old: base(stamped("alice"), `{}`), sent: base(nil, `{}`), requester: "mallory", want: stamped("mallory")},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			req := admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
				Operation: admissionv1.Create, UserInfo: authenticationv1.UserInfo{Username: tc.requester},
			}}
			if tc.old != nil {
				raw, err := json.Marshal(tc.old)
				require.NoError(t, err)
				req.Operation, req.OldObject = admissionv1.Update, runtime.RawExtension{Raw: raw}
			}
			w := &serviceinstance.Webhook{Cache: fake.NewClientBuilder().WithScheme(newScheme()).Build()}
			inst := tc.sent.DeepCopy()
			require.NoError(t, w.Default(admission.NewContextWithRequest(context.Background(), req), inst))
			assert.Equal(t, tc.want, inst.Spec.UserInfo)
		})
	}
}
