package samplebroker

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/servicecatalog/service-catalog/osb"
)

// Operation kinds.
const (
	kindProvision   = "provision"
	kindUpdate      = "update"
	kindDeprovision = "deprovision"
)

// operation states, as last_operation reports them.
func (o *operation) state(now time.Time) osb.State {
	switch {
	case o.NeverFinish || now.Before(o.DoneAt):
		return osb.StateInProgress
	case o.Fail:
		return osb.StateFailed
	default:
		return osb.StateSucceeded
	}
}

func (b *Broker) getCatalog(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, b.catalog)
}

type instanceBody struct {
	ServiceID       string               `json:"service_id"`
	PlanID          string               `json:"plan_id"`
	Parameters      map[string]any       `json:"parameters"`
	MaintenanceInfo *osb.MaintenanceInfo `json:"maintenance_info"`
	Context         map[string]any       `json:"context"`
}

func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "", "request body: "+err.Error())
		return false
	}
	return true
}

// checkParameters validates parameters against a plan's schema and answers
// 400 with every violation when they break it.
func checkParameters(w http.ResponseWriter, s *jsonschema.Schema, params map[string]any) bool {
	if s == nil {
		return true
	}
	var doc any = map[string]any{}
	if params != nil {
		// Round-trip so numbers have the types the validator expects.
		raw, _ := json.Marshal(params)
		doc, _ = jsonschema.UnmarshalJSON(strings.NewReader(string(raw)))
	}
	if err := s.Validate(doc); err != nil {
		writeError(w, http.StatusBadRequest, "", "invalid parameters: "+err.Error())
		return false
	}
	return true
}

func (b *Broker) asyncAllowed(w http.ResponseWriter, r *http.Request) (async, ok bool) {
	if b.opts.AsyncDelay == 0 {
		return false, true
	}
	if r.URL.Query().Get("accepts_incomplete") != "true" {
		writeError(w, http.StatusUnprocessableEntity, osb.ErrorCodeAsyncRequired, "this broker only provisions asynchronously; send accepts_incomplete=true")
		return false, false
	}
	return true, true
}

// startOperation records an asynchronous operation; callers hold b.mu.
func (b *Broker) startOperation(kind, instanceID, faultOp string) (string, *operation) {
	f := b.faults[faultOp]
	id := kind + "-" + randomHex(6)
	op := &operation{Kind: kind, InstanceID: instanceID, DoneAt: b.opts.Now().Add(b.opts.AsyncDelay), Fail: f.FailAsync, NeverFinish: f.NeverFinish}
	b.state.Operations[id] = op
	return id, op
}

func (b *Broker) provision(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("instance")
	var body instanceBody
	if !decodeBody(w, r, &body) {
		return
	}
	plan, known := b.plans[body.PlanID]
	if !known || plan.serviceID != body.ServiceID {
		writeError(w, http.StatusBadRequest, "", fmt.Sprintf("unknown service_id %q or plan_id %q", body.ServiceID, body.PlanID))
		return
	}
	if !checkParameters(w, plan.create, body.Parameters) {
		return
	}
	if mi := body.MaintenanceInfo; mi != nil && mi.Version != plan.maintenance {
		writeError(w, http.StatusUnprocessableEntity, osb.ErrorCodeMaintenanceInfoConflict, fmt.Sprintf("plan %s is at maintenance version %q", plan.planName, plan.maintenance))
		return
	}
	async, ok := b.asyncAllowed(w, r)
	if !ok {
		return
	}

	b.mu.Lock()
	defer b.mu.Unlock()
	b.advance()
	if existing := b.state.Instances[id]; existing != nil {
		same := existing.PlanID == body.PlanID && reflect.DeepEqual(existing.Parameters, body.Parameters)
		switch {
		case !same:
			writeError(w, http.StatusConflict, "", "an instance with this id already exists with other attributes")
		case existing.Operation != "":
			writeJSON(w, http.StatusAccepted, map[string]string{"operation": existing.Operation})
		default:
			writeJSON(w, http.StatusOK, map[string]string{"dashboard_url": b.dashboard(id)})
		}
		return
	}
	inst := &instance{ServiceID: body.ServiceID, PlanID: body.PlanID, Parameters: body.Parameters, MaintenanceInfo: plan.maintenance, Ready: !async}
	b.state.Instances[id] = inst
	if !async {
		b.persist(w, http.StatusCreated, map[string]string{"dashboard_url": b.dashboard(id)})
		return
	}
	inst.Operation, _ = b.startOperation(kindProvision, id, "provision")
	b.persist(w, http.StatusAccepted, map[string]string{"dashboard_url": b.dashboard(id), "operation": inst.Operation})
}

