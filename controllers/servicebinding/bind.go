package servicebinding

import (
	"context"
	"errors"

	"k8s.io/apimachinery/pkg/api/meta"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/controllers/brokerclient"
	"github.com/servicecatalog/service-catalog/controllers/status"
	"github.com/servicecatalog/service-catalog/offering"
	"github.com/servicecatalog/service-catalog/osb"
	"github.com/servicecatalog/service-catalog/parameters"
)

// bind asks the broker for credentials once the instance is Ready.
func (r *Reconciler) bind(ctx context.Context, s *scope) (ctrl.Result, error) {
	b := s.b
	if !sentBefore(b) {
		// Admission refuses this; two bindings admitted at once, or without
		// the webhook, meet here, before anything reaches the broker. One
		// that has sent a bind already holds its id at the broker and
		// goes on: refusing it would leave its deletion to unbind the id.
		holders, err := offering.BindingIDHolders(ctx, r.Client, b)
		if err != nil {
			return ctrl.Result{}, err
		}
		if holder := aheadOf(b, holders); holder != nil {
			bindingIDInUse(b, holder.Namespace)
			return ctrl.Result{}, nil
		}
	}
	inst, off, err := r.readyInstance(ctx, s)
	if inst == nil {
		return ctrl.Result{}, err
	}
	if !off.Bindable() {
		nonBindable(b, off)
		return ctrl.Result{}, nil
	}
	params, c, err := r.prepare(ctx, s)
	if c == nil {
		return ctrl.Result{}, err
	}
	beginBind(b, params, r.Now())
	if err := s.claim(ctx); err != nil {
		return ctrl.Result{}, err
	}
	r.polls.Forget(client.ObjectKeyFromObject(b))
	s.log.Info("Sending bind request", "broker", off.BrokerName, "instanceID", inst.Spec.ExternalID, "bindingID", bindingID(b))
	resp, err := c.Bind(ctx, &osb.BindRequest{
		InstanceID: inst.Spec.ExternalID, BindingID: bindingID(b), ServiceID: off.Class.ExternalID, PlanID: off.Plan.ExternalID,
		Context: osb.NewKubernetesContext(r.ClusterID, b.Namespace, inst.Name), Parameters: params.Values,
		Identity: brokerclient.Identity(b.Spec.UserInfo), Synchronous: !off.Class.BindingRetrievable,
	})
	n, err := bindAnswered(b, resp, err, r.attempts())
	logAnswer(s, "bind", n, err)
	if n == store {
		return r.storeCredentials(ctx, s, answerOfBind(resp))
	}
	return r.follow(ctx, s, n, err)
}

// prepare checks the Secrets the binding will write, takes the broker
// client, builds the parameters, and reports in status what stops them. A
// nil client ends the reconcile with the error returned. The check reads
// the metadata cache and comes before the client: a binding whose broker
// is busy comes back until it gets a slot and should cost the API server
// nothing each time; the parameters, which may read Secrets, come after.
func (r *Reconciler) prepare(ctx context.Context, s *scope) (parameters.Set, *osb.Client, error) {
	b := s.b
	var params parameters.Set
	if err := r.checkSecretsFree(ctx, b); err != nil {
		var notOwned *notOwnedError
		if errors.As(err, &notOwned) {
			// Checked before binding, so the broker is not asked for
			// credentials that could not be stored. Re-checked when the
			// binding changes or the instance does.
			secretTaken(b, notOwned)
			return params, nil, nil
		}
		return params, nil, err
	}
	c, err := r.brokerClient(ctx, s)
	if err != nil {
		if !errors.Is(err, brokerclient.ErrBusy) {
			brokerUnreachable(b, err)
		}
		return params, nil, err
	}
	params, err = parameters.Build(ctx, r.APIReader, b.Namespace, b.Spec.Parameters, b.Spec.ParametersFrom)
	var paramErr *parameters.Error
	if errors.As(err, &paramErr) {
		parametersRefused(b, paramErr)
		return params, nil, nil
	}
	if err != nil {
		return params, nil, err
	}
	return params, c, nil
}

