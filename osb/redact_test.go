package osb_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/servicecatalog/service-catalog/osb"
)

// The credentials the tests must never find in an error. The password has
// characters that quoting and URL escaping change.
const (
	secretUser     = "catalog"
	secretPassword = `Pa55"w0rd/Zq`
	secretToken    = "t0ken-Bearer-XYZ"
)

// assertNoSecret checks err's text, and that of every error in its chain,
// for each secret.
func assertNoSecret(t *testing.T, err error, secrets ...string) {
	t.Helper()
	require.Error(t, err)
	for e := err; e != nil; e = errors.Unwrap(e) {
		for _, s := range secrets {
			assert.NotContains(t, e.Error(), s, "%T in the chain of %q", e, err)
		}
	}
}

func TestNewErrorsHideTheURLPassword(t *testing.T) {
	tests := map[string]struct {
		url string
		// secrets are the parts of the password the error must not show.
		secrets []string
		want    string
	}{
		"bad port":                     {url: "http://admin:hunter2-pw@broker:bad", secrets: []string{"hunter2-pw"}, want: `broker URL "http://<redacted>@broker:bad" is not a valid URL`},
		"space in the host":            {url: "http://admin:hunter2-pw@bro ker", secrets: []string{"hunter2-pw"}, want: "is not a valid URL"},
		"bad escape":                   {url: "http://admin:hunter2%zz-pw@broker", secrets: []string{"hunter2", "%zz"}, want: "percent-encode special characters"},
		"control character":            {url: "http://admin:hunter2-pw@broker/\n", secrets: []string{"hunter2-pw"}, want: "is not a valid URL"},
		"unescaped / taken for a port": {url: "http://admin:hunter2/pw@broker", secrets: []string{"hunter2"}, want: "is not a valid URL"},
		"unescaped / after a numeric start": {url: "http://admin:1234/hunter2@broker", secrets: []string{"1234", "hunter2"},
			want: `broker URL "http://<redacted>@broker": '@' after the host`},
		"unescaped # in the password": {url: "http://admin:8080#hunter2@broker", secrets: []string{"8080", "hunter2"}, want: "'@' after the host"},
		"not http":                    {url: "ftp://admin:hunter2-pw@broker", secrets: []string{"hunter2-pw"}, want: `broker URL "ftp://<redacted>@broker": scheme must be http or https`},
		"no host":                     {url: "http://admin:hunter2-pw@", secrets: []string{"hunter2-pw"}, want: "no host"},
		"no scheme":                   {url: "admin:hunter2-pw@broker", secrets: []string{"hunter2-pw"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := osb.New(osb.Config{URL: tc.url})
			assertNoSecret(t, err, tc.secrets...)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	t.Run("without userinfo the parser's detail stays", func(t *testing.T) {
		_, err := osb.New(osb.Config{URL: "http://broker:bad"})
		require.EqualError(t, err, `broker URL "http://broker:bad": invalid port ":bad" after host`)
		var urlErr *url.Error
		assert.False(t, errors.As(err, &urlErr), "url.Error repeats the URL")
	})
}

// credentials are the ways a client can be given a secret.
var credentials = map[string]struct {
	cfg     func(brokerURL string) osb.Config
	secrets []string
}{
	"basic in authInfo": {
		cfg: func(u string) osb.Config {
			return osb.Config{URL: u, Auth: &osb.Auth{Basic: &osb.BasicAuth{Username: secretUser, Password: secretPassword}}}
		},
		secrets: basicSecrets(),
	},
	"basic in the URL": {
		cfg: func(u string) osb.Config {
			return osb.Config{URL: strings.Replace(u, "://", "://"+url.UserPassword(secretUser, secretPassword).String()+"@", 1)}
		},
		secrets: basicSecrets(),
	},
	"bearer": {
		cfg: func(u string) osb.Config {
			return osb.Config{URL: u, Auth: &osb.Auth{Bearer: &osb.BearerAuth{Token: secretToken}}}
		},
		secrets: []string{secretToken, "t0ke"},
	},
}

// basicSecrets are the password in the forms a broker or a library may
// echo it in: as is, quoted, URL-escaped, and in the Authorization header.
func basicSecrets() []string {
	return []string{
		secretPassword, `Pa55\"w0rd`, url.QueryEscape(secretPassword), url.PathEscape(secretPassword),
		base64.StdEncoding.EncodeToString([]byte(secretUser + ":" + secretPassword)),
		"Pa55", // no part of a password cut by truncation
	}
}

// echo is everything a naive broker could repeat: the Authorization header
// and the password or token decoded from it.
func echo(r *http.Request) string {
	auth := r.Header.Get("Authorization")
	if _, password, ok := r.BasicAuth(); ok {
		return auth + " " + password
	}
	return auth + " " + strings.TrimPrefix(auth, "Bearer ")
}

// echoing is a broker that answers every request with status and the body
// body(echo(r)).
func echoing(status int, body func(echo string) string) func(t *testing.T) string {
	return func(t *testing.T) string {
		server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body(echo(r))))
		}))
		t.Cleanup(server.Close)
		return server.URL
	}
}