func (b *Broker) dashboard(id string) string {
	return "https://" + b.opts.DatabaseHost + "/dashboard/" + id
}

// persist saves the state and answers; callers hold b.mu.
func (b *Broker) persist(w http.ResponseWriter, status int, body any) {
	if err := b.save(); err != nil {
		writeError(w, http.StatusInternalServerError, "", "save state: "+err.Error())
		return
	}
	writeJSON(w, status, body)
}

type updateBody struct {
	instanceBody
	PreviousValues *osb.PreviousValues `json:"previous_values"`
}

func (b *Broker) update(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("instance")
	var body updateBody
	if !decodeBody(w, r, &body) {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advance()
	inst := b.state.Instances[id]
	switch {
	case inst == nil:
		writeError(w, http.StatusNotFound, "", "no such instance")
		return
	case inst.Operation != "":
		writeError(w, http.StatusUnprocessableEntity, osb.ErrorCodeConcurrencyError, "another operation on this instance is in progress")
		return
	}
	newPlanID := inst.PlanID
	if body.PlanID != "" {
		newPlanID = body.PlanID
	}
	current, plan := b.plans[inst.PlanID], b.plans[newPlanID]
	if plan.serviceID != inst.ServiceID {
		writeError(w, http.StatusBadRequest, "", fmt.Sprintf("plan_id %q is not a plan of this instance's service", newPlanID))
		return
	}
	if newPlanID != inst.PlanID && (!current.updatable || !plan.updatable) {
		writeError(w, http.StatusBadRequest, "", fmt.Sprintf("cannot change plan from %s to %s: plan %s cannot be changed", current.planName, plan.planName, map[bool]string{true: plan.planName, false: current.planName}[current.updatable]))
		return
	}
	if !checkParameters(w, plan.update, body.Parameters) {
		return
	}
	if mi := body.MaintenanceInfo; mi != nil && mi.Version != plan.maintenance {
		writeError(w, http.StatusUnprocessableEntity, osb.ErrorCodeMaintenanceInfoConflict, fmt.Sprintf("plan %s is at maintenance version %q", plan.planName, plan.maintenance))
		return
	}
	params := mergeParameters(inst.Parameters, body.Parameters)
	async := b.opts.AsyncDelay > 0 && r.URL.Query().Get("accepts_incomplete") == "true"
	if !async {
		inst.PlanID, inst.Parameters, inst.MaintenanceInfo = newPlanID, params, plan.maintenance
		b.persist(w, http.StatusOK, map[string]any{})
		return
	}
	var op *operation
	inst.Operation, op = b.startOperation(kindUpdate, id, "update")
	op.NewPlanID, op.NewParams = newPlanID, params
	b.persist(w, http.StatusAccepted, map[string]string{"operation": inst.Operation})
}

func mergeParameters(old, changes map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range old {
		out[k] = v
	}
	for k, v := range changes {
		out[k] = v
	}
	return out
}

func (b *Broker) deprovision(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("instance")
	q := r.URL.Query()
	if q.Get("service_id") == "" || q.Get("plan_id") == "" {
		writeError(w, http.StatusBadRequest, "", "service_id and plan_id are required")
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advance()
	inst := b.state.Instances[id]
	if inst == nil {
		writeJSON(w, http.StatusGone, map[string]any{})
		return
	}
	if inst.Operation != "" {
		if op := b.state.Operations[inst.Operation]; op != nil && op.Kind == kindDeprovision {
			writeJSON(w, http.StatusAccepted, map[string]string{"operation": inst.Operation})
			return
		}
		writeError(w, http.StatusUnprocessableEntity, osb.ErrorCodeConcurrencyError, "another operation on this instance is in progress")
		return
	}
	async := b.opts.AsyncDelay > 0 && q.Get("accepts_incomplete") == "true"
	if !async {
		b.removeInstance(id)
		b.persist(w, http.StatusOK, map[string]any{})
		return
	}
	inst.Operation, _ = b.startOperation(kindDeprovision, id, "deprovision")
	b.persist(w, http.StatusAccepted, map[string]string{"operation": inst.Operation})
}

// removeInstance deletes an instance and its bindings; callers hold b.mu.
func (b *Broker) removeInstance(id string) {
	delete(b.state.Instances, id)
	for key, bnd := range b.state.Bindings {
		if bnd.InstanceID == id {
			delete(b.state.Bindings, key)
		}
	}
}

// advance finishes the operations that are due; callers hold b.mu.
func (b *Broker) advance() {
	now := b.opts.Now()
	changed := false
	for id, op := range b.state.Operations {
		inst := b.state.Instances[op.InstanceID]
		if inst == nil || inst.Operation != id || op.state(now) == osb.StateInProgress {
			continue
		}
		inst.Operation = ""
		changed = true
		if op.Fail {
			continue
		}
		switch op.Kind {
		case kindProvision:
			inst.Ready = true
		case kindUpdate:
			inst.PlanID, inst.Parameters, inst.MaintenanceInfo = op.NewPlanID, op.NewParams, b.plans[op.NewPlanID].maintenance
		case kindDeprovision:
			b.removeInstance(op.InstanceID)
		}
	}
	if changed {
		_ = b.save()
	}
}

func (b *Broker) getInstance(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advance()
	inst := b.state.Instances[r.PathValue("instance")]
	if inst == nil || !inst.Ready {
		writeError(w, http.StatusNotFound, "", "no such instance")
		return
	}
	body := map[string]any{"service_id": inst.ServiceID, "plan_id": inst.PlanID, "parameters": inst.Parameters}
	if inst.MaintenanceInfo != "" {
		body["maintenance_info"] = map[string]string{"version": inst.MaintenanceInfo}
	}
	writeJSON(w, http.StatusOK, body)
}

func (b *Broker) lastOperation(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	defer b.mu.Unlock()
	id := r.PathValue("instance")
	opID := r.URL.Query().Get("operation")
	op := b.state.Operations[opID]
	if op == nil || op.InstanceID != id {
		if _, exists := b.state.Instances[id]; !exists {
			writeJSON(w, http.StatusGone, map[string]any{})
			return
		}
		writeError(w, http.StatusBadRequest, "", fmt.Sprintf("unknown operation %q", opID))
		return
	}
	b.advance()
	state := op.state(b.opts.Now())
	if state == osb.StateInProgress {
		w.Header().Set("Retry-After", "1")
	}
	// A finished deprovision leaves nothing behind: 410, as the spec allows.
	if op.Kind == kindDeprovision && state == osb.StateSucceeded {
		writeJSON(w, http.StatusGone, map[string]any{})
		return
	}
	body := map[string]any{"state": state, "description": fmt.Sprintf("%s %s", op.Kind, state)}
	if state == osb.StateFailed && op.Kind == kindUpdate {
		body["instance_usable"] = true
		body["update_repeatable"] = true
	}
	writeJSON(w, http.StatusOK, body)
}

type bindBody struct {
	ServiceID   string         `json:"service_id"`
	PlanID      string         `json:"plan_id"`
	Parameters  map[string]any `json:"parameters"`
	Predecessor string         `json:"predecessor_binding_id"`
}

func bindingKey(instanceID, bindingID string) string { return instanceID + "/" + bindingID }

func (b *Broker) bind(w http.ResponseWriter, r *http.Request) {
	instanceID, bindingID := r.PathValue("instance"), r.PathValue("binding")
	var body bindBody
	if !decodeBody(w, r, &body) {
		return
	}
	plan, known := b.plans[body.PlanID]
	switch {
	case !known || plan.serviceID != body.ServiceID:
		writeError(w, http.StatusBadRequest, "", fmt.Sprintf("unknown service_id %q or plan_id %q", body.ServiceID, body.PlanID))
		return
	case !plan.bindable:
		writeError(w, http.StatusBadRequest, "", fmt.Sprintf("service %s cannot be bound", plan.serviceName))
		return
	case body.Predecessor != "" && !plan.rotatable:
		writeError(w, http.StatusBadRequest, "", fmt.Sprintf("plan %s is not binding_rotatable: bind afresh instead of naming a predecessor", plan.planName))
		return
	case !checkParameters(w, plan.bind, body.Parameters):
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advance()
	inst := b.state.Instances[instanceID]
	if inst == nil || !inst.Ready {
		writeError(w, http.StatusUnprocessableEntity, osb.ErrorCodeConcurrencyError, "the instance does not exist or is not ready")
		return
	}
	bnd, status, problem := b.newBinding(instanceID, bindingID, body, plan)
	if problem != "" {
		writeError(w, status, "", problem)
		return
	}
	if status == http.StatusOK {
		writeJSON(w, http.StatusOK, bnd.answer())
		return
	}
	b.state.Bindings[bindingKey(instanceID, bindingID)] = bnd
	b.persist(w, http.StatusCreated, bnd.answer())
}

// newBinding makes the binding a bind asks for: 200 with the existing one
// for the same request again, a problem for a clash or a predecessor that
// cannot be succeeded. A successor keeps its predecessor's parameters.
func (b *Broker) newBinding(instanceID, bindingID string, body bindBody, plan planInfo) (*binding, int, string) {
	params := body.Parameters
	if body.Predecessor != "" {
		pred := b.state.Bindings[bindingKey(instanceID, body.Predecessor)]
		if pred == nil || (!pred.ExpiresAt.IsZero() && !b.opts.Now().Before(pred.ExpiresAt)) {
			return nil, http.StatusBadRequest, fmt.Sprintf("predecessor_binding_id %q is not a valid binding of instance %s (unknown, unbound or expired)", body.Predecessor, instanceID)
		}
		if params == nil {
			params = pred.Parameters
		}
	}
	if existing := b.state.Bindings[bindingKey(instanceID, bindingID)]; existing != nil {
		if !reflect.DeepEqual(existing.Parameters, params) || existing.Predecessor != body.Predecessor {
			return nil, http.StatusConflict, "a binding with this id already exists with other parameters"
		}
		return existing, http.StatusOK, ""
	}
	bnd := &binding{InstanceID: instanceID, Parameters: params, Credentials: b.newCredentials(instanceID), Predecessor: body.Predecessor}
	if plan.rotatable {
		lifetime := b.opts.CredentialLifetime
		if lifetime <= 0 {
			lifetime = DefaultCredentialLifetime
		}
		bnd.ExpiresAt, bnd.RenewBefore = b.opts.Now().Add(lifetime), b.opts.Now().Add(lifetime*2/3)
	}
	return bnd, http.StatusCreated, ""
}

// newCredentials makes a database user unique to one binding.
func (b *Broker) newCredentials(instanceID string) map[string]any {
	user := "u_" + randomHex(6)
	password := randomHex(16)
	database := "db_" + strings.ReplaceAll(instanceID, "-", "")[:min(12, len(strings.ReplaceAll(instanceID, "-", "")))]
	return map[string]any{
		"host":     b.opts.DatabaseHost,
		"port":     5432,
		"database": database,
		"username": user,
		"password": password,
		"uri":      fmt.Sprintf("postgresql://%s:%s@%s:5432/%s", user, password, b.opts.DatabaseHost, database),
	}
}

func (b *Broker) unbind(w http.ResponseWriter, r *http.Request) {
	key := bindingKey(r.PathValue("instance"), r.PathValue("binding"))
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state.Bindings[key] == nil {
		writeJSON(w, http.StatusGone, map[string]any{})
		return
	}
	delete(b.state.Bindings, key)
	b.persist(w, http.StatusOK, map[string]any{})
}

func (b *Broker) getBinding(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	defer b.mu.Unlock()
	bnd := b.state.Bindings[bindingKey(r.PathValue("instance"), r.PathValue("binding"))]
	if bnd == nil {
		writeError(w, http.StatusNotFound, "", "no such binding")
		return
	}
	out := bnd.answer()
	out["parameters"] = bnd.Parameters
	writeJSON(w, http.StatusOK, out)
}

func (b *Broker) bindingLastOperation(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state.Bindings[bindingKey(r.PathValue("instance"), r.PathValue("binding"))] == nil {
		writeJSON(w, http.StatusGone, map[string]any{})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"state": osb.StateSucceeded})
}
