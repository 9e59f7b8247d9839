package v1beta1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// Accessors that let one implementation serve the cluster and the
// namespaced kind of brokers, classes and plans.

// GetCommonSpec returns the spec fields both broker kinds share.
func (b *ClusterServiceBroker) GetCommonSpec() *CommonServiceBrokerSpec {
	return &b.Spec.CommonServiceBrokerSpec
}

// GetCommonStatus returns the broker's status.
func (b *ClusterServiceBroker) GetCommonStatus() *CommonServiceBrokerStatus { return &b.Status }

// GetCommonSpec returns the spec fields both broker kinds share.
func (b *ServiceBroker) GetCommonSpec() *CommonServiceBrokerSpec {
	return &b.Spec.CommonServiceBrokerSpec
}

// GetCommonStatus returns the broker's status.
func (b *ServiceBroker) GetCommonStatus() *CommonServiceBrokerStatus { return &b.Status }

// GetCommonSpec returns the spec fields both class kinds share.
func (c *ClusterServiceClass) GetCommonSpec() *CommonServiceClassSpec {
	return &c.Spec.CommonServiceClassSpec
}

// GetCommonStatus returns the class's status.
func (c *ClusterServiceClass) GetCommonStatus() *CommonServiceClassStatus { return &c.Status }

// GetBrokerName returns the broker that offers the class.
func (c *ClusterServiceClass) GetBrokerName() string { return c.Spec.ClusterServiceBrokerName }

// SetBrokerName sets the broker that offers the class.
func (c *ClusterServiceClass) SetBrokerName(name string) { c.Spec.ClusterServiceBrokerName = name }

// GetCommonSpec returns the spec fields both class kinds share.
func (c *ServiceClass) GetCommonSpec() *CommonServiceClassSpec { return &c.Spec.CommonServiceClassSpec }

// GetCommonStatus returns the class's status.
func (c *ServiceClass) GetCommonStatus() *CommonServiceClassStatus { return &c.Status }

// GetBrokerName returns the broker that offers the class.
func (c *ServiceClass) GetBrokerName() string { return c.Spec.ServiceBrokerName }

// SetBrokerName sets the broker that offers the class.
func (c *ServiceClass) SetBrokerName(name string) { c.Spec.ServiceBrokerName = name }

// GetCommonSpec returns the spec fields both plan kinds share.
func (p *ClusterServicePlan) GetCommonSpec() *CommonServicePlanSpec {
	return &p.Spec.CommonServicePlanSpec
}

// GetCommonStatus returns the plan's status.
func (p *ClusterServicePlan) GetCommonStatus() *CommonServicePlanStatus { return &p.Status }

// GetBrokerName returns the broker that offers the plan.
func (p *ClusterServicePlan) GetBrokerName() string { return p.Spec.ClusterServiceBrokerName }

// SetBrokerName sets the broker that offers the plan.
func (p *ClusterServicePlan) SetBrokerName(name string) { p.Spec.ClusterServiceBrokerName = name }

// GetClassName returns the object name of the plan's class.
func (p *ClusterServicePlan) GetClassName() string { return p.Spec.ClusterServiceClassRef.Name }

// SetClassName sets the object name of the plan's class.
func (p *ClusterServicePlan) SetClassName(name string) { p.Spec.ClusterServiceClassRef.Name = name }

// GetCommonSpec returns the spec fields both plan kinds share.
func (p *ServicePlan) GetCommonSpec() *CommonServicePlanSpec { return &p.Spec.CommonServicePlanSpec }

// GetCommonStatus returns the plan's status.
func (p *ServicePlan) GetCommonStatus() *CommonServicePlanStatus { return &p.Status }

// GetBrokerName returns the broker that offers the plan.
func (p *ServicePlan) GetBrokerName() string { return p.Spec.ServiceBrokerName }

// SetBrokerName sets the broker that offers the plan.
func (p *ServicePlan) SetBrokerName(name string) { p.Spec.ServiceBrokerName = name }

// GetClassName returns the object name of the plan's class.
func (p *ServicePlan) GetClassName() string { return p.Spec.ServiceClassRef.Name }

// SetClassName sets the object name of the plan's class.
func (p *ServicePlan) SetClassName(name string) { p.Spec.ServiceClassRef.Name = name }

// GetConditions returns the instance's conditions, to change in place.
func (in *ServiceInstance) GetConditions() *[]metav1.Condition { return &in.Status.Conditions }

// SetObservedGeneration records the spec generation the status describes.
func (in *ServiceInstance) SetObservedGeneration(generation int64) {
	in.Status.ObservedGeneration = generation
}

// GetConditions returns the binding's conditions, to change in place.
func (in *ServiceBinding) GetConditions() *[]metav1.Condition { return &in.Status.Conditions }

// SetObservedGeneration records the spec generation the status describes.
func (in *ServiceBinding) SetObservedGeneration(generation int64) {
	in.Status.ObservedGeneration = generation
}
