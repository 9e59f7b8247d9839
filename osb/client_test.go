package osb_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/servicecatalog/service-catalog/osb"
	"github.com/servicecatalog/service-catalog/osb/osbtest"
	"github.com/servicecatalog/service-catalog/osb/reach"
)

func newClient(t *testing.T, b *osbtest.Broker, mutate ...func(*osb.Config)) *osb.Client {
	t.Helper()
	cfg := osb.Config{URL: b.URL(), Auth: &osb.Auth{Basic: &osb.BasicAuth{Username: b.Username, Password: b.Password}}}
	for _, m := range mutate {
		m(&cfg)
	}
	c, err := osb.New(cfg)
	require.NoError(t, err)
	return c
}

func TestHeadersOnEveryRequest(t *testing.T) {
	b := osbtest.New(t)
	c := newClient(t, b)
	ctx := context.Background()
	identity := &osb.OriginatingIdentity{Username: "duke", UID: "c2dde242", Groups: []string{"admin", "dev"}, Extra: map[string][]string{"mydata": {"data1"}}}

	_, err := c.GetCatalog(ctx)
	require.NoError(t, err)
	_, err = c.Provision(ctx, &osb.ProvisionRequest{InstanceID: "i1", ServiceID: "s", PlanID: "p", Context: osb.NewKubernetesContext("cluster", "default", "db"), Identity: identity})
	require.NoError(t, err)
	_, err = c.Provision(ctx, &osb.ProvisionRequest{InstanceID: "i2", ServiceID: "s", PlanID: "p", Context: osb.NewKubernetesContext("cluster", "default", "db2"), Identity: &osb.OriginatingIdentity{Username: "anonymous"}})
	require.NoError(t, err)

	reqs := b.Requests()
	require.Len(t, reqs, 3)
	seen := map[string]bool{}
	for _, r := range reqs {
		assert.Equal(t, "2.17", r.Header.Get("X-Broker-API-Version"))
		id := r.Header.Get("X-Broker-API-Request-Identity")
		_, err := uuid.Parse(id)
		assert.NoError(t, err, "request identity %q is not a UUID", id)
		assert.False(t, seen[id], "request identity repeated")
		seen[id] = true
	}
	assert.Empty(t, reqs[0].Header.Get("X-Broker-API-Originating-Identity"), "the catalog fetch is not user-initiated")

	platform, value, ok := strings.Cut(reqs[1].Header.Get("X-Broker-API-Originating-Identity"), " ")
	require.True(t, ok)
	assert.Equal(t, "kubernetes", platform)
	raw, err := base64.StdEncoding.DecodeString(value)
	require.NoError(t, err)
	assert.JSONEq(t, `{"username":"duke","uid":"c2dde242","groups":["admin","dev"],"extra":{"mydata":["data1"]}}`, string(raw))

	// The profile requires all four properties, even when empty.
	_, value, _ = strings.Cut(reqs[2].Header.Get("X-Broker-API-Originating-Identity"), " ")
	raw, err = base64.StdEncoding.DecodeString(value)
	require.NoError(t, err)
	assert.JSONEq(t, `{"username":"anonymous","uid":"","groups":[],"extra":{}}`, string(raw))

	var body map[string]any
	require.NoError(t, reqs[1].JSON(&body))
	assert.Equal(t, map[string]any{"platform": "kubernetes", "namespace": "default", "clusterid": "cluster", "instance_name": "db"}, body["context"])
	assert.Equal(t, "true", reqs[1].Query["accepts_incomplete"][0])
}

