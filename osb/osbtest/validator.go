package osbtest

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// openAPISpec is the OSB v2.17 OpenAPI document, as released (see
// testdata/LICENSE and testdata/NOTICE).
//
//go:embed testdata/openapi.yaml
var openAPISpec []byte

// specServer is the server URL the OpenAPI document declares; requests
// are matched as if sent to it.
const specServer = "http://example.com"

var (
	loadOnce   sync.Once
	loadedSpec routers.Router
	loadErr    error
)

func specRouter() (routers.Router, error) {
	loadOnce.Do(func() {
		doc, err := openapi3.NewLoader().LoadFromData(openAPISpec)
		if err != nil {
			loadErr = fmt.Errorf("load OSB openapi.yaml: %w", err)
			return
		}
		if err := doc.Validate(context.Background()); err != nil {
			loadErr = fmt.Errorf("OSB openapi.yaml is not valid: %w", err)
			return
		}
		loadedSpec, loadErr = gorillamux.NewRouter(doc)
	})
	return loadedSpec, loadErr
}

// Validator checks requests against the OSB v2.17 OpenAPI document and
// remembers every violation.
type Validator struct {
	mu         sync.Mutex
	violations []string
	checked    int
}

// Check validates one request. The body is read and restored.
func (v *Validator) Check(r *http.Request) {
	err := validateRequest(r)
	v.mu.Lock()
	defer v.mu.Unlock()
	v.checked++
	if err != nil {
		v.violations = append(v.violations, fmt.Sprintf("%s %s: %v", r.Method, r.URL.RequestURI(), err))
	}
}

// Violations lists the requests that broke the OpenAPI document.
func (v *Validator) Violations() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]string(nil), v.violations...)
}

// Checked is the number of requests validated.
func (v *Validator) Checked() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.checked
}

// Handler validates every request before passing it to next.
func (v *Validator) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v.Check(r)
		next.ServeHTTP(w, r)
	})
}

// TB is the part of testing.TB the validator reports to.
type TB interface {
	Helper()
	Errorf(format string, args ...any)
	Cleanup(func())
}

// NewValidator returns a validator that fails t, when t ends, for every
// request that broke the OpenAPI document.
func NewValidator(t TB) *Validator {
	v := &Validator{}
	t.Cleanup(func() {
		for _, violation := range v.Violations() {
			t.Errorf("request breaks the OSB v2.17 OpenAPI document: %s", violation)
		}
	})
	return v
}

func validateRequest(r *http.Request) error {
	router, err := specRouter()
	if err != nil {
		return err
	}
	var body []byte
	if r.Body != nil {
		if body, err = io.ReadAll(r.Body); err != nil {
			return err
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	// Match as if sent to the document's server, whatever port the test uses.
	probe := r.Clone(r.Context())
	probe.URL.Scheme, probe.URL.Host, probe.Host = "http", "example.com", "example.com"
	probe.Body = io.NopCloser(bytes.NewReader(body))
	route, params, err := router.FindRoute(probe)
	if err != nil {
		return fmt.Errorf("no such OSB endpoint: %w", err)
	}
	return openapi3filter.ValidateRequest(r.Context(), &openapi3filter.RequestValidationInput{
		Request: probe, PathParams: params, Route: route,
		Options: &openapi3filter.Options{MultiError: true, AuthenticationFunc: checkBasicAuth},
	})
}

// checkBasicAuth accepts the document's basicAuth scheme when the request
// carries well-formed credentials, or a bearer token, which the spec allows
// beside basic auth.
func checkBasicAuth(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	header := in.RequestValidationInput.Request.Header.Get("Authorization")
	switch {
	case header == "":
		return errors.New("no Authorization header")
	case strings.HasPrefix(header, "Bearer "):
		return nil
	case strings.HasPrefix(header, "Basic "):
		raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(header, "Basic "))
		if err != nil || !bytes.Contains(raw, []byte(":")) {
			return errors.New("malformed basic credentials")
		}
		return nil
	default:
		return errors.New("unknown Authorization scheme")
	}
}
