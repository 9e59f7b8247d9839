package servicebinding

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/controllers/brokerclient"
	"github.com/servicecatalog/service-catalog/osb"
	"github.com/servicecatalog/service-catalog/parameters"
)

// Reasons this package adds to those of the API.
const (
	reasonErrorWithParameters      = "ErrorWithParameters"
	reasonErrorInjectingBindResult = "ErrorInjectingBindResult"
)

func (r *Reconciler) bind(ctx context.Context, b *v1beta1.ServiceBinding) (ctrl.Result, error) {
	inst, off, err := r.readyInstance(ctx, b)
	if inst == nil {
		return ctrl.Result{}, err
	}
	if !off.Bindable() {
		before := *b.Status.DeepCopy()
		setFailed(b, v1beta1.ReasonNonbindablePlan, fmt.Sprintf("plan %q of class %q cannot be bound", off.Plan.ExternalName, off.Class.ExternalName))
		return ctrl.Result{}, r.saveStatus(ctx, b, before)
	}
	if err := r.checkSecretsFree(ctx, b); err != nil {
		var notOwned *notOwnedError
		if errors.As(err, &notOwned) {
			// Checked before binding, so the broker is not asked for
			// credentials that could not be stored. Re-checked when the
			// binding changes or the instance does.
			return ctrl.Result{}, r.setReady(ctx, b, metav1.ConditionFalse, v1beta1.ReasonSecretNotOwned, notOwned.Error())
		}
		return ctrl.Result{}, err
	}
	params, err := parameters.Build(ctx, r.APIReader, b.Namespace, b.Spec.Parameters, b.Spec.ParametersFrom)
	var paramErr *parameters.Error
	if errors.As(err, &paramErr) {
		return ctrl.Result{}, r.setReady(ctx, b, metav1.ConditionFalse, reasonErrorWithParameters, paramErr.Error())
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	c, err := r.osbClient(ctx, b, off)
	if err != nil {
		if saveErr := r.setReady(ctx, b, metav1.ConditionFalse, v1beta1.ReasonBindCallFailed, "cannot reach the broker: "+err.Error()); saveErr != nil {
			return ctrl.Result{}, saveErr
		}
		return ctrl.Result{}, err
	}

	before := *b.Status.DeepCopy()
	status := &b.Status
	status.CurrentOperation = v1beta1.ServiceBindingOperationBind
	if status.OperationStartTime == nil {
		now := metav1.NewTime(r.Now())
		status.OperationStartTime = &now
	}
	status.InProgressProperties = &v1beta1.PropertiesState{Parameters: params.ForStatus(), ParameterChecksum: params.Checksum(), UserInfo: b.Spec.UserInfo.DeepCopy()}
	status.UnbindStatus = v1beta1.UnbindStatusRequired
	setCondition(b, v1beta1.ConditionReady, metav1.ConditionFalse, v1beta1.ReasonBinding, "The broker is binding")
	if err := r.claim(ctx, b, before); err != nil {
		return ctrl.Result{}, err
	}

	r.polls.Forget(client.ObjectKeyFromObject(b))
	resp, err := c.Bind(ctx, &osb.BindRequest{
		InstanceID: inst.Spec.ExternalID, BindingID: bindingID(b), ServiceID: off.Class.ExternalID, PlanID: off.Plan.ExternalID,
		Context: osb.NewKubernetesContext(r.ClusterID, b.Namespace, inst.Name), Parameters: params.Values,
		Identity: brokerclient.Identity(b.Spec.UserInfo), Synchronous: !off.Class.BindingRetrievable,
	})
	before = *b.Status.DeepCopy()
	switch {
	case err == nil && resp.Async:
		status.AsyncOpInProgress = true
		status.LastOperation = &resp.Operation
		setCondition(b, v1beta1.ConditionReady, metav1.ConditionFalse, v1beta1.ReasonBinding, "The broker is binding asynchronously")
		return ctrl.Result{RequeueAfter: r.pollInterval(0, status.OperationStartTime)}, r.saveStatus(ctx, b, before)
	case err == nil:
		return r.bound(ctx, b, resp.Credentials, before)
	}
	msg := "bind failed: " + err.Error()
	switch {
	case osb.IsConcurrencyError(err) || osb.StatusOf(err) == http.StatusRequestTimeout || neverSent(err):
		setCondition(b, v1beta1.ConditionReady, metav1.ConditionFalse, v1beta1.ReasonBindCallFailed, msg+"; retrying")
		if saveErr := r.saveStatus(ctx, b, before); saveErr != nil {
			return ctrl.Result{}, saveErr
		}
		return ctrl.Result{}, err
	case osb.OutcomeOf(err) == osb.Uncertain:
		r.startOrphanMitigation(b, msg)
		return ctrl.Result{Requeue: true}, r.saveStatus(ctx, b, before)
	}
	clearOperation(b)
	status.UnbindStatus = v1beta1.UnbindStatusNotRequired
	setFailed(b, v1beta1.ReasonBindCallFailed, msg+". Delete the binding and create one the broker accepts")
	return ctrl.Result{}, r.saveStatus(ctx, b, before)
}

func neverSent(err error) bool {
	var transport *osb.TransportError
	return errors.As(err, &transport) && transport.NeverSent()
}

// bound writes the credentials and records the binding as Ready.
func (r *Reconciler) bound(ctx context.Context, b *v1beta1.ServiceBinding, creds map[string]any, before v1beta1.ServiceBindingStatus) (ctrl.Result, error) {
	status := &b.Status
	status.ExternalProperties = status.InProgressProperties
	status.InProgressProperties = nil
	clearOperation(b)
	if err := r.writeCredentials(ctx, b, creds); err != nil {
		var transform *transformError
		var notOwned *notOwnedError
		switch {
		case errors.As(err, &transform):
			setFailed(b, reasonErrorInjectingBindResult, transform.Error())
		case errors.As(err, &notOwned):
			setCondition(b, v1beta1.ConditionReady, metav1.ConditionFalse, v1beta1.ReasonSecretNotOwned, notOwned.Error())
		default:
			// Without the credentials stored, the binding is of no use:
			// unbind and start over.
			r.startOrphanMitigation(b, "storing the credentials failed: "+err.Error())
		}
		return ctrl.Result{}, r.saveStatus(ctx, b, before)
	}
	status.ObservedGeneration = b.Generation
	setCondition(b, v1beta1.ConditionReady, metav1.ConditionTrue, v1beta1.ReasonInjectedBindResult, "The credentials are in Secret "+secretName(b))
	return ctrl.Result{}, r.saveStatus(ctx, b, before)
}

// writeCredentials writes the credentials Secret and the env Secret and
// records the key names in status.
func (r *Reconciler) writeCredentials(ctx context.Context, b *v1beta1.ServiceBinding, creds map[string]any) error {
	data := credentialData(creds)
	if err := applyTransforms(ctx, r.APIReader, b, creds, data); err != nil {
		return err
	}
	env, err := envData(b.Name, data)
	if err != nil {
		return err
	}
	if err := r.writeSecret(ctx, b, secretName(b), data); err != nil {
		return err
	}
	if err := r.writeSecret(ctx, b, envSecretName(b), env); err != nil {
		return err
	}
	b.Status.SecretKeys = secretKeysOf(data)
	b.Status.EnvSecretName = envSecretName(b)
	return nil
}

// ensureSecrets keeps a bound binding's Secrets in place: when one was
// deleted, the credentials are fetched again if the broker allows it.
func (r *Reconciler) ensureSecrets(ctx context.Context, b *v1beta1.ServiceBinding) (ctrl.Result, error) {
	missing, err := r.secretsMissing(ctx, b)
	if err != nil || !missing {
		return ctrl.Result{}, err
	}
	inst, off, err := r.readyInstance(ctx, b)
	if inst == nil {
		return ctrl.Result{}, err
	}
	if !off.Class.BindingRetrievable {
		return ctrl.Result{}, r.setReady(ctx, b, metav1.ConditionFalse, reasonErrorInjectingBindResult,
			"the credentials Secret was deleted and the broker does not let them be fetched again; delete and recreate the binding")
	}
	c, err := r.osbClient(ctx, b, off)
	if err != nil {
		return ctrl.Result{}, err
	}
	got, err := c.GetBinding(ctx, &osb.GetBindingRequest{InstanceID: inst.Spec.ExternalID, BindingID: bindingID(b), ServiceID: off.Class.ExternalID, PlanID: off.Plan.ExternalID})
	if err != nil {
		return ctrl.Result{}, err
	}
	before := *b.Status.DeepCopy()
	b.Status.InProgressProperties = b.Status.ExternalProperties
	return r.bound(ctx, b, got.Credentials, before)
}