func TestAuth(t *testing.T) {
	tests := map[string]struct {
		setup   func(b *osbtest.Broker) osb.Config
		wantErr string
	}{
		"basic from authInfo": {setup: func(b *osbtest.Broker) osb.Config {
			return osb.Config{URL: b.URL(), Auth: &osb.Auth{Basic: &osb.BasicAuth{Username: b.Username, Password: b.Password}}}
		}},
		"basic from the URL's userinfo": {setup: func(b *osbtest.Broker) osb.Config {
			u, _ := url.Parse(b.URL())
			u.User = url.UserPassword(b.Username, b.Password)
			return osb.Config{URL: u.String()}
		}},
		"bearer": {setup: func(b *osbtest.Broker) osb.Config {
			b.SetToken("t0ken")
			return osb.Config{URL: b.URL(), Auth: &osb.Auth{Bearer: &osb.BearerAuth{Token: "t0ken"}}}
		}},
		"wrong password": {setup: func(b *osbtest.Broker) osb.Config {
			return osb.Config{URL: b.URL(), Auth: &osb.Auth{Basic: &osb.BasicAuth{Username: b.Username, Password: "nope"}}}
		}, wantErr: "GET /v2/catalog: 401 Unauthorized: bad credentials"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			b := osbtest.New(t)
			c, err := osb.New(tc.setup(b))
			require.NoError(t, err)
			_, err = c.GetCatalog(context.Background())
			if tc.wantErr != "" {
				require.EqualError(t, err, tc.wantErr)
				assert.Equal(t, http.StatusUnauthorized, osb.StatusOf(err))
				return
			}
			require.NoError(t, err)
			for _, r := range b.Requests() {
				assert.Empty(t, r.Query, "credentials never travel in the URL")
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	tests := map[string]struct {
		cfg  osb.Config
		want string
	}{
		"not http":             {cfg: osb.Config{URL: "ftp://broker"}, want: "scheme must be http or https"},
		"no host":              {cfg: osb.Config{URL: "http://"}, want: "no host"},
		"credentials twice":    {cfg: osb.Config{URL: "http://u:p@broker", Auth: &osb.Auth{Bearer: &osb.BearerAuth{Token: "t"}}}, want: "both in the URL and in authInfo"},
		"basic and bearer":     {cfg: osb.Config{URL: "http://broker", Auth: &osb.Auth{Basic: &osb.BasicAuth{}, Bearer: &osb.BearerAuth{}}}, want: "set basic or bearer, not both"},
		"bad CA bundle":        {cfg: osb.Config{URL: "https://broker", CABundle: []byte("not pem")}, want: "caBundle holds no PEM certificate"},
		"CA bundle + insecure": {cfg: osb.Config{URL: "https://broker", CABundle: []byte("x"), InsecureSkipTLSVerify: true}, want: "not both"},
		"Transport + Reach":    {cfg: osb.Config{URL: "https://broker", Transport: http.DefaultTransport, Reach: reach.Default()}, want: "bypasses the address policy"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := osb.New(tc.cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestTLS(t *testing.T) {
	server := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"services":[]}`))
	}))
	defer server.Close()
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: server.Certificate().Raw})

	tests := map[string]struct {
		cfg     osb.Config
		wantErr string
	}{
		"CA bundle":                 {cfg: osb.Config{URL: server.URL, CABundle: caPEM}},
		"insecureSkipTLSVerify":     {cfg: osb.Config{URL: server.URL, InsecureSkipTLSVerify: true}},
		"unknown authority refused": {cfg: osb.Config{URL: server.URL}, wantErr: "certificate signed by unknown authority"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := osb.New(tc.cfg)
			require.NoError(t, err)
			_, err = c.GetCatalog(context.Background())
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
		})
	}
}

func TestProvisionResponses(t *testing.T) {
	tests := map[string]struct {
		resp    osbtest.Response
		want    *osb.ProvisionResponse
		wantErr *osb.HTTPError
	}{
		"201 created": {resp: osbtest.Response{Status: 201, Body: `{"dashboard_url":"https://dash/1"}`},
			want: &osb.ProvisionResponse{DashboardURL: "https://dash/1"}},
		"200 already exists": {resp: osbtest.Response{Status: 200, Body: `{}`},
			want: &osb.ProvisionResponse{Exists: true}},
		"202 accepted with operation and unknown fields": {resp: osbtest.Response{Status: 202, Body: `{"operation":"op-1","future_field":{"x":1}}`},
			want: &osb.ProvisionResponse{Async: true, Operation: "op-1"}},
		"400 bad request": {resp: osbtest.Response{Status: 400, Body: `{"description":"region must be eu or us"}`},
			wantErr: &osb.HTTPError{StatusCode: 400, Description: "region must be eu or us"}},
		"422 AsyncRequired": {resp: osbtest.Response{Status: 422, Body: `{"error":"AsyncRequired","description":"async only"}`},
			wantErr: &osb.HTTPError{StatusCode: 422, ErrorCode: "AsyncRequired", Description: "async only"}},
		"422 MaintenanceInfoConflict": {resp: osbtest.Response{Status: 422, Body: `{"error":"MaintenanceInfoConflict"}`},
			wantErr: &osb.HTTPError{StatusCode: 422, ErrorCode: "MaintenanceInfoConflict"}},
		"409 conflict": {resp: osbtest.Response{Status: 409, Body: `{}`},
			wantErr: &osb.HTTPError{StatusCode: 409}},
		"500 with a body that is not JSON": {resp: osbtest.Response{Status: 500, Body: `<html>oops</html>`},
			wantErr: &osb.HTTPError{StatusCode: 500}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			b := osbtest.New(t)
			b.On(osbtest.Provision, tc.resp)
			got, err := newClient(t, b).Provision(context.Background(), &osb.ProvisionRequest{InstanceID: "i", ServiceID: "s", PlanID: "p", Context: osb.NewKubernetesContext("c", "ns", "db"), Parameters: map[string]any{"region": "eu"}})
			if tc.wantErr != nil {
				var httpErr *osb.HTTPError
				require.ErrorAs(t, err, &httpErr)
				assert.Equal(t, tc.wantErr.StatusCode, httpErr.StatusCode)
				assert.Equal(t, tc.wantErr.ErrorCode, httpErr.ErrorCode)
				assert.Equal(t, tc.wantErr.Description, httpErr.Description)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want.Async, got.Async)
			assert.Equal(t, tc.want.Exists, got.Exists)
			assert.Equal(t, tc.want.Operation, got.Operation)
			assert.Equal(t, tc.want.DashboardURL, got.DashboardURL)
		})
	}
}

func TestErrorCodeHelpers(t *testing.T) {
	tests := map[string]struct {
		body  string
		check func(error) bool
	}{
		"AsyncRequired":           {`{"error":"AsyncRequired"}`, osb.IsAsyncRequired},
		"ConcurrencyError":        {`{"error":"ConcurrencyError"}`, osb.IsConcurrencyError},
		"RequiresApp":             {`{"error":"RequiresApp"}`, osb.IsRequiresApp},
		"MaintenanceInfoConflict": {`{"error":"MaintenanceInfoConflict"}`, osb.IsMaintenanceInfoConflict},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			b := osbtest.New(t)
			b.On(osbtest.Bind, osbtest.Response{Status: 422, Body: tc.body})
			_, err := newClient(t, b).Bind(context.Background(), &osb.BindRequest{InstanceID: "i", BindingID: "b", ServiceID: "s", PlanID: "p"})
			assert.True(t, tc.check(err), "%v", err)
			assert.False(t, osb.IsGone(err))
		})
	}
}

func TestDeprovisionAndUnbindTreatGoneAsDone(t *testing.T) {
	b := osbtest.New(t)
	b.On(osbtest.Deprovision, osbtest.Response{Status: 410, Body: `{}`})
	b.On(osbtest.Unbind, osbtest.Response{Status: 410, Body: `{}`})
	c := newClient(t, b)
	d, err := c.Deprovision(context.Background(), &osb.DeprovisionRequest{InstanceID: "i", ServiceID: "s", PlanID: "p"})
	require.NoError(t, err)
	assert.True(t, d.Gone)
	u, err := c.Unbind(context.Background(), &osb.UnbindRequest{InstanceID: "i", BindingID: "b", ServiceID: "s", PlanID: "p"})
	require.NoError(t, err)
	assert.True(t, u.Gone)

	reqs := b.Requests(osbtest.Deprovision)
	require.Len(t, reqs, 1)
	assert.Equal(t, []string{"s"}, reqs[0].Query["service_id"])
	assert.Equal(t, []string{"p"}, reqs[0].Query["plan_id"])
	assert.Equal(t, []string{"true"}, reqs[0].Query["accepts_incomplete"])
}

func TestLastOperation(t *testing.T) {
	usable, repeatable := true, false
	tests := map[string]struct {
		resp    osbtest.Response
		want    osb.LastOperationResponse
		wantErr string
	}{
		"in progress with Retry-After seconds": {
			resp: osbtest.Response{Body: `{"state":"in progress","description":"40%"}`, Header: http.Header{"Retry-After": {"30"}}},
			want: osb.LastOperationResponse{State: osb.StateInProgress, Description: "40%", RetryAfter: 30 * time.Second}},
		"failed with instance_usable and update_repeatable": {
			resp: osbtest.Response{Body: `{"state":"failed","instance_usable":true,"update_repeatable":false}`},
			want: osb.LastOperationResponse{State: osb.StateFailed, InstanceUsable: &usable, UpdateRepeatable: &repeatable}},
		"succeeded with a malformed Retry-After": {
			resp: osbtest.Response{Body: `{"state":"succeeded"}`, Header: http.Header{"Retry-After": {"soon"}}},
			want: osb.LastOperationResponse{State: osb.StateSucceeded}},
		"unknown state": {
			resp:    osbtest.Response{Body: `{"state":"thinking"}`},
			wantErr: `last_operation state "thinking" is not one of in progress, succeeded, failed`},
		"410 gone": {
			resp:    osbtest.Response{Status: 410, Body: `{}`},
			wantErr: "410 Gone"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			b := osbtest.New(t)
			b.On(osbtest.LastOperation, tc.resp)
			got, err := newClient(t, b).PollLastOperation(context.Background(), &osb.LastOperationRequest{InstanceID: "i", ServiceID: "s", PlanID: "p", Operation: "op-1"})
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, *got)
			assert.Equal(t, []string{"op-1"}, b.Requests(osbtest.LastOperation)[0].Query["operation"])
		})
	}
}

func TestRetryAfterHTTPDate(t *testing.T) {
	b := osbtest.New(t)
	when := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	b.On(osbtest.BindingLastOperation, osbtest.Response{Body: `{"state":"in progress"}`, Header: http.Header{"Retry-After": {when}}})
	got, err := newClient(t, b).PollBindingLastOperation(context.Background(), &osb.BindingLastOperationRequest{InstanceID: "i", BindingID: "b"})
	require.NoError(t, err)
	assert.Greater(t, got.RetryAfter, 60*time.Second)
	assert.LessOrEqual(t, got.RetryAfter, 90*time.Second)
}

func TestBindingEndpoints(t *testing.T) {
	b := osbtest.New(t)
	c := newClient(t, b)
	ctx := context.Background()

	b.On(osbtest.Bind, osbtest.Response{Status: 201, Body: `{"credentials":{"uri":"db://x","port":5432}}`})
	bound, err := c.Bind(ctx, &osb.BindRequest{InstanceID: "i", BindingID: "b", ServiceID: "s", PlanID: "p", Parameters: map[string]any{"role": "readonly"}})
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"uri": "db://x", "port": float64(5432)}, bound.Credentials)

	b.On(osbtest.Bind, osbtest.Response{Status: 202, Body: `{"operation":"bind-1"}`})
	bound, err = c.Bind(ctx, &osb.BindRequest{InstanceID: "i", BindingID: "b2", ServiceID: "s", PlanID: "p"})
	require.NoError(t, err)
	assert.True(t, bound.Async)
	assert.Equal(t, "bind-1", bound.Operation)

	fetched, err := c.GetBinding(ctx, &osb.GetBindingRequest{InstanceID: "i", BindingID: "b2", ServiceID: "s", PlanID: "p"})
	require.NoError(t, err)
	assert.Contains(t, fetched.Credentials, "uri")

	b.On(osbtest.GetInstance, osbtest.Response{Body: `{"service_id":"s","plan_id":"p","parameters":{"region":"eu"}}`})
	inst, err := c.GetInstance(ctx, &osb.GetInstanceRequest{InstanceID: "i"})
	require.NoError(t, err)
	assert.Equal(t, "p", inst.PlanID)

	b.On(osbtest.Update, osbtest.Response{Status: 202, Body: `{"operation":"upd-1"}`})
	upd, err := c.UpdateInstance(ctx, &osb.UpdateInstanceRequest{InstanceID: "i", ServiceID: "s", PlanID: "p2",
		PreviousValues: &osb.PreviousValues{PlanID: "p", ServiceID: "s"}, MaintenanceInfo: &osb.MaintenanceInfo{Version: "1.2.0"}})
	require.NoError(t, err)
	assert.True(t, upd.Async)
	var body map[string]any
	require.NoError(t, b.Requests(osbtest.Update)[0].JSON(&body))
	assert.Equal(t, map[string]any{"plan_id": "p", "service_id": "s"}, body["previous_values"])

	assert.Positive(t, b.Validator.Checked())
}

func TestLimits(t *testing.T) {
	t.Run("oversized response", func(t *testing.T) {
		b := osbtest.New(t)
		b.On(osbtest.Catalog, osbtest.Response{Body: `{"services":[],"padding":"` + strings.Repeat("x", 4096) + `"}`})
		_, err := newClient(t, b, func(c *osb.Config) { c.MaxCatalogBytes = 1024 }).GetCatalog(context.Background())
		require.ErrorIs(t, err, osb.ErrResponseTooLarge)
	})
	t.Run("broker that never answers", func(t *testing.T) {
		b := osbtest.New(t)
		b.On(osbtest.Catalog, osbtest.Response{Delay: time.Hour})
		_, err := newClient(t, b, func(c *osb.Config) { c.Timeout = 100 * time.Millisecond }).GetCatalog(context.Background())
		require.Error(t, err)
		assert.Contains(t, err.Error(), "GET /v2/catalog")
	})
	t.Run("error descriptions are bounded", func(t *testing.T) {
		b := osbtest.New(t)
		b.On(osbtest.Provision, osbtest.Response{Status: 400, Body: map[string]string{"description": strings.Repeat("y", 5000)}})
		_, err := newClient(t, b).Provision(context.Background(), &osb.ProvisionRequest{InstanceID: "i", ServiceID: "s", PlanID: "p", OrganizationGUID: "org", SpaceGUID: "space"})
		var httpErr *osb.HTTPError
		require.ErrorAs(t, err, &httpErr)
		assert.LessOrEqual(t, len(httpErr.Description), 1024+len("…"))
	})
}

func TestCatalogDecoding(t *testing.T) {
	b := osbtest.New(t)
	cat, err := newClient(t, b).GetCatalog(context.Background())
	require.NoError(t, err)
	require.Len(t, cat.Services, 2)
	db := cat.Services[0]
	assert.Equal(t, "database", db.Name)
	require.NotNil(t, db.Bindable)
	assert.True(t, *db.Bindable)
	require.Len(t, db.Plans, 2)
	var schema map[string]any
	require.NoError(t, json.Unmarshal(db.Plans[0].Schemas.ServiceInstance.Create.Parameters, &schema))
	assert.Equal(t, "object", schema["type"])
	assert.Equal(t, "1.2.0", db.Plans[1].MaintenanceInfo.Version)
	assert.Equal(t, int64(600), *db.Plans[1].MaximumPollingDuration)
}

func TestPollInterval(t *testing.T) {
	tests := map[string]struct {
		retryAfter, elapsed, max time.Duration
		low, high                time.Duration
	}{
		"Retry-After wins":          {retryAfter: 90 * time.Second, elapsed: time.Second, max: time.Minute, low: 90 * time.Second, high: 90 * time.Second},
		"at least a second":         {elapsed: 0, max: time.Minute, low: 900 * time.Millisecond, high: 1100 * time.Millisecond},
		"grows with the time spent": {elapsed: 40 * time.Second, max: time.Minute, low: 9 * time.Second, high: 11 * time.Second},
		"capped":                    {elapsed: time.Hour, max: time.Minute, low: 54 * time.Second, high: 66 * time.Second},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			for range 100 {
				got := osb.PollInterval(tc.retryAfter, tc.elapsed, tc.max)
				assert.GreaterOrEqual(t, got, tc.low)
				assert.LessOrEqual(t, got, tc.high)
			}
		})
	}
}

// TestIDsAreEscapedOnce: an id reaches the broker escaped exactly once, as
// one path segment.
func TestIDsAreEscapedOnce(t *testing.T) {
	tests := map[string]struct{ instance, binding, want string }{
		"plain":             {"db-1", "b-1", "/v2/service_instances/db-1/service_bindings/b-1"},
		"a space":           {"a b", "c d", "/v2/service_instances/a%20b/service_bindings/c%20d"},
		"a slash":           {"a/b", "c", "/v2/service_instances/a%2Fb/service_bindings/c"},
		"a percent":         {"100%", "c", "/v2/service_instances/100%25/service_bindings/c"},
		"under a base path": {"a b", "c", "/broker/v2/service_instances/a%20b/service_bindings/c"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var got string
			server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = strings.SplitN(r.RequestURI, "?", 2)[0]
				w.WriteHeader(http.StatusNotFound)
			}))
			defer server.Close()
			base := server.URL
			if strings.HasPrefix(tc.want, "/broker") {
				base += "/broker/"
			}
			c, err := osb.New(osb.Config{URL: base})
			require.NoError(t, err)
			_, _ = c.GetBinding(context.Background(), &osb.GetBindingRequest{InstanceID: tc.instance, BindingID: tc.binding})
			assert.Equal(t, tc.want, got)
		})
	}
}
