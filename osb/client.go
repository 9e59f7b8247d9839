package osb

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/servicecatalog/service-catalog/osb/reach"
)

// APIVersion is the OSB version the client speaks, sent on every request.
const APIVersion = "2.17"

// Header names the spec defines.
const (
	HeaderAPIVersion          = "X-Broker-API-Version"
	HeaderRequestIdentity     = "X-Broker-API-Request-Identity"
	HeaderOriginatingIdentity = "X-Broker-API-Originating-Identity"
)

// Defaults for Config fields left zero.
const (
	DefaultTimeout          = 60 * time.Second
	DefaultMaxResponseBytes = 1 << 20  // 1 MiB: any response but the catalog
	DefaultMaxCatalogBytes  = 32 << 20 // 32 MiB: thousands of plans with schemas
)

// Config says how to reach one broker.
type Config struct {
	// URL is the broker's base URL. Userinfo in it (http://user:pass@host)
	// is used for basic auth when Auth is nil, and never sent in the URL.
	URL string
	// Auth, when set, authenticates every request.
	Auth *Auth
	// CABundle holds PEM certificates that verify the broker's certificate.
	CABundle []byte
	// InsecureSkipTLSVerify skips verification of the broker's certificate.
	InsecureSkipTLSVerify bool
	// Timeout bounds each request, connection to last byte.
	Timeout time.Duration
	// MaxResponseBytes bounds every response body but the catalog's.
	MaxResponseBytes int64
	// MaxCatalogBytes bounds the catalog response body.
	MaxCatalogBytes int64
	// Transport, when set, replaces the HTTP transport (tests). It cannot
	// be combined with Reach, which only the client's own transport enforces.
	Transport http.RoundTripper
	// Reach, when set, limits the addresses the client connects to: the
	// resolved address of every connection is checked before anything is
	// sent, and a refusal is a *TransportError holding a
	// *reach.RefusedError. Such a client uses no proxy, since a proxy would
	// connect on its behalf, unchecked. Nil refuses nothing.
	Reach *reach.Policy
	// Observe, when set, hears of every exchange: the operation (see
	// OperationOf), the HTTP status (0 when none came back) and how long it
	// took. It is called for metrics; it must not block.
	Observe func(operation string, status int, elapsed time.Duration)
}

// Auth holds credentials: either basic or bearer.
type Auth struct {
	Basic  *BasicAuth
	Bearer *BearerAuth
}

// BasicAuth is a username and password.
type BasicAuth struct {
	Username, Password string
}

// BearerAuth is a bearer token.
type BearerAuth struct {
	Token string
}

// Client talks to one broker. It is safe for concurrent use.
type Client struct {
	observe         func(operation string, status int, elapsed time.Duration)
	base            *url.URL
	auth            *Auth
	secrets         secrets
	http            *http.Client
	maxBytes        int64
	maxCatalogBytes int64
}

