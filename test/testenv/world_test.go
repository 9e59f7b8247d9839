package testenv

import (
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
)

func TestLogBufferTakesConcurrentWrites(t *testing.T) {
	var b LogBuffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				_, _ = b.Write([]byte("line\n"))
				_ = b.String()
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, strings.Repeat("line\n", 800), b.String())

	b.Logger().Info("canary", "key", "value")
	assert.Contains(t, b.String(), "canary")
}

func TestConditions(t *testing.T) {
	conds := []metav1.Condition{{Type: v1beta1.ConditionReady, Status: metav1.ConditionTrue}}
	inst := &v1beta1.ServiceInstance{Status: v1beta1.ServiceInstanceStatus{Conditions: conds}}
	binding := &v1beta1.ServiceBinding{Status: v1beta1.ServiceBindingStatus{Conditions: conds}}
	assert.Equal(t, conds, Conditions(inst))
	assert.Equal(t, conds, Conditions(binding))
	assert.Nil(t, Conditions(&v1beta1.ClusterServiceBroker{}))
}
