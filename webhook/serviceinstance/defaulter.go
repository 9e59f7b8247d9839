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
	"k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/offering"
	"github.com/servicecatalog/service-catalog/osb/schema"
	"github.com/servicecatalog/service-catalog/webhook/access"
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
	Access access.SecretAccess
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
	switch {
	case old == nil || userSpecChanged(&old.Spec, &inst.Spec) || !equality.Semantic.DeepEqual(old.Spec.UserInfo, inst.Spec.UserInfo):
		// Whoever changes the spec, or touches userInfo, is the user the
		// broker hears of: a client never chooses the identity.
		inst.Spec.UserInfo = v1beta1.NewUserInfo(req.UserInfo)
	default:
		// The controller's own writes (finalizer, resolved references) keep
		// the user who last changed the spec.
		inst.Spec.UserInfo = old.Spec.UserInfo
	}
	if old == nil {
		w.defaultPlan(ctx, inst)
	}
	// The retired project's clients select instances by these labels; they
	// follow the resolved references, whoever writes the instance.
	v1beta1.SetLookupLabels(inst, inst.LookupLabels())
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

// defaultPlan names the plan when the class has exactly one and the user
// named none, in the class's reference style.
func (w *Webhook) defaultPlan(ctx context.Context, inst *v1beta1.ServiceInstance) {
	if inst.Spec.PlanNamed() {
		return
	}
	plans, err := w.plansOfClass(ctx, inst)
	if err != nil || len(plans) != 1 {
		return
	}
	inst.Spec.SetPlan(plans[0].Name, plans[0].ExternalName, plans[0].ExternalID)
}

// plansOfClass lists the plans of the class inst names.
func (w *Webhook) plansOfClass(ctx context.Context, inst *v1beta1.ServiceInstance) ([]offering.PlanSummary, error) {
	class, err := offering.FindClass(ctx, w.Cache, inst)
	if err != nil {
		return nil, err
	}
	return offering.PlansOfClass(ctx, w.Cache, class, inst.Namespace)
}
