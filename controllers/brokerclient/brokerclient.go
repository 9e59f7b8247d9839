// Package brokerclient makes the OSB client the instance and binding
// controllers use to reach the broker of an offering: the broker object, its
// auth Secret, and the originating identity sent with each request.
package brokerclient

import (
	"context"
	"fmt"
	"net/http"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/offering"
	"github.com/servicecatalog/service-catalog/osb"
	"github.com/servicecatalog/service-catalog/osb/reach"
)

// Keys the auth Secrets hold.
const (
	keyUsername = "username"
	keyPassword = "password"
	keyToken    = "token"
)

// Broker is a ClusterServiceBroker or a ServiceBroker.
type Broker interface {
	client.Object
	GetCommonSpec() *v1beta1.CommonServiceBrokerSpec
	GetCommonStatus() *v1beta1.CommonServiceBrokerStatus
	GetAuthSecrets() []v1beta1.AuthSecretReference
}

// GetBroker reads the broker of an offering; namespace is the instance's.
func GetBroker(ctx context.Context, c client.Reader, off *offering.Offering, namespace string) (Broker, error) {
	if off.Cluster {
		b := &v1beta1.ClusterServiceBroker{}
		return b, c.Get(ctx, client.ObjectKey{Name: off.BrokerName}, b)
	}
	b := &v1beta1.ServiceBroker{}
	return b, c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: off.BrokerName}, b)
}

// AuthSecretError says what is wrong with a broker's auth Secret, never
// its content.
type AuthSecretError struct{ msg string }

func (e *AuthSecretError) Error() string { return e.msg }

// Options tune the OSB clients made by Config.
type Options struct {
	// Timeout bounds each request; zero means osb's default.
	Timeout time.Duration
	// Transport, when set, carries the requests (tests). osb.New refuses
	// it together with a policy below, which only osb's transport enforces.
	Transport http.RoundTripper
	// NamespacedReach limits the addresses ServiceBrokers, which namespace
	// users create, are reached at: each connection's resolved address is
	// checked before anything is sent. The manager sets
	// reach.Default(API server addresses) widened or narrowed by its flags;
	// nil allows every address.
	NamespacedReach *reach.Policy
	// ClusterReach limits the addresses ClusterServiceBrokers, which only
	// cluster admins create, are reached at; nil, the default, allows every
	// address.
	ClusterReach *reach.Policy
}

// reachOf picks the address policy of broker's kind. Only a
// ClusterServiceBroker escapes the namespaced policy: any other Broker is
// held to it, so a new kind fails closed.
func (o Options) reachOf(broker Broker) *reach.Policy {
	if _, ok := broker.(*v1beta1.ClusterServiceBroker); ok {
		return o.ClusterReach
	}
	return o.NamespacedReach
}

// Config builds the OSB client configuration of a broker, reading its auth
// Secret with secrets, which should read the API server directly: the
// manager caches no Secrets.
func Config(ctx context.Context, secrets client.Reader, broker Broker, opts Options) (osb.Config, error) {
	spec := broker.GetCommonSpec()
	cfg := osb.Config{
		URL:                   spec.URL,
		CABundle:              spec.CABundle,
		InsecureSkipTLSVerify: spec.InsecureSkipTLSVerify,
		Timeout:               opts.Timeout,
		Transport:             opts.Transport,
		Reach:                 opts.reachOf(broker),
	}
	refs := broker.GetAuthSecrets()
	if len(refs) == 0 {
		return cfg, nil
	}
	// Admission refuses basic and bearer together; basic comes first.
	ref := refs[0]
	switch ref.Type {
	case v1beta1.AuthBasic:
		data, err := secretData(ctx, secrets, ref, keyUsername, keyPassword)
		if err != nil {
			return cfg, err
		}
		cfg.Auth = &osb.Auth{Basic: &osb.BasicAuth{Username: data[keyUsername], Password: data[keyPassword]}}
	case v1beta1.AuthBearer:
		data, err := secretData(ctx, secrets, ref, keyToken)
		if err != nil {
			return cfg, err
		}
		cfg.Auth = &osb.Auth{Bearer: &osb.BearerAuth{Token: data[keyToken]}}
	}
	return cfg, nil
}

func secretData(ctx context.Context, c client.Reader, ref v1beta1.AuthSecretReference, keys ...string) (map[string]string, error) {
	key := client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}
	var secret corev1.Secret
	if err := c.Get(ctx, key, &secret); err != nil {
		if client.IgnoreNotFound(err) == nil {
			return nil, &AuthSecretError{fmt.Sprintf("auth Secret %s not found", key)}
		}
		return nil, fmt.Errorf("read auth Secret %s: %w", key, err)
	}
	out := map[string]string{}
	for _, k := range keys {
		v, ok := secret.Data[k]
		if !ok || len(v) == 0 {
			return nil, &AuthSecretError{fmt.Sprintf("auth Secret %s has no %q key", key, k)}
		}
		out[k] = string(v)
	}
	return out, nil
}

// Identity is the originating identity of the user who last changed an
// instance or binding, as the Kubernetes profile defines it.
func Identity(u *v1beta1.UserInfo) *osb.OriginatingIdentity {
	if u == nil {
		return nil
	}
	extra := map[string][]string{}
	for k, v := range u.Extra {
		extra[k] = v
	}
	return &osb.OriginatingIdentity{Username: u.Username, UID: u.UID, Groups: u.Groups, Extra: extra}
}
