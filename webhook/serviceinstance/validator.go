package serviceinstance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/offering"
	"github.com/servicecatalog/service-catalog/parameters"
	"github.com/servicecatalog/service-catalog/webhook/schemacheck"
)

var specPath = field.NewPath("spec")

// ValidateCreate checks a new instance against the catalog.
func (w *Webhook) ValidateCreate(ctx context.Context, inst *v1beta1.ServiceInstance) (admission.Warnings, error) {
	return w.validate(ctx, nil, inst)
}

// ValidateUpdate checks what changed. The controller's own writes (resolved
// references) change nothing a user wrote and pass untouched.
func (w *Webhook) ValidateUpdate(ctx context.Context, old, inst *v1beta1.ServiceInstance) (admission.Warnings, error) {
	if !inst.DeletionTimestamp.IsZero() {
		return nil, nil
	}
	if !userSpecChanged(&old.Spec, &inst.Spec) {
		return nil, invalid(inst, validateAnnotations(old, inst))
	}
	return w.validate(ctx, old, inst)
}

// maxFetchRequest bounds the fetch annotation, which status copies.
const maxFetchRequest = 128

// validateAnnotations checks the values of the annotations the controller
// reads from an instance, when they are new or changed (old is nil on
// create): a value from before the check must not block the controller's
// own writes.
func validateAnnotations(old, inst *v1beta1.ServiceInstance) field.ErrorList {
	path := field.NewPath("metadata", "annotations")
	changed := func(key string) (string, bool) {
		v, ok := inst.Annotations[key]
		return v, ok && (old == nil || old.Annotations[key] != v)
	}
	var errs field.ErrorList
	if v, ok := changed(v1beta1.AnnotationMaintenanceUpgrades); ok && v != v1beta1.MaintenanceUpgradesAuto && v != v1beta1.MaintenanceUpgradesManual {
		errs = append(errs, field.NotSupported(path.Key(v1beta1.AnnotationMaintenanceUpgrades), v,
			[]string{v1beta1.MaintenanceUpgradesAuto, v1beta1.MaintenanceUpgradesManual}))
	}
	if v, ok := changed(v1beta1.AnnotationFetch); ok && len(v) > maxFetchRequest {
		errs = append(errs, field.TooLong(path.Key(v1beta1.AnnotationFetch), "", maxFetchRequest))
	}
	return errs
}

// invalid is the API error of errs; nil when there are none.
func invalid(inst *v1beta1.ServiceInstance, errs field.ErrorList) error {
	if len(errs) == 0 {
		return nil
	}
	return apierrors.NewInvalid(v1beta1.GroupVersion.WithKind("ServiceInstance").GroupKind(), inst.Name, errs)
}

// ValidateDelete allows every deletion.
func (w *Webhook) ValidateDelete(context.Context, *v1beta1.ServiceInstance) (admission.Warnings, error) {
	return nil, nil
}

func (w *Webhook) validate(ctx context.Context, old, inst *v1beta1.ServiceInstance) (admission.Warnings, error) {
	var errs field.ErrorList
	var warnings admission.Warnings
	classField, classValue := inst.Spec.ClassField()
	planField, planValue := inst.Spec.PlanField()

	class, err := offering.FindClass(ctx, w.Cache, inst)
	var notFound *offering.NotFoundError
	switch {
	case errors.As(err, &notFound):
		pending, err := offering.PendingBrokers(ctx, w.Cache, inst.Spec.IsCluster(), inst.Namespace)
		if err != nil {
			return nil, err
		}
		names, err := offering.ClassNames(ctx, w.Cache, inst.Spec.IsCluster(), inst.Namespace)
		if err != nil {
			return nil, err
		}
		if len(pending) > 0 || len(names) == 0 {
			// The catalog may still bring it: admit, and say so.
			warnings = append(warnings, fmt.Sprintf("class %q is not in the catalog yet (brokers still fetching: %s); the instance waits for it", classValue, listOrNone(pending)))
			break
		}
		e := field.NotFound(specPath.Child(classField), classValue)
		e.Detail = "no such class; the classes are: " + strings.Join(names, ", ") + closest(classValue, names)
		errs = append(errs, e)
	case err != nil:
		return nil, err
	default:
		errs = append(errs, w.validateOffering(ctx, old, inst, class, planField, planValue)...)
		errs = append(errs, w.checkExternalID(ctx, old, inst)...)
	}
	errs = append(errs, w.checkSecretAccess(ctx, old, inst)...)
	errs = append(errs, validateAnnotations(old, inst)...)
	return warnings, invalid(inst, errs)
}

