package broker

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/servicecatalog/service-catalog/osb"
)

// Keys the auth Secrets hold.
const (
	keyUsername = "username"
	keyPassword = "password"
	keyToken    = "token"
)

// clientConfig builds the OSB client configuration of a broker, reading its
// auth Secret directly from the API server: the manager caches no Secrets.
func (r *Reconciler) clientConfig(ctx context.Context, broker brokerObject) (osb.Config, error) {
	spec := broker.GetCommonSpec()
	cfg := osb.Config{
		URL:                   spec.URL,
		CABundle:              spec.CABundle,
		InsecureSkipTLSVerify: spec.InsecureSkipTLSVerify,
		Timeout:               r.RequestTimeout,
		Transport:             r.Transport,
	}
	basic, bearer := r.scope.secretRefs(broker)
	switch {
	case basic != nil:
		data, err := r.secretData(ctx, *basic, keyUsername, keyPassword)
		if err != nil {
			return cfg, err
		}
		cfg.Auth = &osb.Auth{Basic: &osb.BasicAuth{Username: data[keyUsername], Password: data[keyPassword]}}
	case bearer != nil:
		data, err := r.secretData(ctx, *bearer, keyToken)
		if err != nil {
			return cfg, err
		}
		cfg.Auth = &osb.Auth{Bearer: &osb.BearerAuth{Token: data[keyToken]}}
	}
	return cfg, nil
}

// authSecretError says what is wrong with an auth Secret, never its content.
type authSecretError struct{ msg string }

func (e *authSecretError) Error() string { return e.msg }

func (r *Reconciler) secretData(ctx context.Context, key types.NamespacedName, keys ...string) (map[string]string, error) {
	var secret corev1.Secret
	if err := r.APIReader.Get(ctx, key, &secret); err != nil {
		if client.IgnoreNotFound(err) == nil {
			return nil, &authSecretError{fmt.Sprintf("auth Secret %s not found", key)}
		}
		return nil, fmt.Errorf("read auth Secret %s: %w", key, err)
	}
	out := map[string]string{}
	for _, k := range keys {
		v, ok := secret.Data[k]
		if !ok || len(v) == 0 {
			return nil, &authSecretError{fmt.Sprintf("auth Secret %s has no %q key", key, k)}
		}
		out[k] = string(v)
	}
	return out, nil
}
