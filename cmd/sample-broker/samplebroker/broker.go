// Package samplebroker is a reference OSB v2.17 broker built on
// code.cloudfoundry.org/brokerapi, so the catalog is tested against a
// protocol implementation it did not write: a database-like service whose
// plans publish schemas with real rules, asynchronous provision and
// deprovision, credentials unique per binding (rotatable on one plan), a
// service that cannot be bound, a plan that cannot be changed, basic auth,
// fault knobs for tests, and state that survives a restart.
package samplebroker

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"code.cloudfoundry.org/brokerapi/v13"
	"code.cloudfoundry.org/brokerapi/v13/domain"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/servicecatalog/service-catalog/osb"
	"github.com/servicecatalog/service-catalog/osb/schema"
)

// Options configure a Broker.
type Options struct {
	// Username and Password are the basic auth credentials clients must send.
	Username, Password string
	// AsyncDelay makes provision and deprovision asynchronous, finishing
	// after this long; zero answers synchronously.
	AsyncDelay time.Duration
	// StateDir, when set, keeps instances and bindings in StateDir/state.json
	// so they survive a restart.
	StateDir string
	// DatabaseHost is the host name put in credentials.
	DatabaseHost string
	// CredentialLifetime is how long the rotating plan's credentials are
	// valid (metadata.expires_at); renew_before is at two thirds of it.
	// Zero means DefaultCredentialLifetime.
	CredentialLifetime time.Duration
	// Now tells the time; tests may replace it.
	Now func() time.Time
}

// Broker serves the OSB API. It is an http.Handler.
type Broker struct {
	opts    Options
	catalog osb.CatalogResponse
	plans   map[string]planInfo
	mux     *http.ServeMux

	mu     sync.Mutex
	state  state
	faults map[string]Fault
}

type planInfo struct {
	serviceID   string
	bindable    bool
	updatable   bool
	rotatable   bool
	maintenance string
	create      *jsonschema.Schema
	update      *jsonschema.Schema
	bind        *jsonschema.Schema
	serviceName string
	planName    string
}

// state is what the broker persists.
type state struct {
	Instances  map[string]*instance  `json:"instances"`
	Bindings   map[string]*binding   `json:"bindings"`
	Operations map[string]*operation `json:"operations"`
}

type instance struct {
	ServiceID       string         `json:"serviceID"`
	PlanID          string         `json:"planID"`
	Parameters      map[string]any `json:"parameters,omitempty"`
	MaintenanceInfo string         `json:"maintenanceInfo,omitempty"`
	Ready           bool           `json:"ready"`
	Operation       string         `json:"operation,omitempty"`
}

type binding struct {
	InstanceID  string         `json:"instanceID"`
	Parameters  map[string]any `json:"parameters,omitempty"`
	Credentials map[string]any `json:"credentials"`
	// Predecessor is the binding this one succeeds (rotation).
	Predecessor string `json:"predecessor,omitempty"`
	// ExpiresAt and RenewBefore are set for the rotating plan's bindings.
	ExpiresAt   time.Time `json:"expiresAt,omitzero"`
	RenewBefore time.Time `json:"renewBefore,omitzero"`
}

// DefaultCredentialLifetime is Options.CredentialLifetime when zero.
const DefaultCredentialLifetime = time.Hour

// answer is a bind answer: the credentials and, when they expire, the
// metadata saying when.
func (bnd *binding) answer() domain.Binding {
	out := domain.Binding{Credentials: bnd.Credentials}
	if !bnd.ExpiresAt.IsZero() {
		const osbTime = "2006-01-02T15:04:05.0Z"
		out.Metadata = domain.BindingMetadata{ExpiresAt: bnd.ExpiresAt.UTC().Format(osbTime), RenewBefore: bnd.RenewBefore.UTC().Format(osbTime)}
	}
	return out
}

type operation struct {
	Kind        string         `json:"kind"`
	InstanceID  string         `json:"instanceID"`
	DoneAt      time.Time      `json:"doneAt"`
	Fail        bool           `json:"fail,omitempty"`
	NeverFinish bool           `json:"neverFinish,omitempty"`
	NewPlanID   string         `json:"newPlanID,omitempty"`
	NewParams   map[string]any `json:"newParams,omitempty"`
	// NewMaintenance is the maintenance version an update moves to.
	NewMaintenance string `json:"newMaintenance,omitempty"`
}