// New checks cfg and returns a client for it. Its errors never hold the
// URL's password.
func New(cfg Config) (*Client, error) {
	base, err := parseBaseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	auth, err := authOf(base, cfg.Auth)
	if err != nil {
		return nil, err
	}
	base.Path = strings.TrimSuffix(base.Path, "/")
	transport := cfg.Transport
	if transport != nil && cfg.Reach != nil {
		// Fail closed: the policy would silently not apply.
		return nil, errors.New("broker client: a custom Transport bypasses the address policy (Reach); set one of them")
	}
	if transport == nil {
		if transport, err = newTransport(cfg); err != nil {
			return nil, err
		}
	}
	return &Client{
		base:    base,
		auth:    auth,
		observe: cfg.Observe,
		secrets: newSecrets(auth),
		http: &http.Client{
			Transport: transport,
			Timeout:   orDefault(cfg.Timeout, DefaultTimeout),
			// A redirect would resend credentials to wherever the broker
			// points; the spec has no redirects, so follow none.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		maxBytes:        orDefault(cfg.MaxResponseBytes, DefaultMaxResponseBytes),
		maxCatalogBytes: orDefault(cfg.MaxCatalogBytes, DefaultMaxCatalogBytes),
	}, nil
}

// authOf picks the credentials: auth, or the userinfo of base, which it
// removes from base so that it never travels in a request URL.
func authOf(base *url.URL, auth *Auth) (*Auth, error) {
	if base.User != nil {
		if auth != nil {
			return nil, errors.New("broker credentials are given both in the URL and in authInfo; keep one")
		}
		password, _ := base.User.Password()
		auth = &Auth{Basic: &BasicAuth{Username: base.User.Username(), Password: password}}
		base.User = nil
	}
	if auth != nil && auth.Basic != nil && auth.Bearer != nil {
		return nil, errors.New("broker auth: set basic or bearer, not both")
	}
	return auth, nil
}

// newTransport is the HTTP transport for cfg's TLS settings and timeout.
func newTransport(cfg Config) (http.RoundTripper, error) {
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.InsecureSkipTLSVerify} //nolint:gosec // only when the broker's owner asks
	if len(cfg.CABundle) > 0 {
		if cfg.InsecureSkipTLSVerify {
			return nil, errors.New("broker TLS: set caBundle or insecureSkipTLSVerify, not both")
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(cfg.CABundle) {
			return nil, errors.New("broker TLS: caBundle holds no PEM certificate")
		}
		tlsConfig.RootCAs = pool
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	proxy := http.ProxyFromEnvironment
	if cfg.Reach != nil {
		dialer.Control = cfg.Reach.Control
		// Through a proxy the dial would reach the proxy, and the proxy the
		// refused address: a restricted client connects directly.
		proxy = nil
	}
	return &http.Transport{
		Proxy:                 proxy,
		DialContext:           dialer.DialContext,
		TLSClientConfig:       tlsConfig,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: orDefault(cfg.Timeout, DefaultTimeout),
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
	}, nil
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// request is one HTTP exchange with the broker.
type request struct {
	method   string
	path     string
	query    url.Values
	body     any
	identity *OriginatingIdentity
	maxBytes int64
}

// response is a broker's answer, its body read within the size limit.
type response struct {
	status     int
	body       []byte
	retryAfter time.Duration
	method     string
	path       string
	// secrets are the client's, to redact broker text before it is cut
	// short: a secret cut in two would pass redaction later.
	secrets secrets
}

// do sends r and reads the answer. Any status is a response; only a failed
// exchange is an error.
func (c *Client) do(ctx context.Context, r request) (*response, error) {
	req, err := c.newRequest(ctx, r)
	if err != nil {
		return nil, err
	}
	started := time.Now()
	resp, err := c.http.Do(req)
	if c.observe != nil {
		status := 0
		if err == nil {
			status = resp.StatusCode
		}
		c.observe(OperationOf(r.method, r.path), status, time.Since(started))
	}
	if err != nil {
		// url.Error repeats the URL; the path is enough and holds no secret.
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			err = urlErr.Err
		}
		return nil, &TransportError{Method: r.method, Path: r.path, Err: err}
	}
	defer resp.Body.Close()
	raw, err := readLimited(resp.Body, orDefault(r.maxBytes, c.maxBytes))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", r.method, r.path, err)
	}
	return &response{
		status:     resp.StatusCode,
		body:       raw,
		retryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()),
		method:     r.method,
		path:       r.path,
		secrets:    c.secrets,
	}, nil
}

