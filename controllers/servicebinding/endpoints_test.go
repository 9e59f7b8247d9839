package servicebinding

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
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
