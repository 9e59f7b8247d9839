package osb

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// ProvisionRequest asks the broker to create an instance.
//
// The spec still requires the deprecated organization_guid and space_guid;
// when they are empty they are taken from Context (cluster id and namespace),
// as the retired Kubernetes Service Catalog did.
type ProvisionRequest struct {
	InstanceID       string
	ServiceID        string
	PlanID           string
	Context          *KubernetesContext
	Parameters       map[string]any
	MaintenanceInfo  *MaintenanceInfo
	OrganizationGUID string
	SpaceGUID        string
	Identity         *OriginatingIdentity
}

// ProvisionResponse is a successful provision.
type ProvisionResponse struct {
	// Async is true for 202 Accepted: poll last_operation with Operation.
	Async bool
	// Exists is true for 200 OK: the identical instance already existed.
	Exists       bool
	DashboardURL string
	Operation    string
	Metadata     json.RawMessage
}

type provisionBody struct {
	ServiceID        string             `json:"service_id"`
	PlanID           string             `json:"plan_id"`
	Context          *KubernetesContext `json:"context,omitempty"`
	OrganizationGUID string             `json:"organization_guid"`
	SpaceGUID        string             `json:"space_guid"`
	Parameters       map[string]any     `json:"parameters,omitempty"`
	MaintenanceInfo  *MaintenanceInfo   `json:"maintenance_info,omitempty"`
}

type operationBody struct {
	DashboardURL string          `json:"dashboard_url"`
	Operation    string          `json:"operation"`
	Metadata     json.RawMessage `json:"metadata"`
}

func instancePath(id string) string { return "/v2/service_instances/" + url.PathEscape(id) }

var acceptsIncomplete = url.Values{"accepts_incomplete": {"true"}}

// Provision creates an instance, accepting an asynchronous answer.
// 200, 201 and 202 are success; anything else is an *HTTPError.
func (c *Client) Provision(ctx context.Context, r *ProvisionRequest) (_ *ProvisionResponse, err error) {
	defer c.redact(&err)
	org, space := r.OrganizationGUID, r.SpaceGUID
	if r.Context != nil {
		org, space = orDefault(org, r.Context.ClusterID), orDefault(space, r.Context.Namespace)
	}
	if org == "" || space == "" {
		return nil, errors.New("provision: organization_guid and space_guid must not be empty; set Context or both fields")
	}
	var body operationBody
	status, err := c.create(ctx, request{
		method: http.MethodPut, path: instancePath(r.InstanceID), query: acceptsIncomplete, identity: r.Identity,
		body: provisionBody{
			ServiceID: r.ServiceID, PlanID: r.PlanID, Context: r.Context, Parameters: r.Parameters,
			MaintenanceInfo: r.MaintenanceInfo, OrganizationGUID: org, SpaceGUID: space,
		},
	}, &body)
	if err != nil {
		return nil, err
	}
	return &ProvisionResponse{
		Async: status == http.StatusAccepted, Exists: status == http.StatusOK,
		DashboardURL: body.DashboardURL, Operation: body.Operation, Metadata: body.Metadata,
	}, nil
}

// PreviousValues is what the instance was before an update.
type PreviousValues struct {
	ServiceID       string           `json:"service_id,omitempty"`
	PlanID          string           `json:"plan_id,omitempty"`
	MaintenanceInfo *MaintenanceInfo `json:"maintenance_info,omitempty"`
}

// UpdateInstanceRequest changes an instance's plan, parameters, context or
// maintenance version. Nil PlanID, Parameters and MaintenanceInfo are not sent.
type UpdateInstanceRequest struct {
	InstanceID      string
	ServiceID       string
	PlanID          string
	Context         *KubernetesContext
	Parameters      map[string]any
	MaintenanceInfo *MaintenanceInfo
	PreviousValues  *PreviousValues
	Identity        *OriginatingIdentity
}

// UpdateInstanceResponse is a successful update.
type UpdateInstanceResponse struct {
	Async        bool
	DashboardURL string
	Operation    string
	Metadata     json.RawMessage
}

