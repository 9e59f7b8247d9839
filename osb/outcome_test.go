package osb_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/servicecatalog/service-catalog/osb"
	"github.com/servicecatalog/service-catalog/osb/osbtest"
	"github.com/servicecatalog/service-catalog/osb/reach"
)

// provisionVia sends one provision through cfg and returns its error.
func provisionVia(t *testing.T, cfg osb.Config) error {
	t.Helper()
	cfg.Timeout = 200 * time.Millisecond
	c, err := osb.New(cfg)
	require.NoError(t, err)
	_, err = c.Provision(context.Background(), &osb.ProvisionRequest{InstanceID: "i", ServiceID: "s", PlanID: "p", OrganizationGUID: "o", SpaceGUID: "s"})
	require.Error(t, err)
	return err
}

// answering is a provision the fake broker answers with resp.
func answering(resp osbtest.Response) func(t *testing.T) error {
	return func(t *testing.T) error {
		b := osbtest.New(t)
		b.On(osbtest.Provision, resp)
		return provisionVia(t, osb.Config{URL: b.URL(), Auth: &osb.Auth{Basic: &osb.BasicAuth{Username: b.Username, Password: b.Password}}})
	}
}

// failingWith is a provision whose transport fails with err.
func failingWith(err error) func(t *testing.T) error {
	return func(t *testing.T) error {
		return provisionVia(t, osb.Config{URL: "http://broker.invalid", Transport: roundTripFunc(func(*http.Request) (*http.Response, error) { return nil, err })})
	}
}

func TestOutcomeOf(t *testing.T) {
	dnsErr := &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "broker.invalid", IsNotFound: true}}
	tests := map[string]struct {
		err  func(t *testing.T) error
		want osb.Outcome
	}{
		"408 Request Timeout":     {err: answering(osbtest.Response{Status: 408, Body: `{}`}), want: osb.Retriable},
		"422 ConcurrencyError":    {err: answering(osbtest.Response{Status: 422, Body: `{"error":"ConcurrencyError"}`}), want: osb.Retriable},
		"422 AsyncRequired":       {err: answering(osbtest.Response{Status: 422, Body: `{"error":"AsyncRequired"}`}), want: osb.Rejected},
		"422 without an error":    {err: answering(osbtest.Response{Status: 422, Body: `{}`}), want: osb.Rejected},
		"400 Bad Request":         {err: answering(osbtest.Response{Status: 400, Body: `{}`}), want: osb.Rejected},
		"409 Conflict":            {err: answering(osbtest.Response{Status: 409, Body: `{}`}), want: osb.Rejected},
		"410 Gone":                {err: answering(osbtest.Response{Status: 410, Body: `{}`}), want: osb.Rejected},
		"500":                     {err: answering(osbtest.Response{Status: 500, Body: `{}`}), want: osb.Uncertain},
		"500 ConcurrencyError":    {err: answering(osbtest.Response{Status: 500, Body: `{"error":"ConcurrencyError"}`}), want: osb.Uncertain},
		"503":                     {err: answering(osbtest.Response{Status: 503, Body: `{}`}), want: osb.Uncertain},
		"204, another 2xx":        {err: answering(osbtest.Response{Status: 204}), want: osb.Uncertain},
		"200 with malformed body": {err: answering(osbtest.Response{Status: 200, Body: `{"x":`}), want: osb.Rejected},
		"201 with malformed body": {err: answering(osbtest.Response{Status: 201, Body: `{"dashboard_url":`}), want: osb.Uncertain},
		"202 with malformed body": {err: answering(osbtest.Response{Status: 202, Body: `[1,2`}), want: osb.Uncertain},
		"timeout":                 {err: answering(osbtest.Response{Delay: time.Hour}), want: osb.Uncertain},
		"connection refused": {err: func(t *testing.T) error {
			return provisionVia(t, osb.Config{URL: closedPortURL(t)})
		}, want: osb.Retriable},
		"DNS error": {err: failingWith(dnsErr), want: osb.Retriable},
		"connection reset after the request": {err: func(t *testing.T) error {
			return provisionVia(t, osb.Config{URL: rawBroker(t, resetConnection)})
		}, want: osb.Uncertain},
		"dial timeout": {err: failingWith(&net.OpError{Op: "dial", Net: "tcp", Err: timeoutErr{}}), want: osb.Uncertain},
		// Nothing was sent, so no orphan mitigation; but the same address
		// is refused again, so no retry either.
		"address refused by policy": {err: func(t *testing.T) error {
			return provisionVia(t, osb.Config{URL: osbtest.New(t).URL(), Reach: reach.Default()})
		}, want: osb.Rejected},
		"refusal wrapped as a dial error": {err: failingWith(&net.OpError{Op: "dial", Net: "tcp", Err: &reach.RefusedError{}}), want: osb.Rejected},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := tc.err(t)
			assert.Equal(t, tc.want, osb.OutcomeOf(err), "%v", err)
		})
	}
}

