package samplebroker

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"strings"
	"time"

	"code.cloudfoundry.org/brokerapi/v13/domain"
	"code.cloudfoundry.org/brokerapi/v13/domain/apiresponses"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/servicecatalog/service-catalog/osb"
)

// service is the broker's OSB behaviour as brokerapi calls it: brokerapi
// parses the requests, checks credentials and the API version, and writes
// the answers.
type service struct{ *Broker }

var _ domain.ServiceBroker = service{}

// Operation kinds.
const (
	kindProvision   = "provision"
	kindUpdate      = "update"
	kindDeprovision = "deprovision"
)

// state is how last_operation reports an operation.
func (o *operation) state(now time.Time) domain.LastOperationState {
	switch {
	case o.NeverFinish || now.Before(o.DoneAt):
		return domain.InProgress
	case o.Fail:
		return domain.Failed
	default:
		return domain.Succeeded
	}
}

// failure is an OSB error answer: the status, the error code (may be
// empty) and the description.
func failure(status int, code, format string, args ...any) error {
	b := apiresponses.NewFailureResponseBuilder(fmt.Errorf(format, args...), status, "sample-broker")
	if code != "" {
		b = b.WithErrorKey(code)
	}
	return b.Build()
}

// Services is the catalog brokerapi checks provisions against. GET
// /v2/catalog itself is served from Catalog (routes): brokerapi's types
// have no binding_rotatable.
func (s service) Services(context.Context) ([]domain.Service, error) {
	raw, err := json.Marshal(s.catalog.Services)
	if err != nil {
		return nil, err
	}
	var out []domain.Service
	return out, json.Unmarshal(raw, &out)
}

// parametersOf decodes raw request parameters; nil when absent.
func parametersOf(raw json.RawMessage) (map[string]any, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, failure(http.StatusBadRequest, "", "parameters must be a JSON object: %v", err)
	}
	return out, nil
}

// checkParameters validates parameters against a plan's schema: a 400 with
// every violation when they break it.
func checkParameters(s *jsonschema.Schema, params map[string]any) error {
	if s == nil {
		return nil
	}
	var doc any = map[string]any{}
	if params != nil {
		// Round-trip so numbers have the types the validator expects.
		raw, _ := json.Marshal(params)
		doc, _ = jsonschema.UnmarshalJSON(strings.NewReader(string(raw)))
	}
	if err := s.Validate(doc); err != nil {
		return failure(http.StatusBadRequest, "", "invalid parameters: %v", err)
	}
	return nil
}

// checkedRequest decodes a provision's or update's parameters and checks
// them against the schema, and its maintenance_info against the plan.
func checkedRequest(raw json.RawMessage, s *jsonschema.Schema, mi *domain.MaintenanceInfo, plan planInfo) (map[string]any, error) {
	params, err := parametersOf(raw)
	if err != nil {
		return nil, err
	}
	if err := checkParameters(s, params); err != nil {
		return nil, err
	}
	if mi != nil && mi.Version != plan.maintenance {
		return nil, failure(http.StatusUnprocessableEntity, osb.ErrorCodeMaintenanceInfoConflict, "plan %s is at maintenance version %q", plan.planName, plan.maintenance)
	}
	return params, nil
}

// async says whether an operation runs asynchronously: when the broker has
// an AsyncDelay and the platform accepts it.
func (s service) async(asyncAllowed bool) bool { return s.opts.AsyncDelay > 0 && asyncAllowed }

// startOperation records an asynchronous operation; callers hold b.mu.
func (b *Broker) startOperation(kind, instanceID, faultOp string) (string, *operation) {
	f := b.faults[faultOp]
	id := kind + "-" + randomHex(6)
	op := &operation{Kind: kind, InstanceID: instanceID, DoneAt: b.opts.Now().Add(b.opts.AsyncDelay), Fail: f.FailAsync, NeverFinish: f.NeverFinish}
	b.state.Operations[id] = op
	return id, op
}

