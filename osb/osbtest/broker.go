// Package osbtest is a scriptable fake OSB broker for tests: any status,
// body, header or delay per endpoint, every request recorded, and every
// request checked against the OSB v2.17 OpenAPI document.
package osbtest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Endpoint names an OSB endpoint.
type Endpoint string

// The endpoints the fake broker serves.
const (
	Catalog              Endpoint = "catalog"
	Provision            Endpoint = "provision"
	Update               Endpoint = "update"
	Deprovision          Endpoint = "deprovision"
	GetInstance          Endpoint = "get-instance"
	LastOperation        Endpoint = "last-operation"
	Bind                 Endpoint = "bind"
	Unbind               Endpoint = "unbind"
	GetBinding           Endpoint = "get-binding"
	BindingLastOperation Endpoint = "binding-last-operation"
)

// Response is one scripted answer.
type Response struct {
	// Status is the HTTP status; 200 when zero.
	Status int
	// Body is sent as is when a string or []byte, as JSON otherwise.
	Body any
	// Header is added to the response.
	Header http.Header
	// Delay holds the response back, or until the request is cancelled.
	Delay time.Duration
}

// Request is a recorded request.
type Request struct {
	Endpoint Endpoint
	Method   string
	Path     string
	Query    map[string][]string
	Header   http.Header
	Body     []byte
	// At is when the request arrived.
	At time.Time
}

// JSON decodes the request body into v.
func (r Request) JSON(v any) error { return json.Unmarshal(r.Body, v) }

// Broker is a running fake broker.
type Broker struct {
	// Server is the HTTP server; URL() is its address.
	Server *httptest.Server
	// Validator holds the OpenAPI check of every request received.
	Validator *Validator
	// Username and Password are the basic credentials the broker requires.
	Username, Password string
	// Token, when set, is the bearer token the broker requires instead.
	Token string

	mu       sync.Mutex
	scripts  map[Endpoint][]Response
	requests []Request
}

// DefaultUsername and DefaultPassword are the credentials a new Broker requires.
const (
	DefaultUsername = "broker-user"
	DefaultPassword = "broker-password"
)

// New starts a fake broker that answers every endpoint with a plausible
// success until told otherwise, and fails t for every request that breaks
// the OSB OpenAPI document.
func New(t TB) *Broker {
	b := &Broker{
		Validator: NewValidator(t),
		Username:  DefaultUsername,
		Password:  DefaultPassword,
		scripts:   map[Endpoint][]Response{},
	}
	b.Server = httptest.NewServer(http.HandlerFunc(b.serve))
	t.Cleanup(b.Server.Close)
	return b
}

// URL is the broker's base URL.
func (b *Broker) URL() string { return b.Server.URL }

// On scripts the answers to an endpoint: each request takes the next
// response, and the last one repeats.
func (b *Broker) On(ep Endpoint, responses ...Response) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.scripts[ep] = responses
}

// Requests returns the recorded requests, all of them or those of the
// given endpoints.
func (b *Broker) Requests(eps ...Endpoint) []Request {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []Request
	for _, r := range b.requests {
		if len(eps) == 0 || contains(eps, r.Endpoint) {
			out = append(out, r)
		}
	}
	return out
}

func contains(eps []Endpoint, ep Endpoint) bool {
	for _, e := range eps {
		if e == ep {
			return true
		}
	}
	return false
}

func (b *Broker) serve(w http.ResponseWriter, r *http.Request) {
	b.Validator.Check(r)
	body, _ := io.ReadAll(r.Body)
	ep := endpointOf(r.Method, r.URL.Path)
	b.mu.Lock()
	b.requests = append(b.requests, Request{Endpoint: ep, Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: body, At: time.Now()})
	resp := b.next(ep)
	b.mu.Unlock()

	if !b.authorized(r) {
		writeJSON(w, Response{Status: http.StatusUnauthorized, Body: map[string]string{"description": "bad credentials"}})
		return
	}
	if ep == "" {
		writeJSON(w, Response{Status: http.StatusNotFound, Body: map[string]string{"description": "no such endpoint"}})
		return
	}
	if resp.Delay > 0 {
		select {
		case <-time.After(resp.Delay):
		case <-r.Context().Done():
			return
		}
	}
	writeJSON(w, resp)
}