// statusLineEcho is a broker that answers with a malformed status line
// holding the echo, which net/http quotes in its error.
func statusLineEcho(t *testing.T) string {
	return rawBroker(t, func(conn *net.TCPConn, r *http.Request) {
		_, _ = fmt.Fprintf(conn, "HTTP/1.1_%s\r\n\r\n", strings.ReplaceAll(echo(r), " ", "_"))
	})
}

func errorBody(echo string) string {
	return fmt.Sprintf(`{"error":%q,"description":%q}`, echo, "the broker got "+echo)
}

func TestClientErrorsHideItsCredentials(t *testing.T) {
	tests := map[string]struct {
		broker func(t *testing.T) string
		// check asserts the typed error is still there for errors.As.
		check func(t *testing.T, err error)
	}{
		"400 echoing the credentials": {broker: echoing(400, errorBody), check: wantHTTPError(400)},
		"500 echoing the credentials": {broker: echoing(500, errorBody), check: wantHTTPError(500)},
		"a secret cut by the description limit": {
			broker: echoing(400, func(echo string) string {
				return fmt.Sprintf(`{"description":%q}`, strings.Repeat("x", 1020)+echo[strings.LastIndex(echo, " ")+1:])
			}),
			check: func(t *testing.T, err error) {
				var httpErr *osb.HTTPError
				require.ErrorAs(t, err, &httpErr)
				assert.True(t, strings.HasSuffix(httpErr.Description, "x<red…"), "redacted before it was cut: %q", httpErr.Description)
			},
		},
		"malformed body echoing the credentials": {
			broker: echoing(201, func(echo string) string { return `{"dashboard_url": ` + echo }),
			check:  wantMalformed(201),
		},
		"malformed status line echoing the credentials": {broker: statusLineEcho, check: wantTransportError},
		"transport failure to a closed port": {
			broker: closedPortURL,
			check: func(t *testing.T, err error) {
				wantTransportError(t, err)
				assert.ErrorIs(t, err, syscall.ECONNREFUSED)
			},
		},
	}
	for name, tc := range tests {
		for credName, cred := range credentials {
			t.Run(name+" with "+credName, func(t *testing.T) {
				c, err := osb.New(cred.cfg(tc.broker(t)))
				require.NoError(t, err)
				_, err = c.Provision(context.Background(), &osb.ProvisionRequest{InstanceID: "i", ServiceID: "s", PlanID: "p", OrganizationGUID: "o", SpaceGUID: "s"})
				assertNoSecret(t, err, cred.secrets...)
				tc.check(t, err)
			})
		}
	}
}

func wantHTTPError(status int) func(t *testing.T, err error) {
	return func(t *testing.T, err error) {
		var httpErr *osb.HTTPError
		require.ErrorAs(t, err, &httpErr)
		assert.Equal(t, status, httpErr.StatusCode)
		assert.Contains(t, httpErr.Description, "<redacted>")
	}
}

func wantMalformed(status int) func(t *testing.T, err error) {
	return func(t *testing.T, err error) {
		var malformed *osb.MalformedResponseError
		require.ErrorAs(t, err, &malformed)
		assert.Equal(t, status, malformed.StatusCode)
		assert.Equal(t, osb.Uncertain, osb.OutcomeOf(err))
	}
}

func wantTransportError(t *testing.T, err error) {
	var transport *osb.TransportError
	require.ErrorAs(t, err, &transport)
	assert.Equal(t, http.MethodPut, transport.Method)
	assert.Equal(t, "/v2/service_instances/i", transport.Path)
}

