package servicebinding

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/controllers/brokerclient"
	"github.com/servicecatalog/service-catalog/controllers/status"
	"github.com/servicecatalog/service-catalog/offering"
	"github.com/servicecatalog/service-catalog/osb"
)

// scope is what one reconcile of a binding works with. The instance and
// its offering are loaded once, when a phase first needs them; the broker
// client with its request slot likewise, until brokerAnswered gives the
// slot back.
type scope struct {
	b     *v1beta1.ServiceBinding
	patch *status.Patcher
	log   logr.Logger
	inst  *v1beta1.ServiceInstance
	off   *offering.Offering
	osb   *osb.Client
	// release frees the broker request slot the reconcile holds, if any.
	release func()
}

// done frees what the reconcile holds.
func (s *scope) done() {
	if s.release != nil {
		s.release()
	}
}

// brokerAnswered gives the broker request slot back once the broker has
// answered and what follows is the manager's own writes, which need no
// share of the broker. A later request of the reconcile takes a slot again.
func (s *scope) brokerAnswered() {
	s.done()
	s.osb, s.release = nil, nil
}

func (r *Reconciler) newScope(ctx context.Context, b *v1beta1.ServiceBinding) *scope {
	return &scope{b: b, patch: r.statusWriter().Begin(b), log: logf.FromContext(ctx)}
}

func (r *Reconciler) statusWriter() status.Writer {
	return status.Writer{Client: r.Client, Recorder: r.Recorder, Warning: func(ready *metav1.Condition) bool {
		switch ready.Reason {
		case v1beta1.ReasonBindCallFailed, v1beta1.ReasonUnbindCallFailed, v1beta1.ReasonSecretNotOwned, v1beta1.ReasonNonbindablePlan,
			reasonErrorWithParameters, reasonErrorInjectingBindResult:
			return true
		}
		return false
	}}
}

// save writes what the reconcile changed in status: the one status write
// of a reconcile besides the claim.
func (s *scope) save(ctx context.Context) error { return s.patch.Save(ctx, s.b) }

// claim writes the status right before a broker request (status.Patcher.Claim).
func (s *scope) claim(ctx context.Context) error { return s.patch.Claim(ctx, s.b) }

// writeSpec updates spec or metadata, keeping the status changed so far.
func (s *scope) writeSpec(ctx context.Context) error { return s.patch.UpdateSpec(ctx, s.b) }

// release deletes the binding's Secrets and lets the binding go, after
// writing what the reconcile changed in status.
func (r *Reconciler) release(ctx context.Context, s *scope) error {
	if err := r.deleteSecrets(ctx, s.b); err != nil {
		return err
	}
	if err := s.patch.Release(ctx, s.b, Finalizer, formerFinalizer); err != nil {
		return err
	}
	s.log.Info("Released ServiceBinding", "namespace", s.b.Namespace, "name", s.b.Name)
	return nil
}

// instance reads the binding's instance, once per reconcile.
func (r *Reconciler) instance(ctx context.Context, s *scope) (*v1beta1.ServiceInstance, error) {
	if s.inst != nil {
		return s.inst, nil
	}
	inst := &v1beta1.ServiceInstance{}
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: s.b.Namespace, Name: s.b.Spec.InstanceRef.Name}, inst); err != nil {
		return nil, err
	}
	s.inst = inst
	return inst, nil
}

// offering resolves the instance's class and plan, once per reconcile.
func (r *Reconciler) offering(ctx context.Context, s *scope) (*offering.Offering, error) {
	if s.off != nil {
		return s.off, nil
	}
	inst, err := r.instance(ctx, s)
	if err != nil {
		return nil, err
	}
	off, err := offering.Resolve(ctx, r.Client, inst)
	if err != nil {
		return nil, err
	}
	s.off = off
	return off, nil
}

// readyInstance returns the binding's instance and offering once the
// instance is Ready, else records why the binding waits (nil instance).
func (r *Reconciler) readyInstance(ctx context.Context, s *scope) (*v1beta1.ServiceInstance, *offering.Offering, error) {
	inst, err := r.instance(ctx, s)
	if apierrors.IsNotFound(err) {
		waitingForInstance(s.b, fmt.Sprintf("waiting for ServiceInstance %s, which does not exist", s.b.Spec.InstanceRef.Name))
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	if !inst.DeletionTimestamp.IsZero() {
		waitingForInstance(s.b, fmt.Sprintf("ServiceInstance %s is being deleted", inst.Name))
		return nil, nil, nil
	}
	ready := meta.FindStatusCondition(inst.Status.Conditions, v1beta1.ConditionReady)
	if ready == nil || ready.Status != metav1.ConditionTrue || inst.Status.ExternalProperties == nil {
		waitingForInstance(s.b, fmt.Sprintf("waiting for ServiceInstance %s to be Ready (%s)", inst.Name, notReadyBecause(ready)))
		return nil, nil, nil
	}
	off, err := r.offering(ctx, s)
	if err != nil {
		return nil, nil, err
	}
	return inst, off, nil
}

// notReadyBecause says why an instance is not Ready, as a binding waiting
// for it reports. An instance without a Ready condition was not reconciled
// yet: it is on its way to a provision. While the instance is provisioned
// or updated the words
// stay the same, whatever the broker says of its progress, so a waiting
// binding's status is written once, not at every step of its instance;
// otherwise they are the instance's reason and message, which say what to
// fix.
func notReadyBecause(ready *metav1.Condition) string {
	switch {
	case ready == nil || ready.Reason == v1beta1.ReasonProvisioning:
		return "it is being provisioned"
	case ready.Reason == v1beta1.ReasonUpdatingInstance:
		return "it is being updated"
	}
	return ready.Reason + ": " + ready.Message
}

// brokerClient returns an OSB client for the instance's broker, with one of
// the broker's request slots, once per reconcile or again after
// brokerAnswered.
func (r *Reconciler) brokerClient(ctx context.Context, s *scope) (*osb.Client, error) {
	if s.osb != nil {
		return s.osb, nil
	}
	off, err := r.offering(ctx, s)
	if err != nil {
		return nil, err
	}
	broker, err := brokerclient.GetBroker(ctx, r.Client, off, s.b.Namespace)
	if apierrors.IsNotFound(err) {
		return nil, errBrokerGone
	}
	if err != nil {
		return nil, err
	}
	c, release, err := r.Pool.Client(ctx, broker, s.b)
	if err != nil {
		return nil, err
	}
	s.osb, s.release = c, release
	return c, nil
}

// errBrokerGone is the broker object of a binding's offering being gone.
var errBrokerGone = errors.New("the broker of this binding's instance no longer exists")
