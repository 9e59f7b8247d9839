package samplebroker

import (
	"encoding/json"
	"net/http"
	"time"
)

// Fault changes how the broker answers one operation, for tests:
//
//	curl -u user:pass -X PUT http://broker/admin/faults/provision -d '{"status":500}'
//
// Operations: catalog, provision, update, deprovision, getInstance,
// lastOperation, bind, unbind, getBinding, bindingLastOperation.
type Fault struct {
	// Status, when set, answers with this HTTP status and no action.
	Status int `json:"status,omitempty"`
	// Error and Description fill the OSB error body of Status.
	Error       string `json:"error,omitempty"`
	Description string `json:"description,omitempty"`
	// Delay holds every response of the operation back this long.
	Delay Duration `json:"delay,omitempty"`
	// NeverFinish leaves an asynchronous operation in progress forever.
	NeverFinish bool `json:"neverFinish,omitempty"`
	// FailAsync makes an asynchronous operation end in state failed.
	FailAsync bool `json:"failAsync,omitempty"`
	// Body, with Status, is sent verbatim: a malformed body, say.
	Body string `json:"body,omitempty"`
	// Reset closes the connection without an answer.
	Reset bool `json:"reset,omitempty"`
	// AfterAction applies Status, Body or Reset after the broker did the
	// work: the broker holds what the platform was never told about.
	AfterAction bool `json:"afterAction,omitempty"`
	// Times, when set, clears the fault after it was applied that often.
	Times int `json:"times,omitempty"`
}

// Duration is a time.Duration written as "2s" in JSON.
type Duration time.Duration

// UnmarshalJSON reads "2s"-style durations.
func (d *Duration) UnmarshalJSON(raw []byte) error {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	*d = Duration(v)
	return err
}

// MarshalJSON writes "2s"-style durations.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// takeFault returns the operation's fault and counts one use of it.
func (b *Broker) takeFault(op string) Fault {
	b.mu.Lock()
	defer b.mu.Unlock()
	f, ok := b.faults[op]
	if ok && f.Times > 0 {
		f.Times--
		if f.Times == 0 {
			delete(b.faults, op)
		} else {
			b.faults[op] = f
		}
	}
	return f
}

// faulty applies the operation's fault, if any, around serving it.
func (b *Broker) faulty(op string, next http.Handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f := b.takeFault(op)
		if f.Delay > 0 && !f.AfterAction {
			select {
			case <-time.After(time.Duration(f.Delay)):
			case <-r.Context().Done():
				return
			}
		}
		if f.AfterAction {
			// Do the work, throw the answer away, then misbehave.
			next.ServeHTTP(&recorded{header: http.Header{}}, r)
			if f.Delay > 0 {
				time.Sleep(time.Duration(f.Delay))
			}
		}
		switch {
		case f.Reset:
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					_ = conn.Close()
					return
				}
			}
			panic(http.ErrAbortHandler)
		case f.Status != 0 && f.Body != "":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(f.Status)
			_, _ = w.Write([]byte(f.Body))
		case f.Status != 0:
			writeError(w, f.Status, f.Error, f.Description)
		case f.AfterAction:
			// A delay alone: the answer comes too late for the platform.
			writeJSON(w, http.StatusGatewayTimeout, map[string]string{"description": "too late"})
		default:
			next.ServeHTTP(w, r)
		}
	}
}

func (b *Broker) setFault(w http.ResponseWriter, r *http.Request) {
	var f Fault
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&f); err != nil {
		writeError(w, http.StatusBadRequest, "", "fault: "+err.Error())
		return
	}
	b.mu.Lock()
	b.faults[r.PathValue("operation")] = f
	b.mu.Unlock()
	writeJSON(w, http.StatusOK, f)
}

func (b *Broker) clearFaults(w http.ResponseWriter, _ *http.Request) {
	b.mu.Lock()
	b.faults = map[string]Fault{}
	b.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{})
}

// StateSummary is what GET /admin/state returns: ids only, never credentials.
type StateSummary struct {
	Instances map[string]InstanceSummary `json:"instances"`
	Bindings  []string                   `json:"bindings"`
}

// InstanceSummary describes one instance.
type InstanceSummary struct {
	PlanID     string         `json:"planID"`
	Ready      bool           `json:"ready"`
	Parameters map[string]any `json:"parameters,omitempty"`
}

func (b *Broker) getState(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, b.Summary())
}

// Summary lists the broker's instances and bindings.
func (b *Broker) Summary() StateSummary {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := StateSummary{Instances: map[string]InstanceSummary{}, Bindings: []string{}}
	for id, inst := range b.state.Instances {
		out.Instances[id] = InstanceSummary{PlanID: inst.PlanID, Ready: inst.Ready, Parameters: inst.Parameters}
	}
	for id := range b.state.Bindings {
		out.Bindings = append(out.Bindings, id)
	}
	return out
}

// SetFault sets a fault directly, for tests in the same process.
func (b *Broker) SetFault(op string, f Fault) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.faults[op] = f
}