type updateBody struct {
	ServiceID       string             `json:"service_id"`
	PlanID          string             `json:"plan_id,omitempty"`
	Context         *KubernetesContext `json:"context,omitempty"`
	Parameters      map[string]any     `json:"parameters,omitempty"`
	MaintenanceInfo *MaintenanceInfo   `json:"maintenance_info,omitempty"`
	PreviousValues  *PreviousValues    `json:"previous_values,omitempty"`
}

// UpdateInstance sends PATCH /v2/service_instances/:id. 200 and 202 are success.
func (c *Client) UpdateInstance(ctx context.Context, r *UpdateInstanceRequest) (_ *UpdateInstanceResponse, err error) {
	defer c.redact(&err)
	resp, err := c.do(ctx, request{
		method: http.MethodPatch, path: instancePath(r.InstanceID), query: acceptsIncomplete, identity: r.Identity,
		body: updateBody{
			ServiceID: r.ServiceID, PlanID: r.PlanID, Context: r.Context, Parameters: r.Parameters,
			MaintenanceInfo: r.MaintenanceInfo, PreviousValues: r.PreviousValues,
		},
	})
	if err != nil {
		return nil, err
	}
	switch resp.status {
	case http.StatusOK, http.StatusAccepted:
	default:
		return nil, resp.unexpected()
	}
	var body operationBody
	if err := resp.decode(&body); err != nil {
		return nil, err
	}
	return &UpdateInstanceResponse{Async: resp.status == http.StatusAccepted, DashboardURL: body.DashboardURL, Operation: body.Operation, Metadata: body.Metadata}, nil
}

// DeprovisionRequest asks the broker to delete an instance.
type DeprovisionRequest struct {
	InstanceID string
	ServiceID  string
	PlanID     string
	Identity   *OriginatingIdentity
}

// DeleteResponse is a successful deprovision or unbind. Gone is true for
// 410: the broker no longer knows the resource, which counts as deleted.
type DeleteResponse struct {
	Async     bool
	Gone      bool
	Operation string
}

// DeprovisionResponse is a successful deprovision.
type DeprovisionResponse = DeleteResponse

// Deprovision sends DELETE /v2/service_instances/:id. 200, 202 and 410 are success.
func (c *Client) Deprovision(ctx context.Context, r *DeprovisionRequest) (_ *DeprovisionResponse, err error) {
	defer c.redact(&err)
	return c.delete(ctx, instancePath(r.InstanceID), r.ServiceID, r.PlanID, r.Identity)
}

// create sends the PUT of a provision or bind. Their 200 (already exists),
// 201 (created) and 202 (accepted) answers decode alike into body; the
// status says which it was.
func (c *Client) create(ctx context.Context, req request, body any) (int, error) {
	resp, err := c.do(ctx, req)
	if err != nil {
		return 0, err
	}
	switch resp.status {
	case http.StatusOK, http.StatusCreated, http.StatusAccepted:
	default:
		return 0, resp.unexpected()
	}
	if err := resp.decode(body); err != nil {
		return 0, err
	}
	return resp.status, nil
}

// delete sends the DELETE of a deprovision or unbind.
func (c *Client) delete(ctx context.Context, path, serviceID, planID string, identity *OriginatingIdentity) (*DeleteResponse, error) {
	q := url.Values{"accepts_incomplete": {"true"}, "service_id": {serviceID}, "plan_id": {planID}}
	resp, err := c.do(ctx, request{method: http.MethodDelete, path: path, query: q, identity: identity})
	if err != nil {
		return nil, err
	}
	switch resp.status {
	case http.StatusOK, http.StatusAccepted:
	case http.StatusGone:
		return &DeleteResponse{Gone: true}, nil
	default:
		return nil, resp.unexpected()
	}
	var body operationBody
	if err := resp.decode(&body); err != nil {
		return nil, err
	}
	return &DeleteResponse{Async: resp.status == http.StatusAccepted, Operation: body.Operation}, nil
}

