package intern

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
)

// Transform is a cache transform: it shares what instances, bindings and
// metadata-only objects (Secrets, namespaces) have in common with the
// objects stored before. Values unique to an object (its name, uid,
// resourceVersion, IDs) are left alone, and so are other kinds.
func (t *Table) Transform(in any) (any, error) {
	switch in.(type) {
	case *v1beta1.ServiceInstance, *v1beta1.ServiceBinding, *metav1.PartialObjectMetadata:
	default:
		return in, nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	switch o := in.(type) {
	case *v1beta1.ServiceInstance:
		t.meta(&o.TypeMeta, &o.ObjectMeta)
		t.instanceSpec(&o.Spec)
		t.instanceStatus(&o.Status)
	case *v1beta1.ServiceBinding:
		t.meta(&o.TypeMeta, &o.ObjectMeta)
		t.bindingSpec(&o.Spec)
		t.bindingStatus(&o.Status)
	case *metav1.PartialObjectMetadata:
		t.meta(&o.TypeMeta, &o.ObjectMeta)
	}
	return in, nil
}

func (t *Table) meta(tm *metav1.TypeMeta, m *metav1.ObjectMeta) {
	t.strp(&tm.APIVersion)
	t.strp(&tm.Kind)
	t.strp(&m.Namespace)
	m.Labels = t.stringMap(m.Labels)
	// Annotations are left alone: kubectl apply keeps a copy of the whole
	// object in one, which no other object shares.
	m.Finalizers = t.list(m.Finalizers)
	for i := range m.OwnerReferences {
		t.strp(&m.OwnerReferences[i].APIVersion)
		t.strp(&m.OwnerReferences[i].Kind)
	}
}

func (t *Table) instanceSpec(s *v1beta1.ServiceInstanceSpec) {
	t.planReference(&s.PlanReference)
	if r := s.ClusterServiceClassRef; r != nil {
		t.strp(&r.Name)
	}
	if r := s.ClusterServicePlanRef; r != nil {
		t.strp(&r.Name)
	}
	if r := s.ServiceClassRef; r != nil {
		t.strp(&r.Name)
	}
	if r := s.ServicePlanRef; r != nil {
		t.strp(&r.Name)
	}
	t.raw(s.Parameters)
	t.parametersFrom(s.ParametersFrom)
	s.UserInfo = t.user(s.UserInfo)
}

func (t *Table) planReference(r *v1beta1.PlanReference) {
	for _, p := range []*string{
		&r.ClusterServiceClassExternalName, &r.ClusterServicePlanExternalName,
		&r.ClusterServiceClassExternalID, &r.ClusterServicePlanExternalID,
		&r.ClusterServiceClassName, &r.ClusterServicePlanName,
		&r.ServiceClassExternalName, &r.ServicePlanExternalName,
		&r.ServiceClassExternalID, &r.ServicePlanExternalID,
		&r.ServiceClassName, &r.ServicePlanName,
	} {
		t.strp(p)
	}
}

func (t *Table) parametersFrom(from []v1beta1.ParametersFromSource) {
	for _, f := range from {
		if f.SecretKeyRef != nil {
			t.strp(&f.SecretKeyRef.Name)
			t.strp(&f.SecretKeyRef.Key)
		}
	}
}

func (t *Table) instanceStatus(s *v1beta1.ServiceInstanceStatus) {
	t.conditions(s.Conditions)
	t.strp(&s.UserSpecifiedClassName)
	t.strp(&s.UserSpecifiedPlanName)
	t.strp(&s.OrphanMitigationCause)
	t.strp(&s.AvailableMaintenanceVersion)
	s.CurrentOperation = v1beta1.ServiceInstanceOperation(t.str(string(s.CurrentOperation)))
	s.ProvisionStatus = v1beta1.ProvisionStatus(t.str(string(s.ProvisionStatus)))
	s.DeprovisionStatus = v1beta1.DeprovisionStatus(t.str(string(s.DeprovisionStatus)))
	t.properties(s.InProgressProperties)
	t.properties(s.ExternalProperties)
	if s.Metadata != nil {
		s.Metadata.Labels = t.stringMap(s.Metadata.Labels)
		t.raw(s.Metadata.Attributes)
	}
	if f := s.Fetched; f != nil {
		t.strp(&f.PlanExternalID)
		t.strp(&f.MaintenanceInfoVersion)
		t.raw(f.Parameters)
	}
}

func (t *Table) bindingSpec(s *v1beta1.ServiceBindingSpec) {
	t.raw(s.Parameters)
	t.parametersFrom(s.ParametersFrom)
	s.UserInfo = t.user(s.UserInfo)
}

func (t *Table) bindingStatus(s *v1beta1.ServiceBindingStatus) {
	t.conditions(s.Conditions)
	t.strp(&s.OrphanMitigationCause)
	s.CurrentOperation = v1beta1.ServiceBindingOperation(t.str(string(s.CurrentOperation)))
	s.UnbindStatus = v1beta1.UnbindStatus(t.str(string(s.UnbindStatus)))
	t.properties(s.InProgressProperties)
	t.properties(s.ExternalProperties)
	s.SecretKeys = t.list(s.SecretKeys)
}

// conditions shares each condition's type, status, reason and message:
// all Ready instances of a plan say the same.
func (t *Table) conditions(cs []metav1.Condition) {
	for i := range cs {
		c := &cs[i]
		t.strp(&c.Type)
		c.Status = metav1.ConditionStatus(t.str(string(c.Status)))
		t.strp(&c.Reason)
		t.strp(&c.Message)
	}
}

func (t *Table) properties(p *v1beta1.PropertiesState) {
	if p == nil {
		return
	}
	for _, s := range []*string{
		&p.ClusterServicePlanExternalName, &p.ClusterServicePlanExternalID,
		&p.ServicePlanExternalName, &p.ServicePlanExternalID,
		&p.ParameterChecksum, &p.MaintenanceInfoVersion,
	} {
		t.strp(s)
	}
	t.raw(p.Parameters)
	p.UserInfo = t.user(p.UserInfo)
}