// New returns a broker, loading its state from opts.StateDir when there is one.
func New(opts Options) (*Broker, error) {
	if opts.Username == "" || opts.Password == "" {
		return nil, errors.New("a username and password are required")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.DatabaseHost == "" {
		opts.DatabaseHost = "sample-db.example.internal"
	}
	b := &Broker{
		opts:    opts,
		catalog: Catalog(),
		plans:   map[string]planInfo{},
		faults:  map[string]Fault{},
		state:   state{Instances: map[string]*instance{}, Bindings: map[string]*binding{}, Operations: map[string]*operation{}},
	}
	for _, svc := range b.catalog.Services {
		for _, p := range svc.Plans {
			info := planInfo{serviceID: svc.ID, bindable: *svc.Bindable, updatable: svc.PlanUpdatable, rotatable: p.BindingRotatable, serviceName: svc.Name, planName: p.Name}
			if p.PlanUpdatable != nil {
				info.updatable = *p.PlanUpdatable
			}
			if p.MaintenanceInfo != nil {
				info.maintenance = p.MaintenanceInfo.Version
			}
			if s := p.Schemas; s != nil {
				var err error
				if info.create, err = schema.Compile(s.ServiceInstance.Create.Parameters); err != nil {
					return nil, err
				}
				if info.update, err = schema.Compile(s.ServiceInstance.Update.Parameters); err != nil {
					return nil, err
				}
				if info.bind, err = schema.Compile(s.ServiceBinding.Create.Parameters); err != nil {
					return nil, err
				}
			}
			b.plans[p.ID] = info
		}
	}
	if err := b.load(); err != nil {
		return nil, err
	}
	b.routes()
	return b, nil
}

func (b *Broker) statePath() string { return filepath.Join(b.opts.StateDir, "state.json") }

func (b *Broker) load() error {
	if b.opts.StateDir == "" {
		return nil
	}
	raw, err := os.ReadFile(b.statePath())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, &b.state); err != nil {
		return fmt.Errorf("read %s: %w", b.statePath(), err)
	}
	return nil
}

// save writes the state atomically; callers hold b.mu.
func (b *Broker) save() error {
	if b.opts.StateDir == "" {
		return nil
	}
	raw, err := json.MarshalIndent(b.state, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(b.opts.StateDir, 0o700); err != nil {
		return err
	}
	tmp := b.statePath() + ".tmp"
	if err := os.WriteFile(tmp, raw, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, b.statePath())
}

// ServeHTTP checks credentials, then serves the admin endpoints or the OSB
// API.
func (b *Broker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if user, pass, ok := r.BasicAuth(); !ok || user != b.opts.Username || pass != b.opts.Password {
		w.Header().Set("WWW-Authenticate", `Basic realm="sample-broker"`)
		writeError(w, http.StatusUnauthorized, "", "missing or wrong credentials")
		return
	}
	b.mux.ServeHTTP(w, r)
}

// routes puts brokerapi behind the fault knobs, one route per operation so
// a fault names the operation it applies to. brokerapi v13 speaks OSB 2.17
// but for binding rotation: its catalog types have no binding_rotatable
// and its bind details no predecessor_binding_id. The catalog is served
// from this broker's own types, and the bind's predecessor is read from the
// body before brokerapi decodes it. More wrappers: fetch answers get the
// instance's maintenance_info and last_operation may set a Retry-After
// header (brokerapi writes neither), and request bodies are bounded
// (brokerapi reads them whole).
func (b *Broker) routes() {
	api := maxBody(brokerapi.New(service{b}, slog.New(slog.DiscardHandler), brokerapi.BrokerCredentials{Username: b.opts.Username, Password: b.opts.Password}))
	b.mux = http.NewServeMux()
	osbRoute := func(pattern, op string, h http.Handler) { b.mux.Handle(pattern, b.faulty(op, h)) }
	osbRoute("GET /v2/catalog", "catalog", versioned(http.HandlerFunc(b.getCatalog)))
	osbRoute("PUT /v2/service_instances/{instance}", "provision", api)
	osbRoute("PATCH /v2/service_instances/{instance}", "update", api)
	osbRoute("DELETE /v2/service_instances/{instance}", "deprovision", api)
	osbRoute("GET /v2/service_instances/{instance}", "getInstance", b.withMaintenanceInfo(api))
	osbRoute("GET /v2/service_instances/{instance}/last_operation", "lastOperation", withAnswerHeader(api))
	osbRoute("PUT /v2/service_instances/{instance}/service_bindings/{binding}", "bind", withPredecessor(api))
	osbRoute("DELETE /v2/service_instances/{instance}/service_bindings/{binding}", "unbind", api)
	osbRoute("GET /v2/service_instances/{instance}/service_bindings/{binding}", "getBinding", api)
	osbRoute("GET /v2/service_instances/{instance}/service_bindings/{binding}/last_operation", "bindingLastOperation", api)
	b.mux.HandleFunc("PUT /admin/faults/{operation}", b.setFault)
	b.mux.HandleFunc("DELETE /admin/faults", b.clearFaults)
	b.mux.HandleFunc("GET /admin/state", b.getState)
}

func (b *Broker) getCatalog(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, b.catalog)
}

