// Package serviceinstance holds the ServiceInstance admission webhooks: a
// defaulter (externalID, userInfo, the plan of a one-plan class) and a
// validator that refuses, at kubectl apply time, an instance that can never
// work, and warns where the answer is not known yet.
package serviceinstance

import (
	"context"
	"encoding/json"

	"github.com/google/uuid"
	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/osb/schema"
)

// +kubebuilder:webhook:path=/mutate-servicecatalog-k8s-io-v1beta1-serviceinstance,mutating=true,failurePolicy=fail,sideEffects=None,groups=servicecatalog.k8s.io,resources=serviceinstances,verbs=create;update,versions=v1beta1,name=mserviceinstance.servicecatalog.k8s.io,admissionReviewVersions=v1,timeoutSeconds=5
// +kubebuilder:webhook:path=/validate-servicecatalog-k8s-io-v1beta1-serviceinstance,mutating=false,failurePolicy=fail,sideEffects=None,groups=servicecatalog.k8s.io,resources=serviceinstances,verbs=create;update,versions=v1beta1,name=vserviceinstance.servicecatalog.k8s.io,admissionReviewVersions=v1,timeoutSeconds=5

// Webhook defaults and validates ServiceInstances. It reads only the
// informer cache; the one API call on its path is the SubjectAccessReview
// for Secrets named by parametersFrom.
type Webhook struct {
	// Cache reads classes, plans and brokers.
	Cache client.Reader
	// Schemas holds compiled parameter schemas.
	Schemas *schema.Cache
	// Access answers whether the requesting user may read a Secret.
	Access SecretAccess
}

// Default stamps externalID and userInfo and picks the plan of a class that
// has exactly one.
func (w *Webhook) Default(ctx context.Context, inst *v1beta1.ServiceInstance) error {
	req, err := admission.RequestFromContext(ctx)
	if err != nil {
		return err
	}
	var old *v1beta1.ServiceInstance
	if req.Operation == admissionv1.Update && len(req.OldObject.Raw) > 0 {
		old = &v1beta1.ServiceInstance{}
		if err := json.Unmarshal(req.OldObject.Raw, old); err != nil {
			return err
		}
	}
	if inst.Spec.ExternalID == "" {
		if old != nil && old.Spec.ExternalID != "" {
			inst.Spec.ExternalID = old.Spec.ExternalID
		} else {
			inst.Spec.ExternalID = uuid.NewString()
		}
	}
	if old == nil || userSpecChanged(&old.Spec, &inst.Spec) {
		inst.Spec.UserInfo = userInfo(req.UserInfo.Username, req.UserInfo.UID, req.UserInfo.Groups, req.UserInfo.Extra)
	}
	if old == nil {
		w.defaultPlan(ctx, inst)
	}
	return nil
}

// userSpecChanged compares what users write, leaving out the references
// the controller resolves and userInfo itself, so the controller's own
// writes are not stamped as the user's change.
func userSpecChanged(old, updated *v1beta1.ServiceInstanceSpec) bool {
	strip := func(s *v1beta1.ServiceInstanceSpec) v1beta1.ServiceInstanceSpec {
		c := *s.DeepCopy()
		c.ClusterServiceClassRef, c.ClusterServicePlanRef, c.ServiceClassRef, c.ServicePlanRef = nil, nil, nil, nil
		c.UserInfo = nil
		return c
	}
	return !equality.Semantic.DeepEqual(strip(old), strip(updated))
}

func userInfo(name, uid string, groups []string, extra map[string]authenticationv1.ExtraValue) *v1beta1.UserInfo {
	u := &v1beta1.UserInfo{Username: name, UID: uid, Groups: groups}
	if len(extra) > 0 {
		u.Extra = map[string]v1beta1.ExtraValue{}
		for k, v := range extra {
			u.Extra[k] = v1beta1.ExtraValue(v)
		}
	}
	return u
}

// defaultPlan names the plan when the class has exactly one and the user
// named none, in the class's reference style.
func (w *Webhook) defaultPlan(ctx context.Context, inst *v1beta1.ServiceInstance) {
	s := &inst.Spec
	if planNamed(s) {
		return
	}
	plans, err := w.plansOfClass(ctx, inst)
	if err != nil || len(plans) != 1 {
		return
	}
	p := plans[0]
	switch {
	case s.ClusterServiceClassExternalName != "":
		s.ClusterServicePlanExternalName = p.ExternalName
	case s.ClusterServiceClassExternalID != "":
		s.ClusterServicePlanExternalID = p.ExternalID
	case s.ClusterServiceClassName != "":
		s.ClusterServicePlanName = p.Name
	case s.ServiceClassExternalName != "":
		s.ServicePlanExternalName = p.ExternalName
	case s.ServiceClassExternalID != "":
		s.ServicePlanExternalID = p.ExternalID
	case s.ServiceClassName != "":
		s.ServicePlanName = p.Name
	}
}

func planNamed(s *v1beta1.ServiceInstanceSpec) bool {
	return s.ClusterServicePlanExternalName != "" || s.ClusterServicePlanExternalID != "" || s.ClusterServicePlanName != "" ||
		s.ServicePlanExternalName != "" || s.ServicePlanExternalID != "" || s.ServicePlanName != ""
}