// newRequest builds the HTTP request for r with the headers the spec
// requires and the client's credentials.
func (c *Client) newRequest(ctx context.Context, r request) (*http.Request, error) {
	// r.path is escaped (ids are escaped once, where the path is built):
	// it goes into RawPath as it is, and into Path decoded, so that
	// url.URL does not escape it a second time.
	decoded, err := url.PathUnescape(r.path)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", r.method, r.path, err)
	}
	u := *c.base
	u.Path = c.base.Path + decoded
	u.RawPath = c.base.EscapedPath() + r.path
	u.RawQuery = r.query.Encode()

	var body io.Reader
	if r.body != nil {
		raw, err := json.Marshal(r.body)
		if err != nil {
			return nil, fmt.Errorf("encode %s %s request: %w", r.method, r.path, err)
		}
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), body)
	if err != nil {
		return nil, err
	}
	req.Header.Set(HeaderAPIVersion, APIVersion)
	req.Header.Set(HeaderRequestIdentity, uuid.NewString())
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.identity != nil {
		value, err := r.identity.HeaderValue()
		if err != nil {
			return nil, err
		}
		req.Header.Set(HeaderOriginatingIdentity, value)
	}
	c.authorize(req)
	return req, nil
}

// authorize adds the client's credentials, if any, to req.
func (c *Client) authorize(req *http.Request) {
	switch {
	case c.auth == nil:
	case c.auth.Basic != nil:
		req.SetBasicAuth(c.auth.Basic.Username, c.auth.Basic.Password)
	case c.auth.Bearer != nil:
		req.Header.Set("Authorization", "Bearer "+c.auth.Bearer.Token)
	}
}

// readLimited reads body whole, or fails with ErrResponseTooLarge once it
// passes limit bytes: a broken broker must not exhaust the caller's memory.
func readLimited(body io.Reader, limit int64) ([]byte, error) {
	raw, err := io.ReadAll(io.LimitReader(body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read response: %w", err)
	}
	if int64(len(raw)) > limit {
		return nil, fmt.Errorf("%w (limit %d bytes)", ErrResponseTooLarge, limit)
	}
	return raw, nil
}

// decode reads the body as JSON into v. Unknown fields are ignored, as the
// spec allows brokers to add them.
func (r *response) decode(v any) error {
	if len(bytes.TrimSpace(r.body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		return &MalformedResponseError{StatusCode: r.status, Method: r.method, Path: r.path, Err: err}
	}
	return nil
}

// unexpected turns a response the endpoint does not define as success into
// an *HTTPError, reading the OSB error body when there is one.
func (r *response) unexpected() error {
	e := &HTTPError{StatusCode: r.status, RetryAfter: r.retryAfter, Method: r.method, Path: r.path}
	var body struct {
		Error            string `json:"error"`
		Description      string `json:"description"`
		InstanceUsable   *bool  `json:"instance_usable"`
		UpdateRepeatable *bool  `json:"update_repeatable"`
	}
	if json.Unmarshal(r.body, &body) == nil {
		e.ErrorCode = r.secrets.redact(body.Error)
		e.Description = truncate(r.secrets.redact(body.Description), 1024)
		e.InstanceUsable = body.InstanceUsable
		e.UpdateRepeatable = body.UpdateRepeatable
	}
	return e
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var seconds int64
	if _, err := fmt.Sscanf(v, "%d", &seconds); err == nil && fmt.Sprint(seconds) == v {
		if seconds < 0 {
			return 0
		}
		return time.Duration(seconds) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// OperationOf names the OSB operation of a request, for metrics: catalog,
// provision, update, deprovision, get_instance, last_operation, bind,
// unbind, get_binding, binding_last_operation.
func OperationOf(method, path string) string {
	binding := strings.Contains(path, "/service_bindings/")
	switch {
	case strings.HasSuffix(path, "/v2/catalog"):
		return "catalog"
	case strings.HasSuffix(path, "/last_operation") && binding:
		return "binding_last_operation"
	case strings.HasSuffix(path, "/last_operation"):
		return "last_operation"
	}
	ops := map[string][2]string{
		http.MethodPut: {"provision", "bind"}, http.MethodPatch: {"update", "update_binding"},
		http.MethodDelete: {"deprovision", "unbind"}, http.MethodGet: {"get_instance", "get_binding"},
	}
	pair, ok := ops[method]
	if !ok {
		return "other"
	}
	if binding {
		return pair[1]
	}
	return pair[0]
}

// CloseIdleConnections closes the connections the client keeps open for
// reuse; for a client that is replaced or no longer needed.
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }
