package serviceinstance

import (
	"context"
	"errors"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/controllers/brokerclient"
	"github.com/servicecatalog/service-catalog/controllers/status"
	"github.com/servicecatalog/service-catalog/offering"
	"github.com/servicecatalog/service-catalog/osb"
	"github.com/servicecatalog/service-catalog/parameters"
)

// provision asks the broker to create the instance.
func (r *Reconciler) provision(ctx context.Context, s *scope) (ctrl.Result, error) {
	inst, off := s.inst, s.off
	if off.PlanRemoved || off.ClassRemoved {
		removedPlan(inst, off)
		return ctrl.Result{}, nil
	}
	if inst.Status.DeprovisionStatus != v1beta1.DeprovisionStatusRequired {
		// Admission refuses this; two instances admitted at once, or without
		// the webhook, meet here, before anything reaches the broker. One
		// whose provision may have reached the broker (its claim requires a
		// deprovision) holds its id there and goes on: refusing it would
		// leave its deletion to deprovision the id.
		holders, err := offering.ExternalIDHolders(ctx, r.Client, inst)
		if err != nil {
			return ctrl.Result{}, err
		}
		if holder := aheadOf(inst, holders); holder != nil {
			externalIDInUse(inst, holder.Namespace)
			return ctrl.Result{}, nil
		}
	}
	params, c, err := r.prepare(ctx, s)
	if c == nil {
		return ctrl.Result{}, err
	}
	kctx, err := r.brokerContext(ctx, inst, off.Cluster)
	if err != nil {
		return ctrl.Result{}, err
	}
	beginProvision(inst, off, params, r.Now())
	inst.Status.InProgressProperties.ContextChecksum = contextChecksum(kctx)
	if err := s.claim(ctx); err != nil {
		return ctrl.Result{}, err
	}
	req := &osb.ProvisionRequest{
		InstanceID: inst.Spec.ExternalID, ServiceID: off.Class.ExternalID, PlanID: off.Plan.ExternalID,
		Context: kctx, Parameters: params.Values, Identity: brokerclient.Identity(inst.Spec.UserInfo),
	}
	if off.Plan.MaintenanceInfo != nil {
		req.MaintenanceInfo = &osb.MaintenanceInfo{Version: off.Plan.MaintenanceInfo.Version}
	}
	s.log.Info("Sending provision request", "broker", off.BrokerName, "instanceID", inst.Spec.ExternalID, "plan", off.Plan.ExternalName)
	resp, err := c.Provision(ctx, req)
	var n next
	if confirmed := r.confirmProvision(ctx, s, c, err); confirmed != nil {
		provisionConfirmed(inst, confirmed, r.Now())
		n, err = done, nil
	} else {
		n, err = provisionAnswered(inst, resp, err, r.attempts())
	}
	logAnswer(s, "provision", n, err)
	return r.follow(ctx, s, n, err)
}

// prepare takes the broker client of a request (and its request slot),
// then builds the parameters, and reports in status what stops them. The
// slot comes first, as for bindings: an instance that finds its broker
// busy reads none of its parametersFrom Secrets. A nil client ends the
// reconcile with the error returned (the slot, if taken, is given back
// when the reconcile ends).
func (r *Reconciler) prepare(ctx context.Context, s *scope) (parameters.Set, *osb.Client, error) {
	c, err := r.connect(ctx, s)
	if c == nil {
		return parameters.Set{}, nil, err
	}
	params, ok, err := r.parameters(ctx, s)
	if !ok {
		return params, nil, err
	}
	return params, c, nil
}

// parameters builds the instance's parameters; ok is false when they
// cannot be (the condition says why, or err asks for a retry).
func (r *Reconciler) parameters(ctx context.Context, s *scope) (_ parameters.Set, ok bool, _ error) {
	inst := s.inst
	params, err := parameters.Build(ctx, r.APIReader, inst.Namespace, inst.Spec.Parameters, inst.Spec.ParametersFrom)
	var paramErr *parameters.Error
	if errors.As(err, &paramErr) {
		// A change to the spec or to a named Secret triggers a new attempt.
		parametersRefused(inst, paramErr)
		return params, false, nil
	}
	return params, err == nil, err
}

// connect is brokerClient, recording in the condition a broker that cannot
// be reached.
func (r *Reconciler) connect(ctx context.Context, s *scope) (*osb.Client, error) {
	inst := s.inst
	c, err := r.brokerClient(ctx, s)
	var brokerErr *brokerError
	if errors.As(err, &brokerErr) {
		brokerUnreachable(inst, brokerErr)
	}
	return c, err
}

// logAnswer logs what a broker's answer led to.
func logAnswer(s *scope, op string, n next, err error) {
	keys := []any{"operation", op, "instanceID", s.inst.Spec.ExternalID}
	switch n {
	case pollLater:
		s.log.Info("Broker works asynchronously", keys...)
	case retry:
		s.log.Info("Broker request failed; retrying", append(keys, "error", err.Error())...)
	case done, deprovisioned:
		if ready := readyReason(s.inst); ready != "" {
			keys = append(keys, "reason", ready)
		}
		s.log.Info("Broker operation finished", keys...)
	}
}

// readyReason is the reason of the Ready condition, if any.
func readyReason(inst *v1beta1.ServiceInstance) string {
	for _, c := range inst.Status.Conditions {
		if c.Type == v1beta1.ConditionReady {
			return c.Reason
		}
	}
	return ""
}

// attempts is now and the retry policy, for the decisions that may
// schedule another provision.
func (r *Reconciler) attempts() status.Attempts {
	return status.Attempts{Now: r.Now(), Policy: r.Retry}
}