// versioned refuses requests without a 2.x X-Broker-API-Version, as the
// spec asks of brokers (brokerapi does so for the routes it serves).
func versioned(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := r.Header.Get(osb.HeaderAPIVersion)
		if !strings.HasPrefix(v, "2.") {
			writeError(w, http.StatusPreconditionFailed, "", fmt.Sprintf("%s must be 2.x, got %q", osb.HeaderAPIVersion, v))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// maxBody bounds request bodies to 1 MiB.
func maxBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
		next.ServeHTTP(w, r)
	})
}

// withMaintenanceInfo adds the instance's maintenance_info to a fetch
// answer: brokerapi v13's has no field for it.
func (b *Broker) withMaintenanceInfo(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &recorded{header: w.Header(), status: http.StatusOK}
		next.ServeHTTP(rec, r)
		var body map[string]any
		if rec.status == http.StatusOK && json.Unmarshal(rec.body.Bytes(), &body) == nil {
			b.mu.Lock()
			if inst := b.state.Instances[r.PathValue("instance")]; inst != nil && inst.MaintenanceInfo != "" {
				body["maintenance_info"] = map[string]string{"version": inst.MaintenanceInfo}
			}
			b.mu.Unlock()
			writeJSON(w, http.StatusOK, body)
			return
		}
		w.WriteHeader(rec.status)
		_, _ = w.Write(rec.body.Bytes())
	})
}

// recorded is a ResponseWriter that keeps the answer.
type recorded struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorded) Header() http.Header         { return r.header }
func (r *recorded) Write(p []byte) (int, error) { return r.body.Write(p) }
func (r *recorded) WriteHeader(status int)      { r.status = status }

type predecessorKey struct{}

// withPredecessor reads a bind's predecessor_binding_id (OSB 2.17) into
// the request's context, where Bind finds it, and leaves the body for
// brokerapi.
func withPredecessor(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			writeError(w, http.StatusBadRequest, "", "request body: "+err.Error())
			return
		}
		var body struct {
			Predecessor string `json:"predecessor_binding_id"`
		}
		_ = json.Unmarshal(raw, &body) // brokerapi reports a malformed body
		r.Body = io.NopCloser(bytes.NewReader(raw))
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), predecessorKey{}, body.Predecessor)))
	})
}

func predecessorOf(ctx context.Context) string {
	p, _ := ctx.Value(predecessorKey{}).(string)
	return p
}

type answerHeaderKey struct{}

// withAnswerHeader lets the operation set headers of its answer (brokerapi
// writes none of its own): Retry-After on a last_operation in progress.
func withAnswerHeader(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), answerHeaderKey{}, w.Header())))
	})
}

// answerHeader is the answer's header, or a throwaway one.
func answerHeader(ctx context.Context) http.Header {
	if h, ok := ctx.Value(answerHeaderKey{}).(http.Header); ok {
		return h
	}
	return http.Header{}
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func writeError(w http.ResponseWriter, status int, code, description string) {
	body := map[string]any{"description": description}
	if code != "" {
		body["error"] = code
	}
	writeJSON(w, status, body)
}

func randomHex(n int) string {
	buf := make([]byte, n)
	_, _ = rand.Read(buf)
	return hex.EncodeToString(buf)
}
