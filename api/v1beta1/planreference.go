package v1beta1

// Methods on PlanReference: every place that reads or writes the six pairs
// of class and plan fields goes through these, so the cluster and the
// namespaced styles are handled alike everywhere.

// RefKind says how a plan reference names its class and plan.
type RefKind int

const (
	// ByExternalName names them by OSB name (…ExternalName).
	ByExternalName RefKind = iota
	// ByExternalID names them by OSB id (…ExternalID).
	ByExternalID
	// ByName names them by Kubernetes object name (…Name).
	ByName
)

// refStyle is one of the six ways to name class and plan.
type refStyle struct {
	cluster               bool
	kind                  RefKind
	classField, planField string
	class, plan           func(*PlanReference) *string
}

var refStyles = []refStyle{
	{true, ByExternalName, "clusterServiceClassExternalName", "clusterServicePlanExternalName",
		func(r *PlanReference) *string { return &r.ClusterServiceClassExternalName },
		func(r *PlanReference) *string { return &r.ClusterServicePlanExternalName }},
	{true, ByExternalID, "clusterServiceClassExternalID", "clusterServicePlanExternalID",
		func(r *PlanReference) *string { return &r.ClusterServiceClassExternalID },
		func(r *PlanReference) *string { return &r.ClusterServicePlanExternalID }},
	{true, ByName, "clusterServiceClassName", "clusterServicePlanName",
		func(r *PlanReference) *string { return &r.ClusterServiceClassName },
		func(r *PlanReference) *string { return &r.ClusterServicePlanName }},
	{false, ByExternalName, "serviceClassExternalName", "servicePlanExternalName",
		func(r *PlanReference) *string { return &r.ServiceClassExternalName },
		func(r *PlanReference) *string { return &r.ServicePlanExternalName }},
	{false, ByExternalID, "serviceClassExternalID", "servicePlanExternalID",
		func(r *PlanReference) *string { return &r.ServiceClassExternalID },
		func(r *PlanReference) *string { return &r.ServicePlanExternalID }},
	{false, ByName, "serviceClassName", "servicePlanName",
		func(r *PlanReference) *string { return &r.ServiceClassName },
		func(r *PlanReference) *string { return &r.ServicePlanName }},
}

// style is the style the class is named in (else the plan, else the first).
func (r *PlanReference) style() refStyle {
	for _, s := range refStyles {
		if *s.class(r) != "" {
			return s
		}
	}
	for _, s := range refStyles {
		if *s.plan(r) != "" {
			return s
		}
	}
	return refStyles[0]
}

// IsCluster says whether the reference names a ClusterServiceClass (true)
// or a ServiceClass of the instance's namespace (false).
func (r *PlanReference) IsCluster() bool { return r.style().cluster }

// Kind says whether class and plan are named by OSB name, OSB id or object name.
func (r *PlanReference) Kind() RefKind { return r.style().kind }

// ClassField returns the JSON name and the value of the field naming the class.
func (r *PlanReference) ClassField() (name, value string) {
	s := r.style()
	return s.classField, *s.class(r)
}

// PlanField returns the JSON name and the value of the field naming the plan.
func (r *PlanReference) PlanField() (name, value string) {
	s := r.style()
	return s.planField, *s.plan(r)
}

// PlanNamed says whether any plan field is set.
func (r *PlanReference) PlanNamed() bool {
	for _, s := range refStyles {
		if *s.plan(r) != "" {
			return true
		}
	}
	return false
}

// SetPlan names the plan in the style the class is named in, picking the
// plan's object name, OSB name or OSB id accordingly.
func (r *PlanReference) SetPlan(name, externalName, externalID string) {
	s := r.style()
	*s.plan(r) = map[RefKind]string{ByExternalName: externalName, ByExternalID: externalID, ByName: name}[s.kind]
}

// UserClassName is the class as the user named it, for status and printer
// columns: "ClusterServiceClass/cockroachdb".
func (r *PlanReference) UserClassName() string {
	kind := "ServiceClass/"
	if r.IsCluster() {
		kind = "ClusterServiceClass/"
	}
	_, v := r.ClassField()
	return kind + v
}

// UserPlanName is the plan as the user named it.
func (r *PlanReference) UserPlanName() string {
	_, v := r.PlanField()
	return v
}

// Resolved says whether the system recorded the class and plan objects.
func (s *ServiceInstanceSpec) Resolved() bool {
	return s.ClusterServicePlanRef != nil || s.ServicePlanRef != nil
}

// SetResolvedRefs records the class and plan objects the reference resolved
// to, cluster or namespaced, and reports whether that changed the spec.
func (s *ServiceInstanceSpec) SetResolvedRefs(cluster bool, class, plan string) bool {
	var changed bool
	if cluster {
		changed = s.ServiceClassRef != nil || s.ServicePlanRef != nil ||
			s.ClusterServiceClassRef == nil || s.ClusterServiceClassRef.Name != class ||
			s.ClusterServicePlanRef == nil || s.ClusterServicePlanRef.Name != plan
		s.ClusterServiceClassRef, s.ClusterServicePlanRef = &ClusterObjectReference{Name: class}, &ClusterObjectReference{Name: plan}
		s.ServiceClassRef, s.ServicePlanRef = nil, nil
		return changed
	}
	changed = s.ClusterServiceClassRef != nil || s.ClusterServicePlanRef != nil ||
		s.ServiceClassRef == nil || s.ServiceClassRef.Name != class ||
		s.ServicePlanRef == nil || s.ServicePlanRef.Name != plan
	s.ServiceClassRef, s.ServicePlanRef = &LocalObjectReference{Name: class}, &LocalObjectReference{Name: plan}
	s.ClusterServiceClassRef, s.ClusterServicePlanRef = nil, nil
	return changed
}
