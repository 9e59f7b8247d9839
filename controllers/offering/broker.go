package offering

import (
	"context"
	"fmt"
	"net/http"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/osb"
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
}

// GetBroker reads the broker of an offering; namespace is the instance's.
func (o *Offering) GetBroker(ctx context.Context, c client.Reader, namespace string) (Broker, error) {
	if o.Cluster {
		b := &v1beta1.ClusterServiceBroker{}
		return b, c.Get(ctx, client.ObjectKey{Name: o.BrokerName}, b)
	}
	b := &v1beta1.ServiceBroker{}
	return b, c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: o.BrokerName}, b)
}

// AuthSecretError says what is wrong with a broker's auth Secret, never
// its content.
type AuthSecretError struct{ msg string }

func (e *AuthSecretError) Error() string { return e.msg }

// ClientOptions tune the OSB clients made by ClientConfig.
type ClientOptions struct {
	// Timeout bounds each request; zero means osb's default.
	Timeout time.Duration
	// Transport, when set, carries the requests (tests).
	Transport http.RoundTripper
}

// ClientConfig builds the OSB client configuration of a broker, reading its
// auth Secret with secrets, which should read the API server directly: the
// manager caches no Secrets.
func ClientConfig(ctx context.Context, secrets client.Reader, broker Broker, opts ClientOptions) (osb.Config, error) {
	spec := broker.GetCommonSpec()
	cfg := osb.Config{
		URL:                   spec.URL,
		CABundle:              spec.CABundle,
		InsecureSkipTLSVerify: spec.InsecureSkipTLSVerify,
		Timeout:               opts.Timeout,
		Transport:             opts.Transport,
	}
	basic, bearer := authSecrets(broker)
	switch {
	case basic != nil:
		data, err := secretData(ctx, secrets, *basic, keyUsername, keyPassword)
		if err != nil {
			return cfg, err
		}
		cfg.Auth = &osb.Auth{Basic: &osb.BasicAuth{Username: data[keyUsername], Password: data[keyPassword]}}
	case bearer != nil:
		data, err := secretData(ctx, secrets, *bearer, keyToken)
		if err != nil {
			return cfg, err
		}
		cfg.Auth = &osb.Auth{Bearer: &osb.BearerAuth{Token: data[keyToken]}}
	}
	return cfg, nil
}

// authSecrets names the Secrets of basic and bearer credentials, if any.
func authSecrets(broker Broker) (basic, bearer *types.NamespacedName) {
	switch b := broker.(type) {
	case *v1beta1.ClusterServiceBroker:
		if auth := b.Spec.AuthInfo; auth != nil {
			if auth.Basic != nil && auth.Basic.SecretRef != nil {
				basic = &types.NamespacedName{Namespace: auth.Basic.SecretRef.Namespace, Name: auth.Basic.SecretRef.Name}
			}
			if auth.Bearer != nil && auth.Bearer.SecretRef != nil {
				bearer = &types.NamespacedName{Namespace: auth.Bearer.SecretRef.Namespace, Name: auth.Bearer.SecretRef.Name}
			}
		}
	case *v1beta1.ServiceBroker:
		if auth := b.Spec.AuthInfo; auth != nil {
			if auth.Basic != nil && auth.Basic.SecretRef != nil {
				basic = &types.NamespacedName{Namespace: b.Namespace, Name: auth.Basic.SecretRef.Name}
			}
			if auth.Bearer != nil && auth.Bearer.SecretRef != nil {
				bearer = &types.NamespacedName{Namespace: b.Namespace, Name: auth.Bearer.SecretRef.Name}
			}
		}
	}
	return basic, bearer
}

func secretData(ctx context.Context, c client.Reader, key types.NamespacedName, keys ...string) (map[string]string, error) {
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
