package osb

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
)

func bindingPath(instanceID, bindingID string) string {
	return instancePath(instanceID) + "/service_bindings/" + url.PathEscape(bindingID)
}

// BindRequest asks the broker for a binding's credentials.
type BindRequest struct {
	InstanceID   string
	BindingID    string
	ServiceID    string
	PlanID       string
	Context      *KubernetesContext
	BindResource map[string]any
	Parameters   map[string]any
	Identity     *OriginatingIdentity
	// Synchronous leaves out accepts_incomplete=true: an asynchronous bind
	// needs bindings_retrievable, to fetch the credentials afterwards.
	Synchronous bool
	// PredecessorBindingID asks for a successor of that binding of the
	// same instance (plans with binding_rotatable): both stay valid until
	// the predecessor is unbound or expires.
	PredecessorBindingID string
}

// BindResponse is a successful bind. Credentials are only in it for a
// synchronous bind; an asynchronous one fetches them with GetBinding.
type BindResponse struct {
	Async        bool
	Exists       bool
	Operation    string
	Credentials  map[string]any
	Metadata     json.RawMessage
	Endpoints    []Endpoint
	VolumeMounts []VolumeMount
}

// Endpoint is a network endpoint of a binding (OSB 2.17 endpoints).
type Endpoint struct {
	Host     string   `json:"host"`
	Ports    []string `json:"ports"`
	Protocol string   `json:"protocol,omitempty"`
}

// VolumeMount is a volume of a binding (OSB volume_mounts).
type VolumeMount struct {
	Driver       string       `json:"driver"`
	ContainerDir string       `json:"container_dir"`
	Mode         string       `json:"mode"`
	DeviceType   string       `json:"device_type"`
	Device       VolumeDevice `json:"device"`
}

// VolumeDevice is the device of a VolumeMount.
type VolumeDevice struct {
	VolumeID    string         `json:"volume_id"`
	MountConfig map[string]any `json:"mount_config,omitempty"`
}

type bindBody struct {
	ServiceID    string             `json:"service_id"`
	PlanID       string             `json:"plan_id"`
	Context      *KubernetesContext `json:"context,omitempty"`
	BindResource map[string]any     `json:"bind_resource,omitempty"`
	Parameters   map[string]any     `json:"parameters,omitempty"`
	Predecessor  string             `json:"predecessor_binding_id,omitempty"`
}

type bindingBody struct {
	Operation       string          `json:"operation"`
	Credentials     map[string]any  `json:"credentials"`
	Metadata        json.RawMessage `json:"metadata"`
	SyslogDrainURL  string          `json:"syslog_drain_url"`
	RouteServiceURL string          `json:"route_service_url"`
	Parameters      map[string]any  `json:"parameters"`
	// Kept raw and read leniently: a malformed entry must not
	// fail a bind whose credentials the broker has already made.
	Endpoints    json.RawMessage `json:"endpoints"`
	VolumeMounts json.RawMessage `json:"volume_mounts"`
}

// lenient decodes a list, keeping the entries that decode and dropping
// the others.
func lenient[T any](raw json.RawMessage) []T {
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		return nil
	}
	var out []T
	for _, item := range items {
		var v T
		if json.Unmarshal(item, &v) == nil {
			out = append(out, v)
		}
	}
	return out
}

// Bind sends PUT /v2/service_instances/:iid/service_bindings/:bid.
// 200, 201 and 202 are success.
func (c *Client) Bind(ctx context.Context, r *BindRequest) (_ *BindResponse, err error) {
	defer c.redact(&err)
	query := acceptsIncomplete
	if r.Synchronous {
		query = nil
	}
	var body bindingBody
	status, err := c.create(ctx, request{
		method: http.MethodPut, path: bindingPath(r.InstanceID, r.BindingID), query: query, identity: r.Identity,
		body: bindBody{ServiceID: r.ServiceID, PlanID: r.PlanID, Context: r.Context, BindResource: r.BindResource, Parameters: r.Parameters, Predecessor: r.PredecessorBindingID},
	}, &body)
	if err != nil {
		return nil, err
	}
	return &BindResponse{
		Async: status == http.StatusAccepted, Exists: status == http.StatusOK,
		Operation: body.Operation, Credentials: body.Credentials, Metadata: body.Metadata,
		Endpoints: lenient[Endpoint](body.Endpoints), VolumeMounts: lenient[VolumeMount](body.VolumeMounts),
	}, nil
}

// UnbindRequest asks the broker to delete a binding.
type UnbindRequest struct {
	InstanceID string
	BindingID  string
	ServiceID  string
	PlanID     string
	Identity   *OriginatingIdentity
}

// UnbindResponse is a successful unbind.
type UnbindResponse = DeleteResponse

// Unbind sends DELETE /v2/service_instances/:iid/service_bindings/:bid.
// 200, 202 and 410 are success.
func (c *Client) Unbind(ctx context.Context, r *UnbindRequest) (_ *UnbindResponse, err error) {
	defer c.redact(&err)
	return c.delete(ctx, bindingPath(r.InstanceID, r.BindingID), r.ServiceID, r.PlanID, r.Identity)
}

// GetBindingRequest fetches a binding (needs bindings_retrievable).
type GetBindingRequest struct {
	InstanceID string
	BindingID  string
	ServiceID  string
	PlanID     string
}

// GetBindingResponse is the broker's view of a binding.
type GetBindingResponse struct {
	Credentials  map[string]any
	Parameters   map[string]any
	Metadata     json.RawMessage
	Endpoints    []Endpoint
	VolumeMounts []VolumeMount
}

// GetBinding sends GET /v2/service_instances/:iid/service_bindings/:bid.
func (c *Client) GetBinding(ctx context.Context, r *GetBindingRequest) (_ *GetBindingResponse, err error) {
	defer c.redact(&err)
	q := url.Values{}
	setIf(q, "service_id", r.ServiceID)
	setIf(q, "plan_id", r.PlanID)
	resp, err := c.do(ctx, request{method: http.MethodGet, path: bindingPath(r.InstanceID, r.BindingID), query: q})
	if err != nil {
		return nil, err
	}
	if resp.status != http.StatusOK {
		return nil, resp.unexpected()
	}
	var body bindingBody
	if err := resp.decode(&body); err != nil {
		return nil, err
	}
	return &GetBindingResponse{Credentials: body.Credentials, Parameters: body.Parameters, Metadata: body.Metadata,
		Endpoints: lenient[Endpoint](body.Endpoints), VolumeMounts: lenient[VolumeMount](body.VolumeMounts)}, nil
}

// BindingLastOperationRequest polls an asynchronous bind or unbind.
type BindingLastOperationRequest struct {
	InstanceID string
	BindingID  string
	ServiceID  string
	PlanID     string
	Operation  string
}

// PollBindingLastOperation sends
// GET /v2/service_instances/:iid/service_bindings/:bid/last_operation.
func (c *Client) PollBindingLastOperation(ctx context.Context, r *BindingLastOperationRequest) (_ *LastOperationResponse, err error) {
	defer c.redact(&err)
	return c.pollLastOperation(ctx, bindingPath(r.InstanceID, r.BindingID)+"/last_operation", r.ServiceID, r.PlanID, r.Operation)
}