// timeoutErr is a net.Error that timed out: a dial may have reached the
// broker's SYN queue before it gave up.
type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

// TestOutcomeOfEveryEndpoint checks that the one classification holds for
// every request that changes or polls broker state, not only provision.
func TestOutcomeOfEveryEndpoint(t *testing.T) {
	ctx := context.Background()
	calls := map[osbtest.Endpoint]func(c *osb.Client) error{
		osbtest.Provision: func(c *osb.Client) error {
			_, err := c.Provision(ctx, &osb.ProvisionRequest{InstanceID: "i", ServiceID: "s", PlanID: "p", OrganizationGUID: "o", SpaceGUID: "s"})
			return err
		},
		osbtest.Update: func(c *osb.Client) error {
			_, err := c.UpdateInstance(ctx, &osb.UpdateInstanceRequest{InstanceID: "i", ServiceID: "s"})
			return err
		},
		osbtest.Deprovision: func(c *osb.Client) error {
			_, err := c.Deprovision(ctx, &osb.DeprovisionRequest{InstanceID: "i", ServiceID: "s", PlanID: "p"})
			return err
		},
		osbtest.Bind: func(c *osb.Client) error {
			_, err := c.Bind(ctx, &osb.BindRequest{InstanceID: "i", BindingID: "b", ServiceID: "s", PlanID: "p"})
			return err
		},
		osbtest.Unbind: func(c *osb.Client) error {
			_, err := c.Unbind(ctx, &osb.UnbindRequest{InstanceID: "i", BindingID: "b", ServiceID: "s", PlanID: "p"})
			return err
		},
		osbtest.LastOperation: func(c *osb.Client) error {
			_, err := c.PollLastOperation(ctx, &osb.LastOperationRequest{InstanceID: "i"})
			return err
		},
		osbtest.BindingLastOperation: func(c *osb.Client) error {
			_, err := c.PollBindingLastOperation(ctx, &osb.BindingLastOperationRequest{InstanceID: "i", BindingID: "b"})
			return err
		},
	}
	answers := map[string]struct {
		resp osbtest.Response
		want osb.Outcome
	}{
		"422 ConcurrencyError": {resp: osbtest.Response{Status: 422, Body: `{"error":"ConcurrencyError"}`}, want: osb.Retriable},
		"400":                  {resp: osbtest.Response{Status: 400, Body: `{}`}, want: osb.Rejected},
		"502":                  {resp: osbtest.Response{Status: 502, Body: `{}`}, want: osb.Uncertain},
	}
	for ep, call := range calls {
		for name, answer := range answers {
			t.Run(string(ep)+" "+name, func(t *testing.T) {
				b := osbtest.New(t)
				b.On(ep, answer.resp)
				err := call(newClient(t, b))
				require.Error(t, err)
				assert.Equal(t, answer.want, osb.OutcomeOf(err), "%v", err)
			})
		}
	}
}

func TestOutcomeString(t *testing.T) {
	assert.Equal(t, "Rejected", osb.Rejected.String())
	assert.Equal(t, "Uncertain", osb.Uncertain.String())
	assert.Equal(t, "Retriable", osb.Retriable.String())
	assert.Equal(t, "Outcome(7)", osb.Outcome(7).String())
}

// TestNeverSent keeps NeverSent and OutcomeOf consistent: what NeverSent
// reports is never Uncertain, so it never triggers orphan mitigation.
func TestNeverSent(t *testing.T) {
	tests := map[string]struct {
		err     error
		want    bool
		outcome osb.Outcome
	}{
		"connection refused":      {err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, want: true, outcome: osb.Retriable},
		"host not found":          {err: &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", IsNotFound: true}}, want: true, outcome: osb.Retriable},
		"address refused at dial": {err: &net.OpError{Op: "dial", Net: "tcp", Err: &reach.RefusedError{}}, want: true, outcome: osb.Rejected},
		"address refused, bare":   {err: &reach.RefusedError{}, want: true, outcome: osb.Rejected},
		"dial timeout":            {err: &net.OpError{Op: "dial", Net: "tcp", Err: timeoutErr{}}, want: false, outcome: osb.Uncertain},
		"reset after writing":     {err: &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, want: false, outcome: osb.Uncertain},
		"closed without answer":   {err: io.EOF, want: false, outcome: osb.Uncertain},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := &osb.TransportError{Method: "PUT", Path: "/v2/service_instances/i", Err: tc.err}
			assert.Equal(t, tc.want, err.NeverSent())
			assert.Equal(t, tc.outcome, osb.OutcomeOf(err))
		})
	}
}
