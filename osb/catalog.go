package osb

import (
	"context"
	"encoding/json"
	"net/http"
)

// CatalogResponse is the body of GET /v2/catalog.
type CatalogResponse struct {
	Services []Service `json:"services"`
}

// Service is a service offering.
type Service struct {
	ID                   string          `json:"id"`
	Name                 string          `json:"name"`
	Description          string          `json:"description"`
	Tags                 []string        `json:"tags,omitempty"`
	Requires             []string        `json:"requires,omitempty"`
	Bindable             *bool           `json:"bindable"`
	InstancesRetrievable bool            `json:"instances_retrievable,omitempty"`
	BindingsRetrievable  bool            `json:"bindings_retrievable,omitempty"`
	AllowContextUpdates  bool            `json:"allow_context_updates,omitempty"`
	Metadata             json.RawMessage `json:"metadata,omitempty"`
	DashboardClient      json.RawMessage `json:"dashboard_client,omitempty"`
	PlanUpdatable        bool            `json:"plan_updateable,omitempty"`
	Plans                []Plan          `json:"plans"`
}

// Plan is a service plan.
type Plan struct {
	ID                     string           `json:"id"`
	Name                   string           `json:"name"`
	Description            string           `json:"description"`
	Metadata               json.RawMessage  `json:"metadata,omitempty"`
	Free                   *bool            `json:"free,omitempty"`
	Bindable               *bool            `json:"bindable,omitempty"`
	BindingRotatable       bool             `json:"binding_rotatable,omitempty"`
	PlanUpdatable          *bool            `json:"plan_updateable,omitempty"`
	Schemas                *Schemas         `json:"schemas,omitempty"`
	MaximumPollingDuration *int64           `json:"maximum_polling_duration,omitempty"`
	MaintenanceInfo        *MaintenanceInfo `json:"maintenance_info,omitempty"`
}

// Schemas holds a plan's parameter schemas.
type Schemas struct {
	ServiceInstance *ServiceInstanceSchema `json:"service_instance,omitempty"`
	ServiceBinding  *ServiceBindingSchema  `json:"service_binding,omitempty"`
}

// ServiceInstanceSchema holds the create and update parameter schemas.
type ServiceInstanceSchema struct {
	Create *InputParametersSchema `json:"create,omitempty"`
	Update *InputParametersSchema `json:"update,omitempty"`
}

// ServiceBindingSchema holds the bind parameter schema.
type ServiceBindingSchema struct {
	Create *InputParametersSchema `json:"create,omitempty"`
}

// InputParametersSchema wraps a JSON schema.
type InputParametersSchema struct {
	Parameters json.RawMessage `json:"parameters,omitempty"`
}

// MaintenanceInfo is a plan's or instance's maintenance version.
type MaintenanceInfo struct {
	Version     string `json:"version"`
	Description string `json:"description,omitempty"`
}

// GetCatalog fetches the broker's catalog.
func (c *Client) GetCatalog(ctx context.Context) (_ *CatalogResponse, err error) {
	defer c.redact(&err)
	var out CatalogResponse
	resp, err := c.do(ctx, request{method: http.MethodGet, path: "/v2/catalog", maxBytes: c.maxCatalogBytes})
	if err != nil {
		return nil, err
	}
	if resp.status != http.StatusOK {
		return nil, resp.unexpected()
	}
	if err := resp.decode(&out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DashboardClientOf reads a service's dashboard_client; nil when it has
// none or it is malformed, which is no reason to refuse the catalog.
func DashboardClientOf(s Service) *DashboardClient {
	var c DashboardClient
	if len(s.DashboardClient) == 0 || json.Unmarshal(s.DashboardClient, &c) != nil {
		return nil
	}
	return &c
}

// DashboardClient is a service's OAuth client for dashboard single sign-on.
type DashboardClient struct {
	ID          string `json:"id"`
	Secret      string `json:"secret"`
	RedirectURI string `json:"redirect_uri,omitempty"`
}
