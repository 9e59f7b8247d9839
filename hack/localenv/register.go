package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/test/testenv"
)

const (
	sampleBrokerName      = "sample-broker"
	sampleBrokerUser      = "catalog"
	sampleBrokerNamespace = "service-catalog"
)

func randomPassword() string {
	buf := make([]byte, 16)
	_, _ = rand.Read(buf)
	return hex.EncodeToString(buf)
}

// registerSampleBroker stores the broker's credentials in a Secret,
// registers it as a ClusterServiceBroker and waits until its catalog is in.
func registerSampleBroker(ctx context.Context, env *testenv.Env, url, password string) error {
	c := env.Client
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: sampleBrokerNamespace}}
	if err := c.Create(ctx, ns); err != nil {
		return err
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: sampleBrokerName + "-auth", Namespace: sampleBrokerNamespace},
		StringData: map[string]string{"username": sampleBrokerUser, "password": password},
	}
	if err := c.Create(ctx, secret); err != nil {
		return err
	}
	broker := &v1beta1.ClusterServiceBroker{ObjectMeta: metav1.ObjectMeta{Name: sampleBrokerName}}
	broker.Spec.URL = url
	broker.Spec.AuthInfo = &v1beta1.ClusterServiceBrokerAuthInfo{Basic: &v1beta1.ClusterBasicAuthConfig{
		SecretRef: &v1beta1.ObjectReference{Namespace: sampleBrokerNamespace, Name: secret.Name},
	}}
	if err := c.Create(ctx, broker); err != nil {
		return err
	}
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(broker), broker); err != nil {
			return err
		}
		if cond := meta.FindStatusCondition(broker.Status.Conditions, v1beta1.ConditionReady); cond != nil {
			if cond.Status == metav1.ConditionTrue {
				fmt.Printf(">> sample broker ready: %s\n", cond.Message)
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	cond := meta.FindStatusCondition(broker.Status.Conditions, v1beta1.ConditionReady)
	if cond != nil {
		return fmt.Errorf("broker not ready: %s: %s", cond.Reason, cond.Message)
	}
	return fmt.Errorf("broker not ready after a minute")
}
