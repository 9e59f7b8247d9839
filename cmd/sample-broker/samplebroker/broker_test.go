package samplebroker_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/servicecatalog/service-catalog/cmd/sample-broker/samplebroker"
	"github.com/servicecatalog/service-catalog/osb"
	"github.com/servicecatalog/service-catalog/osb/osbtest"
)

// clock is a time source tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type fixture struct {
	broker *samplebroker.Broker
	client *osb.Client
	clock  *clock
	// url serves the broker without the OpenAPI check, for requests that
	// break the spec on purpose or use the admin endpoints.
	url string
}

// start serves a sample broker, checking every request our client sends
// against the OSB OpenAPI document.
func start(t *testing.T, opts samplebroker.Options) fixture {
	t.Helper()
	clk := &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	opts.Username, opts.Password, opts.Now = "admin", "s3cret", clk.Now
	b, err := samplebroker.New(opts)
	require.NoError(t, err)
	server := httptest.NewServer(osbtest.NewValidator(t).Handler(b))
	t.Cleanup(server.Close)
	raw := httptest.NewServer(b)
	t.Cleanup(raw.Close)
	c, err := osb.New(osb.Config{URL: server.URL, Auth: &osb.Auth{Basic: &osb.BasicAuth{Username: "admin", Password: "s3cret"}}})
	require.NoError(t, err)
	return fixture{broker: b, client: c, clock: clk, url: raw.URL}
}

var k8sContext = osb.NewKubernetesContext("cluster-1", "default", "db")

func provision(f fixture, id, planID string, params map[string]any) (*osb.ProvisionResponse, error) {
	return f.client.Provision(context.Background(), &osb.ProvisionRequest{
		InstanceID: id, ServiceID: samplebroker.DatabaseServiceID, PlanID: planID, Context: k8sContext, Parameters: params,
	})
}

func TestCatalog(t *testing.T) {
	f := start(t, samplebroker.Options{})
	cat, err := f.client.GetCatalog(context.Background())
	require.NoError(t, err)
	require.Len(t, cat.Services, 2)
	db, backup := cat.Services[0], cat.Services[1]
	assert.Equal(t, "sample-db", db.Name)
	assert.Len(t, db.Plans, 4)
	assert.True(t, db.Plans[3].BindingRotatable, "the rotating plan")
	assert.False(t, *backup.Bindable, "the backup service cannot be bound")
	assert.False(t, *db.Plans[2].PlanUpdatable, "the large plan cannot be changed")
	for _, p := range db.Plans {
		assert.NotEmpty(t, p.Schemas.ServiceInstance.Create.Parameters)
		assert.NotEmpty(t, p.Schemas.ServiceInstance.Update.Parameters)
		assert.NotEmpty(t, p.Schemas.ServiceBinding.Create.Parameters)
	}
}

func TestProvisionChecksParameters(t *testing.T) {
	tests := map[string]struct {
		plan    string
		params  map[string]any
		wantErr string
	}{
		"valid":                  {plan: samplebroker.SmallPlanID, params: map[string]any{"region": "eu", "storageGB": 20}},
		"missing region":         {plan: samplebroker.SmallPlanID, params: map[string]any{"storageGB": 20}, wantErr: "missing property 'region'"},
		"region not in the enum": {plan: samplebroker.SmallPlanID, params: map[string]any{"region": "mars"}, wantErr: "'eu', 'us', 'ap'"},
		"too much storage":       {plan: samplebroker.SmallPlanID, params: map[string]any{"region": "eu", "storageGB": 500}, wantErr: "maximum"},
		"medium allows more":     {plan: samplebroker.MediumPlanID, params: map[string]any{"region": "eu", "storageGB": 500}},
		"unknown parameter":      {plan: samplebroker.SmallPlanID, params: map[string]any{"region": "eu", "color": "red"}, wantErr: "additional properties 'color' not allowed"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := start(t, samplebroker.Options{})
			resp, err := provision(f, "inst-1", tc.plan, tc.params)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Equal(t, http.StatusBadRequest, osb.StatusOf(err))
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.False(t, resp.Async)
		})
	}
}