func (s service) Provision(_ context.Context, id string, details domain.ProvisionDetails, asyncAllowed bool) (domain.ProvisionedServiceSpec, error) {
	var none domain.ProvisionedServiceSpec
	plan, known := s.plans[details.PlanID]
	if !known || plan.serviceID != details.ServiceID {
		return none, failure(http.StatusBadRequest, "", "unknown service_id %q or plan_id %q", details.ServiceID, details.PlanID)
	}
	params, err := checkedRequest(details.RawParameters, plan.create, details.MaintenanceInfo, plan)
	if err != nil {
		return none, err
	}
	if s.opts.AsyncDelay > 0 && !asyncAllowed {
		return none, failure(http.StatusUnprocessableEntity, osb.ErrorCodeAsyncRequired, "this broker only provisions asynchronously; send accepts_incomplete=true")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance()
	spec := domain.ProvisionedServiceSpec{DashboardURL: s.dashboard(id), Metadata: instanceMetadata(plan)}
	if existing := s.state.Instances[id]; existing != nil {
		if existing.PlanID != details.PlanID || !reflect.DeepEqual(existing.Parameters, params) {
			return none, apiresponses.ErrInstanceAlreadyExists
		}
		spec.AlreadyExists = existing.Operation == ""
		spec.IsAsync, spec.OperationData = existing.Operation != "", existing.Operation
		return spec, nil
	}
	async := s.async(asyncAllowed)
	inst := &instance{ServiceID: details.ServiceID, PlanID: details.PlanID, Parameters: params, MaintenanceInfo: plan.maintenance, Ready: !async}
	s.state.Instances[id] = inst
	if async {
		inst.Operation, _ = s.startOperation(kindProvision, id, "provision")
		spec.IsAsync, spec.OperationData = true, inst.Operation
	}
	return spec, s.persist()
}

// instanceMetadata is what the broker says of its instances: labels a
// platform may group them by.
func instanceMetadata(plan planInfo) domain.InstanceMetadata {
	return domain.InstanceMetadata{Labels: map[string]any{"service": plan.serviceName, "plan": plan.planName}}
}

func (b *Broker) dashboard(id string) string {
	return "https://" + b.opts.DatabaseHost + "/dashboard/" + id
}

// persist saves the state; callers hold b.mu.
func (b *Broker) persist() error {
	if err := b.save(); err != nil {
		return failure(http.StatusInternalServerError, "", "save state: %v", err)
	}
	return nil
}

func (s service) Update(_ context.Context, id string, details domain.UpdateDetails, asyncAllowed bool) (domain.UpdateServiceSpec, error) {
	var none domain.UpdateServiceSpec
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance()
	inst := s.state.Instances[id]
	switch {
	case inst == nil:
		return none, failure(http.StatusNotFound, "", "no such instance")
	case inst.Operation != "":
		return none, apiresponses.ErrConcurrentInstanceAccess
	}
	newPlanID := inst.PlanID
	if details.PlanID != "" {
		newPlanID = details.PlanID
	}
	current, plan := s.plans[inst.PlanID], s.plans[newPlanID]
	if plan.serviceID != inst.ServiceID {
		return none, failure(http.StatusBadRequest, "", "plan_id %q is not a plan of this instance's service", newPlanID)
	}
	if newPlanID != inst.PlanID && (!current.updatable || !plan.updatable) {
		fixed := map[bool]string{true: plan.planName, false: current.planName}[current.updatable]
		return none, failure(http.StatusBadRequest, "", "cannot change plan from %s to %s: plan %s cannot be changed", current.planName, plan.planName, fixed)
	}
	changes, err := checkedRequest(details.RawParameters, plan.update, details.MaintenanceInfo, plan)
	if err != nil {
		return none, err
	}
	params := mergeParameters(inst.Parameters, changes)
	spec := domain.UpdateServiceSpec{Metadata: instanceMetadata(plan)}
	// The maintenance version moves only when asked for, or with the plan.
	maintenance := inst.MaintenanceInfo
	if details.MaintenanceInfo != nil || newPlanID != inst.PlanID {
		maintenance = plan.maintenance
	}
	if !s.async(asyncAllowed) {
		inst.PlanID, inst.Parameters, inst.MaintenanceInfo = newPlanID, params, maintenance
		return spec, s.persist()
	}
	var op *operation
	inst.Operation, op = s.startOperation(kindUpdate, id, "update")
	op.NewPlanID, op.NewParams, op.NewMaintenance = newPlanID, params, maintenance
	spec.IsAsync, spec.OperationData = true, inst.Operation
	return spec, s.persist()
}

func mergeParameters(old, changes map[string]any) map[string]any {
	out := map[string]any{}
	maps.Copy(out, old)
	maps.Copy(out, changes)
	return out
}

func (s service) Deprovision(_ context.Context, id string, _ domain.DeprovisionDetails, asyncAllowed bool) (domain.DeprovisionServiceSpec, error) {
	var none domain.DeprovisionServiceSpec
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance()
	inst := s.state.Instances[id]
	if inst == nil {
		return none, apiresponses.ErrInstanceDoesNotExist
	}
	if inst.Operation != "" {
		if op := s.state.Operations[inst.Operation]; op != nil && op.Kind == kindDeprovision {
			return domain.DeprovisionServiceSpec{IsAsync: true, OperationData: inst.Operation}, nil
		}
		return none, apiresponses.ErrConcurrentInstanceAccess
	}
	if !s.async(asyncAllowed) {
		s.removeInstance(id)
		return none, s.persist()
	}
	inst.Operation, _ = s.startOperation(kindDeprovision, id, "deprovision")
	return domain.DeprovisionServiceSpec{IsAsync: true, OperationData: inst.Operation}, s.persist()
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
		if inst == nil || inst.Operation != id || op.state(now) == domain.InProgress {
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
			inst.PlanID, inst.Parameters, inst.MaintenanceInfo = op.NewPlanID, op.NewParams, op.NewMaintenance
		case kindDeprovision:
			b.removeInstance(op.InstanceID)
		}
	}
	if changed {
		_ = b.save()
	}
}