func (b *Broker) authorized(r *http.Request) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.Token != "" {
		return r.Header.Get("Authorization") == "Bearer "+b.Token
	}
	user, pass, ok := r.BasicAuth()
	return ok && user == b.Username && pass == b.Password
}

// SetToken makes the broker require a bearer token instead of basic auth.
func (b *Broker) SetToken(token string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.Token = token
}

// SetPassword changes the password the broker requires.
func (b *Broker) SetPassword(password string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.Password = password
}

func (b *Broker) next(ep Endpoint) Response {
	script := b.scripts[ep]
	if len(script) == 0 {
		return defaultResponse(ep)
	}
	resp := script[0]
	if len(script) > 1 {
		b.scripts[ep] = script[1:]
	}
	return resp
}

func writeJSON(w http.ResponseWriter, resp Response) {
	for k, vs := range resp.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	var raw []byte
	switch body := resp.Body.(type) {
	case nil:
		raw = []byte("{}")
	case string:
		raw = []byte(body)
	case []byte:
		raw = body
	default:
		raw, _ = json.Marshal(body)
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	status := resp.Status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = io.Copy(w, bytes.NewReader(raw))
}

// endpointOf maps a method and path to an endpoint, "" when none.
func endpointOf(method, path string) Endpoint {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case len(parts) == 2 && parts[0] == "v2" && parts[1] == "catalog" && method == http.MethodGet:
		return Catalog
	case len(parts) < 3 || parts[0] != "v2" || parts[1] != "service_instances":
		return ""
	case len(parts) == 3:
		return map[string]Endpoint{http.MethodPut: Provision, http.MethodPatch: Update, http.MethodDelete: Deprovision, http.MethodGet: GetInstance}[method]
	case len(parts) == 4 && parts[3] == "last_operation" && method == http.MethodGet:
		return LastOperation
	case len(parts) == 5 && parts[3] == "service_bindings":
		return map[string]Endpoint{http.MethodPut: Bind, http.MethodDelete: Unbind, http.MethodGet: GetBinding}[method]
	case len(parts) == 6 && parts[3] == "service_bindings" && parts[5] == "last_operation" && method == http.MethodGet:
		return BindingLastOperation
	}
	return ""
}

func defaultResponse(ep Endpoint) Response {
	switch ep {
	case Catalog:
		return Response{Body: SampleCatalog()}
	case Provision, Bind:
		body := map[string]any{}
		if ep == Bind {
			body["credentials"] = map[string]any{"uri": "db://user:secret@db.example.com:5432/db", "username": "user", "password": "secret"}
		}
		return Response{Status: http.StatusCreated, Body: body}
	case LastOperation, BindingLastOperation:
		return Response{Body: map[string]string{"state": "succeeded"}}
	case GetBinding:
		return Response{Body: map[string]any{"credentials": map[string]any{"uri": "db://user:secret@db.example.com:5432/db"}}}
	}
	return Response{}
}

// SampleCatalog is a small catalog: one bindable service with two plans
// and schemas, and one service that cannot be bound.
func SampleCatalog() map[string]any {
	return map[string]any{"services": []any{
		map[string]any{
			"id": "4f6e6cf6-ffdd-425f-a2c7-3c9258ad2468", "name": "database", "description": "A database",
			"bindable": true, "plan_updateable": true, "tags": []string{"sql"},
			"plans": []any{
				map[string]any{"id": "86064792-7ea2-467b-af93-ac9694d96d52", "name": "small", "description": "Small", "free": true,
					"schemas": map[string]any{"service_instance": map[string]any{"create": map[string]any{"parameters": map[string]any{
						"$schema": "http://json-schema.org/draft-04/schema#", "type": "object",
						"properties": map[string]any{"region": map[string]any{"type": "string", "enum": []string{"eu", "us"}}},
					}}}}},
				map[string]any{"id": "e9e8e3c0-2c1f-4b8e-9c68-3d1b2f2b9f0e", "name": "large", "description": "Large", "free": false,
					"maintenance_info": map[string]any{"version": "1.2.0"}, "maximum_polling_duration": 600},
			},
		},
		map[string]any{
			"id": "9d7e6c5b-4a39-4f28-8e17-06f5e4d3c2b1", "name": "backup", "description": "Backups", "bindable": false,
			"plans": []any{map[string]any{"id": "1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d", "name": "daily", "description": "Daily backups"}},
		},
	}}
}