func TestAsyncProvisionAndDeprovision(t *testing.T) {
	ctx := context.Background()
	f := start(t, samplebroker.Options{AsyncDelay: 5 * time.Second})
	resp, err := provision(f, "inst-1", samplebroker.SmallPlanID, map[string]any{"region": "eu"})
	require.NoError(t, err)
	require.True(t, resp.Async)
	require.NotEmpty(t, resp.Operation)

	poll := &osb.LastOperationRequest{InstanceID: "inst-1", ServiceID: samplebroker.DatabaseServiceID, PlanID: samplebroker.SmallPlanID, Operation: resp.Operation}
	last, err := f.client.PollLastOperation(ctx, poll)
	require.NoError(t, err)
	assert.Equal(t, osb.StateInProgress, last.State)
	assert.Equal(t, time.Second, last.RetryAfter)

	// The same provision again while in progress answers 202 with the same operation.
	again, err := provision(f, "inst-1", samplebroker.SmallPlanID, map[string]any{"region": "eu"})
	require.NoError(t, err)
	assert.Equal(t, resp.Operation, again.Operation)

	f.clock.Add(5 * time.Second)
	last, err = f.client.PollLastOperation(ctx, poll)
	require.NoError(t, err)
	assert.Equal(t, osb.StateSucceeded, last.State)
	got, err := f.client.GetInstance(ctx, &osb.GetInstanceRequest{InstanceID: "inst-1"})
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"region": "eu"}, got.Parameters)

	// The same provision once done is 200; a different one is 409.
	again, err = provision(f, "inst-1", samplebroker.SmallPlanID, map[string]any{"region": "eu"})
	require.NoError(t, err)
	assert.True(t, again.Exists)
	_, err = provision(f, "inst-1", samplebroker.SmallPlanID, map[string]any{"region": "us"})
	assert.Equal(t, http.StatusConflict, osb.StatusOf(err))

	dep, err := f.client.Deprovision(ctx, &osb.DeprovisionRequest{InstanceID: "inst-1", ServiceID: samplebroker.DatabaseServiceID, PlanID: samplebroker.SmallPlanID})
	require.NoError(t, err)
	require.True(t, dep.Async)
	f.clock.Add(5 * time.Second)
	poll.Operation = dep.Operation
	_, err = f.client.PollLastOperation(ctx, poll)
	assert.True(t, osb.IsGone(err), "a finished deprovision answers 410 Gone: %v", err)
	dep, err = f.client.Deprovision(ctx, &osb.DeprovisionRequest{InstanceID: "inst-1", ServiceID: samplebroker.DatabaseServiceID, PlanID: samplebroker.SmallPlanID})
	require.NoError(t, err)
	assert.True(t, dep.Gone)
}

func TestAsyncRequired(t *testing.T) {
	f := start(t, samplebroker.Options{AsyncDelay: time.Second})
	req, err := http.NewRequest(http.MethodPut, f.url+"/v2/service_instances/x", strings.NewReader(
		`{"service_id":"`+samplebroker.DatabaseServiceID+`","plan_id":"`+samplebroker.SmallPlanID+`","organization_guid":"o","space_guid":"s","parameters":{"region":"eu"}}`))
	require.NoError(t, err)
	req.SetBasicAuth("admin", "s3cret")
	req.Header.Set("X-Broker-API-Version", "2.17")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
}

func TestBindings(t *testing.T) {
	ctx := context.Background()
	f := start(t, samplebroker.Options{})
	_, err := provision(f, "inst-1", samplebroker.SmallPlanID, map[string]any{"region": "eu"})
	require.NoError(t, err)

	bind := func(id string, params map[string]any) (*osb.BindResponse, error) {
		return f.client.Bind(ctx, &osb.BindRequest{InstanceID: "inst-1", BindingID: id, ServiceID: samplebroker.DatabaseServiceID, PlanID: samplebroker.SmallPlanID, Context: k8sContext, Parameters: params})
	}
	first, err := bind("b1", nil)
	require.NoError(t, err)
	second, err := bind("b2", map[string]any{"role": "readonly"})
	require.NoError(t, err)
	for _, key := range []string{"uri", "host", "port", "username", "password", "database"} {
		assert.Contains(t, first.Credentials, key)
	}
	assert.NotEqual(t, first.Credentials["username"], second.Credentials["username"], "each binding has its own user")
	assert.NotEqual(t, first.Credentials["password"], second.Credentials["password"])

	_, err = bind("b3", map[string]any{"role": "admin"})
	assert.Equal(t, http.StatusBadRequest, osb.StatusOf(err))

	fetched, err := f.client.GetBinding(ctx, &osb.GetBindingRequest{InstanceID: "inst-1", BindingID: "b1"})
	require.NoError(t, err)
	assert.Equal(t, first.Credentials["password"], fetched.Credentials["password"])

	_, err = f.client.Unbind(ctx, &osb.UnbindRequest{InstanceID: "inst-1", BindingID: "b1", ServiceID: samplebroker.DatabaseServiceID, PlanID: samplebroker.SmallPlanID})
	require.NoError(t, err)
	gone, err := f.client.Unbind(ctx, &osb.UnbindRequest{InstanceID: "inst-1", BindingID: "b1", ServiceID: samplebroker.DatabaseServiceID, PlanID: samplebroker.SmallPlanID})
	require.NoError(t, err)
	assert.True(t, gone.Gone)

	// The backup service cannot be bound.
	_, err = f.client.Provision(ctx, &osb.ProvisionRequest{InstanceID: "backup-1", ServiceID: samplebroker.BackupServiceID, PlanID: samplebroker.DailyPlanID, Context: k8sContext})
	require.NoError(t, err)
	_, err = f.client.Bind(ctx, &osb.BindRequest{InstanceID: "backup-1", BindingID: "b", ServiceID: samplebroker.BackupServiceID, PlanID: samplebroker.DailyPlanID})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "service sample-backup cannot be bound")
}

func TestUpdate(t *testing.T) {
	ctx := context.Background()
	f := start(t, samplebroker.Options{})
	_, err := provision(f, "inst-1", samplebroker.SmallPlanID, map[string]any{"region": "eu", "storageGB": 10})
	require.NoError(t, err)
	update := func(planID string, params map[string]any) error {
		_, err := f.client.UpdateInstance(ctx, &osb.UpdateInstanceRequest{InstanceID: "inst-1", ServiceID: samplebroker.DatabaseServiceID, PlanID: planID, Parameters: params,
			PreviousValues: &osb.PreviousValues{PlanID: samplebroker.SmallPlanID}, Context: k8sContext})
		return err
	}
	require.NoError(t, update(samplebroker.SmallPlanID, map[string]any{"storageGB": 50}))
	err = update(samplebroker.SmallPlanID, map[string]any{"region": "us"})
	assert.ErrorContains(t, err, "additional properties 'region' not allowed", "the region is fixed at creation")
	err = update(samplebroker.LargePlanID, nil)
	assert.ErrorContains(t, err, "plan large cannot be changed")
	require.NoError(t, update(samplebroker.MediumPlanID, map[string]any{"storageGB": 400}))

	got, err := f.client.GetInstance(ctx, &osb.GetInstanceRequest{InstanceID: "inst-1"})
	require.NoError(t, err)
	assert.Equal(t, samplebroker.MediumPlanID, got.PlanID)
	assert.Equal(t, map[string]any{"region": "eu", "storageGB": float64(400)}, got.Parameters)
	assert.Equal(t, "1.1.0", got.MaintenanceInfo.Version)
	assert.JSONEq(t, `{"labels":{"service":"sample-db","plan":"medium"}}`, string(got.Metadata))
}

func TestFaults(t *testing.T) {
	ctx := context.Background()
	f := start(t, samplebroker.Options{AsyncDelay: time.Second})

	f.broker.SetFault("provision", samplebroker.Fault{Status: 500, Description: "disk full"})
	_, err := provision(f, "inst-1", samplebroker.SmallPlanID, map[string]any{"region": "eu"})
	assert.EqualError(t, err, "PUT /v2/service_instances/inst-1: 500 Internal Server Error: disk full")

	f.broker.SetFault("provision", samplebroker.Fault{NeverFinish: true})
	resp, err := provision(f, "inst-2", samplebroker.SmallPlanID, map[string]any{"region": "eu"})
	require.NoError(t, err)
	f.clock.Add(time.Hour)
	last, err := f.client.PollLastOperation(ctx, &osb.LastOperationRequest{InstanceID: "inst-2", Operation: resp.Operation})
	require.NoError(t, err)
	assert.Equal(t, osb.StateInProgress, last.State)

	f.broker.SetFault("provision", samplebroker.Fault{FailAsync: true})
	resp, err = provision(f, "inst-3", samplebroker.SmallPlanID, map[string]any{"region": "eu"})
	require.NoError(t, err)
	f.clock.Add(time.Hour)
	last, err = f.client.PollLastOperation(ctx, &osb.LastOperationRequest{InstanceID: "inst-3", Operation: resp.Operation})
	require.NoError(t, err)
	assert.Equal(t, osb.StateFailed, last.State)

	// Faults can be set over HTTP by tests in other processes.
	req, _ := http.NewRequest(http.MethodPut, f.url+"/admin/faults/catalog", strings.NewReader(`{"status":503,"description":"maintenance"}`))
	req.SetBasicAuth("admin", "s3cret")
	httpResp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	httpResp.Body.Close()
	_, err = f.client.GetCatalog(ctx)
	assert.EqualError(t, err, "GET /v2/catalog: 503 Service Unavailable: maintenance")
}

func TestStateSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	f := start(t, samplebroker.Options{StateDir: dir})
	_, err := provision(f, "inst-1", samplebroker.SmallPlanID, map[string]any{"region": "ap"})
	require.NoError(t, err)
	bound, err := f.client.Bind(ctx, &osb.BindRequest{InstanceID: "inst-1", BindingID: "b1", ServiceID: samplebroker.DatabaseServiceID, PlanID: samplebroker.SmallPlanID})
	require.NoError(t, err)

	restarted := start(t, samplebroker.Options{StateDir: dir})
	got, err := restarted.client.GetInstance(ctx, &osb.GetInstanceRequest{InstanceID: "inst-1"})
	require.NoError(t, err)
	assert.Equal(t, "ap", got.Parameters["region"])
	fetched, err := restarted.client.GetBinding(ctx, &osb.GetBindingRequest{InstanceID: "inst-1", BindingID: "b1"})
	require.NoError(t, err)
	assert.Equal(t, bound.Credentials["password"], fetched.Credentials["password"])
}

func TestRefusesBadCredentialsAndVersions(t *testing.T) {
	f := start(t, samplebroker.Options{})
	tests := map[string]struct {
		user, version string
		want          int
	}{
		"wrong password":  {user: "intruder", version: "2.17", want: http.StatusUnauthorized},
		"missing version": {user: "admin", want: http.StatusPreconditionFailed},
		"version 3":       {user: "admin", version: "3.0", want: http.StatusPreconditionFailed},
	}
	// The catalog is the broker's own; the rest is brokerapi's.
	for _, path := range []string{"/v2/catalog", "/v2/service_instances/inst-1"} {
		for name, tc := range tests {
			t.Run(path+" "+name, func(t *testing.T) {
				req, _ := http.NewRequest(http.MethodGet, f.url+path, nil)
				req.SetBasicAuth(tc.user, "s3cret")
				if tc.version != "" {
					req.Header.Set("X-Broker-API-Version", tc.version)
				}
				resp, err := http.DefaultClient.Do(req)
				require.NoError(t, err)
				resp.Body.Close()
				assert.Equal(t, tc.want, resp.StatusCode)
			})
		}
	}
}

// TestBrokerAPISpeaksTheProtocol: the answers come from brokerapi, which
// echoes the request identity header the catalog sends.
func TestBrokerAPISpeaksTheProtocol(t *testing.T) {
	f := start(t, samplebroker.Options{})
	req, _ := http.NewRequest(http.MethodGet, f.url+"/v2/service_instances/none", nil)
	req.SetBasicAuth("admin", "s3cret")
	req.Header.Set("X-Broker-API-Version", "2.17")
	req.Header.Set("X-Broker-API-Request-Identity", "e26cea65-2ea3-4ea9-a1a3-0a7f8d1c2b3a")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.Equal(t, "e26cea65-2ea3-4ea9-a1a3-0a7f8d1c2b3a", resp.Header.Get("X-Broker-API-Request-Identity"))
}

// TestRotation: the rotating plan's credentials expire and say when to
// renew; a successor names its predecessor, keeps its parameters, gets
// credentials of its own, and both stay valid until unbound.
func TestRotation(t *testing.T) {
	ctx := context.Background()
	f := start(t, samplebroker.Options{CredentialLifetime: 30 * time.Minute})
	_, err := provision(f, "inst-1", samplebroker.RotatingPlanID, map[string]any{"region": "eu"})
	require.NoError(t, err)
	bind := func(id, predecessor string, params map[string]any) (*osb.BindResponse, error) {
		return f.client.Bind(ctx, &osb.BindRequest{InstanceID: "inst-1", BindingID: id, ServiceID: samplebroker.DatabaseServiceID, PlanID: samplebroker.RotatingPlanID,
			Parameters: params, PredecessorBindingID: predecessor, Synchronous: true})
	}
	first, err := bind("b1", "", map[string]any{"role": "readonly"})
	require.NoError(t, err)
	assert.JSONEq(t, `{"expires_at":"2026-01-01T00:30:00.0Z","renew_before":"2026-01-01T00:20:00.0Z"}`, string(first.Metadata))

	f.clock.Add(20 * time.Minute)
	second, err := bind("b2", "b1", nil)
	require.NoError(t, err)
	assert.NotEqual(t, first.Credentials["password"], second.Credentials["password"])
	assert.JSONEq(t, `{"expires_at":"2026-01-01T00:50:00.0Z","renew_before":"2026-01-01T00:40:00.0Z"}`, string(second.Metadata))
	again, err := bind("b2", "b1", nil)
	require.NoError(t, err)
	assert.True(t, again.Exists, "the same successor request again is the same binding")
	assert.Equal(t, second.Credentials, again.Credentials)
	got, err := f.client.GetBinding(ctx, &osb.GetBindingRequest{InstanceID: "inst-1", BindingID: "b2"})
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"role": "readonly"}, got.Parameters, "a successor keeps its predecessor's parameters")
	_, err = f.client.GetBinding(ctx, &osb.GetBindingRequest{InstanceID: "inst-1", BindingID: "b1"})
	require.NoError(t, err, "the predecessor stays valid")

	f.clock.Add(15 * time.Minute)
	_, err = bind("b3", "b1", nil)
	require.ErrorContains(t, err, "expired", "an expired predecessor cannot be succeeded")
	_, err = f.client.Bind(ctx, &osb.BindRequest{InstanceID: "inst-1", BindingID: "b4", ServiceID: samplebroker.DatabaseServiceID, PlanID: samplebroker.SmallPlanID, PredecessorBindingID: "b2", Synchronous: true})
	require.ErrorContains(t, err, "not binding_rotatable")
}