func (s service) GetInstance(_ context.Context, id string, _ domain.FetchInstanceDetails) (domain.GetInstanceDetailsSpec, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance()
	inst := s.state.Instances[id]
	if inst == nil || !inst.Ready {
		return domain.GetInstanceDetailsSpec{}, apiresponses.ErrInstanceNotFound
	}
	return domain.GetInstanceDetailsSpec{
		ServiceID: inst.ServiceID, PlanID: inst.PlanID, DashboardURL: s.dashboard(id), Parameters: inst.Parameters,
		Metadata: instanceMetadata(s.plans[inst.PlanID]),
	}, nil
}

func (s service) LastOperation(ctx context.Context, id string, details domain.PollDetails) (domain.LastOperation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	op := s.state.Operations[details.OperationData]
	if op == nil || op.InstanceID != id {
		if _, exists := s.state.Instances[id]; !exists {
			return domain.LastOperation{}, apiresponses.ErrInstanceDoesNotExist
		}
		return domain.LastOperation{}, failure(http.StatusBadRequest, "", "unknown operation %q", details.OperationData)
	}
	s.advance()
	state := op.state(s.opts.Now())
	if state == domain.InProgress {
		answerHeader(ctx).Set("Retry-After", "1")
	}
	// A finished deprovision leaves nothing behind: 410, as the spec allows.
	if op.Kind == kindDeprovision && state == domain.Succeeded {
		return domain.LastOperation{}, apiresponses.ErrInstanceDoesNotExist
	}
	return domain.LastOperation{State: state, Description: fmt.Sprintf("%s %s", op.Kind, state)}, nil
}

func bindingKey(instanceID, bindingID string) string { return instanceID + "/" + bindingID }