// validateOffering checks the plan and the parameters once the class is
// known. The common case, a plan that exists, costs one cache lookup;
// the plan list is read only to explain a refusal.
func (w *Webhook) validateOffering(ctx context.Context, old, inst *v1beta1.ServiceInstance, class *offering.Class, planField, planValue string) field.ErrorList {
	var errs field.ErrorList
	planChanged := old == nil || planRefChanged(&old.Spec, &inst.Spec)
	if class.Removed && old == nil {
		errs = append(errs, field.Forbidden(specPath, fmt.Sprintf("class %q was removed from the broker's catalog; new instances cannot use it", class.Spec.ExternalName)))
	}
	if missing := offering.UnsupportedRequires(class.Spec.Requires); len(missing) > 0 && old == nil {
		errs = append(errs, field.Forbidden(specPath, requiresMessage(class.Spec.ExternalName, missing)))
	}
	off, err := offering.Resolve(ctx, w.Cache, inst)
	var notFound *offering.NotFoundError
	switch {
	case errors.As(err, &notFound):
		names, err := w.planNames(ctx, inst, class)
		if err != nil {
			return append(errs, field.InternalError(specPath, err))
		}
		e := field.NotFound(specPath.Child(planField), planValue)
		e.Detail = fmt.Sprintf("class %q has no such plan; its plans are: %s%s", class.Spec.ExternalName, strings.Join(names, ", "), closest(planValue, names))
		return append(errs, e)
	case err != nil:
		return append(errs, field.InternalError(specPath, err))
	}
	if off.PlanRemoved && planChanged {
		names, err := w.planNames(ctx, inst, class)
		if err != nil {
			return append(errs, field.InternalError(specPath, err))
		}
		errs = append(errs, field.Forbidden(specPath.Child(planField), fmt.Sprintf("plan %q was removed from the broker's catalog; choose another of: %s", off.Plan.ExternalName, strings.Join(names, ", "))))
	}
	if old != nil && planChanged {
		if oldOff, err := offering.Resolve(ctx, w.Cache, old); err == nil && (!oldOff.PlanUpdatable() || !off.PlanUpdatable()) {
			fixed := oldOff.Plan.ExternalName
			if oldOff.PlanUpdatable() {
				fixed = off.Plan.ExternalName
			}
			errs = append(errs, field.Forbidden(specPath.Child(planField), fmt.Sprintf("the plan cannot change from %q to %q: plan %q is not updatable; create a new instance instead", oldOff.Plan.ExternalName, off.Plan.ExternalName, fixed)))
		}
	}
	partial := len(inst.Spec.ParametersFrom) > 0
	paramsPath := specPath.Child("parameters")
	switch {
	case old == nil:
		errs = append(errs, schemacheck.Check(w.Schemas, off.Plan.InstanceCreateParameterSchema, inst.Spec.Parameters, partial, paramsPath)...)
	case planChanged || !equality.Semantic.DeepEqual(old.Spec.Parameters, inst.Spec.Parameters):
		errs = append(errs, schemacheck.Check(w.Schemas, off.Plan.InstanceUpdateParameterSchema, changedParameters(old, inst), true, paramsPath)...)
	}
	return errs
}

// planNames lists the external names of the class's plans still offered.
func (w *Webhook) planNames(ctx context.Context, inst *v1beta1.ServiceInstance, class *offering.Class) ([]string, error) {
	plans, err := offering.PlansOfClass(ctx, w.Cache, class, inst.Namespace)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, p := range plans {
		if !p.Removed {
			names = append(names, p.ExternalName)
		}
	}
	return names, nil
}

func planRefChanged(old, updated *v1beta1.ServiceInstanceSpec) bool {
	of, ov := old.PlanField()
	nf, nv := updated.PlanField()
	return of != nf || ov != nv
}

// changedParameters is what an update sends: the parameters added or
// changed since old.
func changedParameters(old, inst *v1beta1.ServiceInstance) *runtime.RawExtension {
	var before, after map[string]any
	if old.Spec.Parameters != nil {
		_ = json.Unmarshal(old.Spec.Parameters.Raw, &before)
	}
	if inst.Spec.Parameters != nil {
		_ = json.Unmarshal(inst.Spec.Parameters.Raw, &after)
	}
	raw, _ := json.Marshal(parameters.Diff(before, after))
	return &runtime.RawExtension{Raw: raw}
}
func listOrNone(names []string) string {
	if len(names) == 0 {
		return "none registered yet"
	}
	return strings.Join(names, ", ")
}

// requiresMessage says why a class that requires what Kubernetes cannot
// provide is refused, rather than provisioned and then half working.
func requiresMessage(class string, missing []string) string {
	return fmt.Sprintf("class %q requires %s, which the Service Catalog on Kubernetes cannot provide (the OSB spec says a platform that cannot must not use the service); choose another class",
		class, strings.Join(missing, " and "))
}