// GetInstanceRequest fetches an instance (needs instances_retrievable).
type GetInstanceRequest struct {
	InstanceID string
	ServiceID  string
	PlanID     string
}

// GetInstanceResponse is the broker's view of an instance.
type GetInstanceResponse struct {
	ServiceID       string           `json:"service_id"`
	PlanID          string           `json:"plan_id"`
	DashboardURL    string           `json:"dashboard_url"`
	Parameters      map[string]any   `json:"parameters"`
	MaintenanceInfo *MaintenanceInfo `json:"maintenance_info"`
	Metadata        json.RawMessage  `json:"metadata"`
}

// GetInstance sends GET /v2/service_instances/:id.
func (c *Client) GetInstance(ctx context.Context, r *GetInstanceRequest) (_ *GetInstanceResponse, err error) {
	defer c.redact(&err)
	q := url.Values{}
	setIf(q, "service_id", r.ServiceID)
	setIf(q, "plan_id", r.PlanID)
	resp, err := c.do(ctx, request{method: http.MethodGet, path: instancePath(r.InstanceID), query: q})
	if err != nil {
		return nil, err
	}
	if resp.status != http.StatusOK {
		return nil, resp.unexpected()
	}
	var out GetInstanceResponse
	if err := resp.decode(&out); err != nil {
		return nil, err
	}
	return &out, nil
}

// State is the state of an asynchronous operation.
type State string

// The states last_operation reports.
const (
	StateInProgress State = "in progress"
	StateSucceeded  State = "succeeded"
	StateFailed     State = "failed"
)

// LastOperationRequest polls an asynchronous instance operation.
type LastOperationRequest struct {
	InstanceID string
	ServiceID  string
	PlanID     string
	Operation  string
}

// LastOperationResponse is the state of an asynchronous operation.
type LastOperationResponse struct {
	State            State
	Description      string
	InstanceUsable   *bool
	UpdateRepeatable *bool
	// RetryAfter is how long the broker asks the platform to wait before
	// polling again; zero when it did not say.
	RetryAfter time.Duration
}

type lastOperationBody struct {
	State            State  `json:"state"`
	Description      string `json:"description"`
	InstanceUsable   *bool  `json:"instance_usable"`
	UpdateRepeatable *bool  `json:"update_repeatable"`
}

// PollLastOperation sends GET /v2/service_instances/:id/last_operation.
// A 410 Gone is returned as an *HTTPError: during a deprovision it means
// success, elsewhere failure, and only the caller knows which.
func (c *Client) PollLastOperation(ctx context.Context, r *LastOperationRequest) (_ *LastOperationResponse, err error) {
	defer c.redact(&err)
	return c.pollLastOperation(ctx, instancePath(r.InstanceID)+"/last_operation", r.ServiceID, r.PlanID, r.Operation)
}

func (c *Client) pollLastOperation(ctx context.Context, path, serviceID, planID, operation string) (*LastOperationResponse, error) {
	q := url.Values{}
	setIf(q, "service_id", serviceID)
	setIf(q, "plan_id", planID)
	setIf(q, "operation", operation)
	resp, err := c.do(ctx, request{method: http.MethodGet, path: path, query: q})
	if err != nil {
		return nil, err
	}
	if resp.status != http.StatusOK {
		return nil, resp.unexpected()
	}
	var body lastOperationBody
	if err := resp.decode(&body); err != nil {
		return nil, err
	}
	switch body.State {
	case StateInProgress, StateSucceeded, StateFailed:
	default:
		return nil, &HTTPError{StatusCode: resp.status, Method: resp.method, Path: resp.path,
			Description: "last_operation state " + strconv.Quote(truncate(string(body.State), 64)) + " is not one of in progress, succeeded, failed"}
	}
	return &LastOperationResponse{
		State: body.State, Description: truncate(c.secrets.redact(body.Description), 1024),
		InstanceUsable: body.InstanceUsable, UpdateRepeatable: body.UpdateRepeatable, RetryAfter: resp.retryAfter,
	}, nil
}

func setIf(q url.Values, key, value string) {
	if value != "" {
		q.Set(key, value)
	}
}