// TestEveryMethodHidesItsCredentials sends each public method to a broker
// that echoes the credentials into an error, so that a method added without
// the redaction fails here.
func TestEveryMethodHidesItsCredentials(t *testing.T) {
	ctx := context.Background()
	methods := map[string]func(c *osb.Client) error{
		"GetCatalog": func(c *osb.Client) error { _, err := c.GetCatalog(ctx); return err },
		"Provision": func(c *osb.Client) error {
			_, err := c.Provision(ctx, &osb.ProvisionRequest{InstanceID: "i", ServiceID: "s", PlanID: "p", OrganizationGUID: "o", SpaceGUID: "s"})
			return err
		},
		"UpdateInstance": func(c *osb.Client) error {
			_, err := c.UpdateInstance(ctx, &osb.UpdateInstanceRequest{InstanceID: "i", ServiceID: "s"})
			return err
		},
		"Deprovision": func(c *osb.Client) error {
			_, err := c.Deprovision(ctx, &osb.DeprovisionRequest{InstanceID: "i", ServiceID: "s", PlanID: "p"})
			return err
		},
		"GetInstance": func(c *osb.Client) error {
			_, err := c.GetInstance(ctx, &osb.GetInstanceRequest{InstanceID: "i"})
			return err
		},
		"PollLastOperation": func(c *osb.Client) error {
			_, err := c.PollLastOperation(ctx, &osb.LastOperationRequest{InstanceID: "i"})
			return err
		},
		"Bind": func(c *osb.Client) error {
			_, err := c.Bind(ctx, &osb.BindRequest{InstanceID: "i", BindingID: "b", ServiceID: "s", PlanID: "p"})
			return err
		},
		"Unbind": func(c *osb.Client) error {
			_, err := c.Unbind(ctx, &osb.UnbindRequest{InstanceID: "i", BindingID: "b", ServiceID: "s", PlanID: "p"})
			return err
		},
		"GetBinding": func(c *osb.Client) error {
			_, err := c.GetBinding(ctx, &osb.GetBindingRequest{InstanceID: "i", BindingID: "b"})
			return err
		},
		"PollBindingLastOperation": func(c *osb.Client) error {
			_, err := c.PollBindingLastOperation(ctx, &osb.BindingLastOperationRequest{InstanceID: "i", BindingID: "b"})
			return err
		},
	}
	// The HTTP error is redacted where it is built; the transport error
	// only by the pass every method defers.
	brokers := map[string]struct {
		url   func(t *testing.T) string
		check func(t *testing.T, err error)
	}{
		"400 echoing the credentials": {url: echoing(400, errorBody), check: wantHTTPError(400)},
		"malformed status line echoing the credentials": {url: statusLineEcho, check: func(t *testing.T, err error) {
			var transport *osb.TransportError
			assert.ErrorAs(t, err, &transport)
		}},
	}
	for name, call := range methods {
		for brokerName, broker := range brokers {
			for credName, cred := range credentials {
				t.Run(name+" to "+brokerName+" with "+credName, func(t *testing.T) {
					c, err := osb.New(cred.cfg(broker.url(t)))
					require.NoError(t, err)
					err = call(c)
					assertNoSecret(t, err, cred.secrets...)
					broker.check(t, err)
				})
			}
		}
	}
}

func TestLastOperationStateHidesCredentials(t *testing.T) {
	for credName, cred := range credentials {
		t.Run(credName, func(t *testing.T) {
			brokerURL := echoing(200, func(echo string) string { return fmt.Sprintf(`{"state":%q}`, echo) })(t)
			c, err := osb.New(cred.cfg(brokerURL))
			require.NoError(t, err)
			_, err = c.PollLastOperation(context.Background(), &osb.LastOperationRequest{InstanceID: "i"})
			assertNoSecret(t, err, cred.secrets...)
			assert.ErrorContains(t, err, "is not one of in progress, succeeded, failed")
		})
	}
}

// TestLastOperationDescriptionHidesCredentials: a description is no error,
// yet it reaches conditions and events, so it is redacted too.
func TestLastOperationDescriptionHidesCredentials(t *testing.T) {
	for credName, cred := range credentials {
		t.Run(credName, func(t *testing.T) {
			brokerURL := echoing(200, func(echo string) string {
				return fmt.Sprintf(`{"state":"failed","description":%q}`, "it broke; you sent "+echo)
			})(t)
			c, err := osb.New(cred.cfg(brokerURL))
			require.NoError(t, err)
			for name, poll := range map[string]func() (*osb.LastOperationResponse, error){
				"instance": func() (*osb.LastOperationResponse, error) {
					return c.PollLastOperation(context.Background(), &osb.LastOperationRequest{InstanceID: "i"})
				},
				"binding": func() (*osb.LastOperationResponse, error) {
					return c.PollBindingLastOperation(context.Background(), &osb.BindingLastOperationRequest{InstanceID: "i", BindingID: "b"})
				},
			} {
				resp, err := poll()
				require.NoError(t, err, name)
				assert.Contains(t, resp.Description, "it broke; you sent", name)
				for _, secret := range cred.secrets {
					assert.NotContains(t, resp.Description, secret, name)
				}
			}
		})
	}
}