// storeCredentials writes the credentials of a finished bind and records
// the binding as Ready, with their expiry.
func (r *Reconciler) storeCredentials(ctx context.Context, s *scope, a answer) (ctrl.Result, error) {
	s.brokerAnswered()
	err := r.writeCredentials(ctx, s.b, a.credentials, s.off)
	n := credentialsStored(s.b, err)
	if n == done && err == nil {
		recordExpiry(s.b, parseExpiry(a.metadata, r.Now()))
		recordEndpoints(s.b, a)
	}
	if n == done && !s.b.DeletionTimestamp.IsZero() {
		// A bind that finished while the binding was being deleted: unbind.
		return r.reconcileDelete(ctx, s)
	}
	if _, after := rotationDue(s.b, r.Now()); n == done && err == nil && after > 0 {
		// Nothing else wakes the binding when its credentials are due.
		return ctrl.Result{RequeueAfter: after}, nil
	}
	return r.follow(ctx, s, n, nil)
}

// ensureSecrets keeps a bound binding's Secrets in place: when one was
// deleted, the credentials are fetched again if the broker allows it. It
// says whether they are in place; the reconcile goes no further when they
// are not.
func (r *Reconciler) ensureSecrets(ctx context.Context, s *scope) (bool, ctrl.Result, error) {
	b := s.b
	if inPlace, err := r.secretsInPlace(ctx, b); err != nil || inPlace {
		if inPlace {
			inPlaceAgain(b)
		}
		return inPlace, ctrl.Result{}, err
	}
	creds, env, err := r.boundSecrets(ctx, b)
	if err != nil {
		return false, ctrl.Result{}, err
	}
	if replaced := replacedSecret(b, creds, env); replaced != nil {
		// Pods would read someone else's values under the binding's name.
		// Its deletion (a watched change) brings the binding back.
		secretTaken(b, replaced)
		return false, ctrl.Result{}, nil
	}
	if creds != nil {
		if env == nil {
			// Only the env Secret is gone, or was never written (a binding
			// the retired project made): the credentials are at hand.
			if err := r.restoreEnvSecret(ctx, b); err != nil {
				return false, ctrl.Result{}, err
			}
		}
		inPlaceAgain(b)
		return true, ctrl.Result{}, nil
	}
	res, err := r.refetch(ctx, s)
	return false, res, err
}

// refetch fetches the credentials of a bound binding whose Secret is gone,
// when the broker allows it.
func (r *Reconciler) refetch(ctx context.Context, s *scope) (ctrl.Result, error) {
	b := s.b
	inst, off, err := r.readyInstance(ctx, s)
	if inst == nil {
		return ctrl.Result{}, err
	}
	if !off.Class.BindingRetrievable {
		credentialsLost(b)
		return ctrl.Result{}, nil
	}
	b.Status.InProgressProperties = b.Status.ExternalProperties
	return r.fetchCredentials(ctx, s)
}

// inPlaceAgain records that a bound binding's Secrets are in place: it
// names the credentials Secret in status.binding, which a binding bound
// before that field existed lacks (the duck type needs it), and a binding
// that found one of them replaced is Ready again.
func inPlaceAgain(b *v1beta1.ServiceBinding) {
	if b.Status.Binding == nil {
		b.Status.Binding = &v1beta1.LocalObjectReference{Name: b.CredentialsSecretName()}
	}
	if c := meta.FindStatusCondition(b.Status.Conditions, v1beta1.ConditionReady); c != nil && c.Reason == v1beta1.ReasonSecretNotOwned {
		credentialsInPlace(b)
	}
}

// fetchCredentials reads the credentials of a binding from the broker and
// stores them.
func (r *Reconciler) fetchCredentials(ctx context.Context, s *scope) (ctrl.Result, error) {
	c, err := r.brokerClient(ctx, s)
	if err != nil {
		return ctrl.Result{}, err
	}
	b, inst, off := s.b, s.inst, s.off
	got, err := c.GetBinding(ctx, &osb.GetBindingRequest{InstanceID: inst.Spec.ExternalID, BindingID: bindingID(b), ServiceID: off.Class.ExternalID, PlanID: off.Plan.ExternalID})
	if err != nil {
		return ctrl.Result{}, err
	}
	return r.storeCredentials(ctx, s, answerOfFetch(got))
}

// logAnswer logs what a broker's answer led to.
func logAnswer(s *scope, op string, n next, err error) {
	keys := []any{"operation", op, "bindingID", bindingID(s.b)}
	switch n {
	case pollLater:
		s.log.Info("Broker works asynchronously", keys...)
	case retry:
		s.log.Info("Broker request failed; retrying", append(keys, "error", err.Error())...)
	case done, store, unbound:
		s.log.Info("Broker operation finished", keys...)
	}
}

// attempts is now and the retry policy, for the decisions that may
// schedule another bind.
func (r *Reconciler) attempts() status.Attempts {
	return status.Attempts{Now: r.Now(), Policy: r.Retry}
}
