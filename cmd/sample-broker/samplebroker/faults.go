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

func (b *Broker) fault(op string) Fault {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.faults[op]
}

// faulty applies the operation's fault, if any, before serving it.
func (b *Broker) faulty(op string, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f := b.fault(op)
		if f.Delay > 0 {
			select {
			case <-time.After(time.Duration(f.Delay)):
			case <-r.Context().Done():
				return
			}
		}
		if f.Status != 0 {
			writeError(w, f.Status, f.Error, f.Description)
			return
		}
		next(w, r)
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
