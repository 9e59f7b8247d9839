package v1beta1

import (
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

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

// AuthType says which authInfo field names a broker's auth Secret.
type AuthType string

const (
	// AuthBasic is authInfo.basic: a Secret with "username" and "password".
	AuthBasic AuthType = "basic"
	// AuthBearer is authInfo.bearer: a Secret with "token".
	AuthBearer AuthType = "bearer"
)

// AuthSecretReference is a Secret a broker's authInfo names.
type AuthSecretReference struct {
	// Type is the authInfo field that names it.
	Type AuthType
	// Namespace and Name locate the Secret: a namespaced broker's Secrets
	// are in its own namespace.
	Namespace, Name string
}

// GetAuthSecrets lists the Secrets the broker's authInfo names, basic
// first. The controller reads exactly these and admission checks exactly
// these, so both must come from here.
func (b *ClusterServiceBroker) GetAuthSecrets() []AuthSecretReference {
	var out []AuthSecretReference
	if a := b.Spec.AuthInfo; a != nil {
		if a.Basic != nil && a.Basic.SecretRef != nil {
			out = append(out, AuthSecretReference{AuthBasic, a.Basic.SecretRef.Namespace, a.Basic.SecretRef.Name})
		}
		if a.Bearer != nil && a.Bearer.SecretRef != nil {
			out = append(out, AuthSecretReference{AuthBearer, a.Bearer.SecretRef.Namespace, a.Bearer.SecretRef.Name})
		}
	}
	return out
}

// GetAuthSecrets lists the Secrets the broker's authInfo names, basic
// first, all in the broker's namespace.
func (b *ServiceBroker) GetAuthSecrets() []AuthSecretReference {
	var out []AuthSecretReference
	if a := b.Spec.AuthInfo; a != nil {
		if a.Basic != nil && a.Basic.SecretRef != nil {
			out = append(out, AuthSecretReference{AuthBasic, b.Namespace, a.Basic.SecretRef.Name})
		}
		if a.Bearer != nil && a.Bearer.SecretRef != nil {
			out = append(out, AuthSecretReference{AuthBearer, b.Namespace, a.Bearer.SecretRef.Name})
		}
	}
	return out
}

// CredentialsSecretName is the Secret that receives a binding's
// credentials: spec.secretName, else the binding's name.
func (in *ServiceBinding) CredentialsSecretName() string {
	if in.Spec.SecretName != "" {
		return in.Spec.SecretName
	}
	return in.Name
}

// EnvSecretNameOf is the Secret, beside the credentials, whose keys are the
// environment variable names the pod injector exposes through envFrom.
func EnvSecretNameOf(bindingName string) string { return bindingName + "-env" }

// NewUserInfo copies the user of an admission request into the form specs
// record.
func NewUserInfo(u authenticationv1.UserInfo) *UserInfo {
	out := &UserInfo{Username: u.Username, UID: u.UID, Groups: u.Groups}
	if len(u.Extra) > 0 {
		out.Extra = make(map[string]ExtraValue, len(u.Extra))
		for k, v := range u.Extra {
			out.Extra[k] = ExtraValue(v)
		}
	}
	return out
}