func (s service) Bind(ctx context.Context, instanceID, bindingID string, details domain.BindDetails, _ bool) (domain.Binding, error) {
	var none domain.Binding
	plan, known := s.plans[details.PlanID]
	predecessor := predecessorOf(ctx)
	switch {
	case !known || plan.serviceID != details.ServiceID:
		return none, failure(http.StatusBadRequest, "", "unknown service_id %q or plan_id %q", details.ServiceID, details.PlanID)
	case !plan.bindable:
		return none, failure(http.StatusBadRequest, "", "service %s cannot be bound", plan.serviceName)
	case predecessor != "" && !plan.rotatable:
		return none, failure(http.StatusBadRequest, "", "plan %s is not binding_rotatable: bind afresh instead of naming a predecessor", plan.planName)
	}
	params, err := parametersOf(details.RawParameters)
	if err != nil {
		return none, err
	}
	if err := checkParameters(plan.bind, params); err != nil {
		return none, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance()
	if inst := s.state.Instances[instanceID]; inst == nil || !inst.Ready {
		return none, failure(http.StatusUnprocessableEntity, osb.ErrorCodeConcurrencyError, "the instance does not exist or is not ready")
	}
	bnd, existed, err := s.newBinding(instanceID, bindingID, params, predecessor, plan)
	if err != nil {
		return none, err
	}
	answer := bnd.answer()
	answer.AlreadyExists = existed
	if existed {
		return answer, nil
	}
	s.state.Bindings[bindingKey(instanceID, bindingID)] = bnd
	return answer, s.persist()
}

// newBinding makes the binding a bind asks for: the existing one for the
// same request again, an error for a clash or a predecessor that cannot be
// succeeded. A successor keeps its predecessor's parameters.
func (b *Broker) newBinding(instanceID, bindingID string, params map[string]any, predecessor string, plan planInfo) (*binding, bool, error) {
	if predecessor != "" {
		pred := b.state.Bindings[bindingKey(instanceID, predecessor)]
		if pred == nil || (!pred.ExpiresAt.IsZero() && !b.opts.Now().Before(pred.ExpiresAt)) {
			return nil, false, failure(http.StatusBadRequest, "", "predecessor_binding_id %q is not a valid binding of instance %s (unknown, unbound or expired)", predecessor, instanceID)
		}
		if params == nil {
			params = pred.Parameters
		}
	}
	if existing := b.state.Bindings[bindingKey(instanceID, bindingID)]; existing != nil {
		if !reflect.DeepEqual(existing.Parameters, params) || existing.Predecessor != predecessor {
			return nil, false, failure(http.StatusConflict, "", "a binding with this id already exists with other parameters")
		}
		return existing, true, nil
	}
	bnd := &binding{InstanceID: instanceID, Parameters: params, Credentials: b.newCredentials(instanceID), Predecessor: predecessor}
	if plan.rotatable {
		lifetime := b.opts.CredentialLifetime
		if lifetime <= 0 {
			lifetime = DefaultCredentialLifetime
		}
		bnd.ExpiresAt, bnd.RenewBefore = b.opts.Now().Add(lifetime), b.opts.Now().Add(lifetime*2/3)
	}
	return bnd, false, nil
}

// newCredentials makes a database user unique to one binding.
func (b *Broker) newCredentials(instanceID string) map[string]any {
	user := "u_" + randomHex(6)
	password := randomHex(16)
	compact := strings.ReplaceAll(instanceID, "-", "")
	database := "db_" + compact[:min(12, len(compact))]
	return map[string]any{
		"host":     b.opts.DatabaseHost,
		"port":     5432,
		"database": database,
		"username": user,
		"password": password,
		"uri":      fmt.Sprintf("postgresql://%s:%s@%s:5432/%s", user, password, b.opts.DatabaseHost, database),
	}
}

func (s service) Unbind(_ context.Context, instanceID, bindingID string, _ domain.UnbindDetails, _ bool) (domain.UnbindSpec, error) {
	key := bindingKey(instanceID, bindingID)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state.Bindings[key] == nil {
		return domain.UnbindSpec{}, apiresponses.ErrBindingDoesNotExist
	}
	delete(s.state.Bindings, key)
	return domain.UnbindSpec{}, s.persist()
}

func (s service) GetBinding(_ context.Context, instanceID, bindingID string, _ domain.FetchBindingDetails) (domain.GetBindingSpec, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	bnd := s.state.Bindings[bindingKey(instanceID, bindingID)]
	if bnd == nil {
		return domain.GetBindingSpec{}, apiresponses.ErrBindingNotFound
	}
	answer := bnd.answer()
	return domain.GetBindingSpec{Credentials: answer.Credentials, Parameters: bnd.Parameters, Metadata: answer.Metadata}, nil
}

func (s service) LastBindingOperation(_ context.Context, instanceID, bindingID string, _ domain.PollDetails) (domain.LastOperation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state.Bindings[bindingKey(instanceID, bindingID)] == nil {
		return domain.LastOperation{}, apiresponses.ErrBindingDoesNotExist
	}
	return domain.LastOperation{State: domain.Succeeded}, nil
}
