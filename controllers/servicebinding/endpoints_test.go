package servicebinding

import (
	"testing"

	"github.com/stretchr/testify/assert"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/offering"
	"github.com/servicecatalog/service-catalog/osb"
)

// TestRecordEndpoints: endpoints and volume mounts of a bind answer go
// into status, a device's mount configuration by its names only.
func TestRecordEndpoints(t *testing.T) {
	b := &v1beta1.ServiceBinding{}
	recordEndpoints(b, answer{
		endpoints: []osb.Endpoint{{Host: "db.example.internal", Ports: []string{"5432", "9000-9010"}}},
		volumeMounts: []osb.VolumeMount{{Driver: "nfs", ContainerDir: "/data", Mode: "rw", DeviceType: "shared",
			Device: osb.VolumeDevice{VolumeID: "vol-1", MountConfig: map[string]any{"username": "u", "password": "volume-canary"}}}},
	})
	assert.Equal(t, []v1beta1.BindingEndpoint{{Host: "db.example.internal", Ports: []string{"5432", "9000-9010"}}}, b.Status.Endpoints)
	assert.Equal(t, []v1beta1.BindingVolumeMount{{Driver: "nfs", ContainerDir: "/data", Mode: "rw", DeviceType: "shared", VolumeID: "vol-1",
		MountConfigKeys: []string{"password", "username"}}}, b.Status.VolumeMounts)
	assert.NotContains(t, b.Status.VolumeMounts[0].MountConfigKeys, "volume-canary")

	recordEndpoints(b, answer{})
	assert.Nil(t, b.Status.Endpoints, "an answer without endpoints clears them")
	assert.Nil(t, b.Status.VolumeMounts)
}

// TestServiceBindingEntries: type and provider are added when the
// credentials lack them in any case, an annotation replaces the broker's,
// and what was added stays out of the env Secret.
func TestServiceBindingEntries(t *testing.T) {
	off := &offering.Offering{BrokerName: "sample", Class: v1beta1.CommonServiceClassSpec{ExternalName: "db", Tags: []string{"postgresql"}}}
	data := map[string][]byte{"password": []byte("p")}
	added := addServiceBindingEntries(data, &v1beta1.ServiceBinding{}, off)
	assert.Equal(t, "postgresql", string(data["type"]))
	assert.Equal(t, "sample", string(data["provider"]))
	assert.ElementsMatch(t, []string{"type", "provider"}, added)
	assert.Equal(t, map[string][]byte{"password": []byte("p")}, without(data, added))

	fromBroker := map[string][]byte{"TYPE": []byte("mysql")}
	added = addServiceBindingEntries(fromBroker, &v1beta1.ServiceBinding{}, off)
	assert.NotContains(t, fromBroker, "type", "the broker's TYPE is kept, not doubled (DB_TYPE would clash)")
	assert.Equal(t, []string{"provider"}, added)

	overridden := map[string][]byte{"Type": []byte("mysql")}
	addServiceBindingEntries(overridden, &v1beta1.ServiceBinding{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{v1beta1.AnnotationBindingType: "mariadb"}}}, off)
	assert.Equal(t, map[string][]byte{"type": []byte("mariadb"), "provider": []byte("sample")}, overridden, "the annotation replaces the broker's entry")
}
