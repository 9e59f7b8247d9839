package serviceinstance

import (
	"context"
	"errors"
	"time"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/google/uuid"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/controllers/brokerclient"
	"github.com/servicecatalog/service-catalog/controllers/status"
	"github.com/servicecatalog/service-catalog/offering"
	"github.com/servicecatalog/service-catalog/osb"
)

// scope is what one reconcile of an instance works with. The offering and
// the broker client are loaded once, when a phase first needs them.
type scope struct {
	inst  *v1beta1.ServiceInstance
	patch *status.Patcher
	log   logr.Logger
	off   *offering.Offering
	osb   *osb.Client
	// fresh: the instance had no status when read (status.NeverReconciled).
	fresh bool
	// release frees the broker request slot the reconcile holds, if any.
	release func()
}

// done frees what the reconcile holds.
func (s *scope) done() {
	if s.release != nil {
		s.release()
	}
}

func (r *Reconciler) newScope(ctx context.Context, inst *v1beta1.ServiceInstance) *scope {
	return &scope{inst: inst, patch: r.statusWriter().Begin(inst), log: logf.FromContext(ctx), fresh: status.NeverReconciled(inst.Status.Conditions)}
}

func (r *Reconciler) statusWriter() status.Writer {
	return status.Writer{Client: r.Client, Recorder: r.Recorder, Warning: func(ready *metav1.Condition) bool {
		return ready.Status == metav1.ConditionFalse && isWarning(ready.Reason)
	}}
}

// save writes what the reconcile changed in status: the one status write
// of a reconcile besides the claim.
func (s *scope) save(ctx context.Context) error { return s.patch.Save(ctx, s.inst) }

// claim writes the status right before a broker request (status.Patcher.Claim).
func (s *scope) claim(ctx context.Context) error { return s.patch.Claim(ctx, s.inst) }

// writeSpec updates spec or metadata, keeping the status changed so far.
func (s *scope) writeSpec(ctx context.Context) error { return s.patch.UpdateSpec(ctx, s.inst) }

// ensureSpec records, in one write before any broker request, the
// finalizer (on the first reconcile only: status.NeverReconciled), an externalID (the admission webhook defaults it; without the
// webhook, here) and, once resolved, the class and plan with their lookup
// labels.
func (r *Reconciler) ensureSpec(ctx context.Context, s *scope) error {
	spec := &s.inst.Spec
	changed := s.fresh && controllerutil.AddFinalizer(s.inst, Finalizer)
	if controllerutil.RemoveFinalizer(s.inst, formerFinalizer) {
		// Renamed, so that the retired project's clients can abandon it.
		controllerutil.AddFinalizer(s.inst, Finalizer)
		changed = true
	}
	if spec.ExternalID == "" {
		spec.ExternalID = uuid.NewString()
		changed = true
	}
	if s.off != nil && spec.SetResolvedRefs(s.off.Cluster, s.off.ClassName, s.off.PlanName) {
		changed = true
	}
	if v1beta1.SetLookupLabels(s.inst, s.inst.LookupLabels()) {
		changed = true
	}
	if !changed {
		return nil
	}
	return s.writeSpec(ctx)
}

// release removes the finalizer, letting the API server delete the object,
// after writing what the reconcile changed in status.
func (r *Reconciler) release(ctx context.Context, s *scope) error {
	if err := s.patch.Release(ctx, s.inst, Finalizer, formerFinalizer); err != nil {
		return err
	}
	s.log.Info("Released ServiceInstance", "namespace", s.inst.Namespace, "name", s.inst.Name)
	return nil
}

// offering resolves the instance's class and plan, once per reconcile.
func (r *Reconciler) offering(ctx context.Context, s *scope) (*offering.Offering, error) {
	if s.off != nil {
		return s.off, nil
	}
	off, err := offering.Resolve(ctx, r.Client, s.inst)
	if err != nil {
		return nil, err
	}
	s.off = off
	return off, nil
}

// resolve loads the offering and reports in status when the class or plan
// does not exist; s.off stays nil then.
func (r *Reconciler) resolve(ctx context.Context, s *scope) (ctrl.Result, error) {
	_, err := r.offering(ctx, s)
	var notFound *offering.NotFoundError
	if errors.As(err, &notFound) {
		unresolved(s.inst, notFound)
		// Catalogs arrive on their own schedule: a new plan wakes the
		// instance, and it looks again soon in any case.
		return ctrl.Result{RequeueAfter: 15 * time.Second}, nil
	}
	return ctrl.Result{}, err
}

// brokerClient returns an OSB client for the instance's broker, once per
// reconcile. A *brokerError is a problem the user or operator must fix.
func (r *Reconciler) brokerClient(ctx context.Context, s *scope) (*osb.Client, error) {
	if s.osb != nil {
		return s.osb, nil
	}
	broker, err := brokerclient.GetBroker(ctx, r.Client, s.off, s.inst.Namespace)
	if apierrors.IsNotFound(err) {
		return nil, &brokerError{"the broker " + s.off.BrokerName + " of this instance's class does not exist"}
	}
	if err != nil {
		return nil, err
	}
	c, release, err := r.Pool.Client(ctx, broker, s.inst)
	if errors.Is(err, brokerclient.ErrBusy) {
		return nil, err
	}
	if err != nil {
		return nil, &brokerError{err.Error()}
	}
	s.osb, s.release = c, release
	return c, nil
}

// brokerError is a problem reaching the broker that the user or operator
// must fix; it is reported, then retried with backoff.
type brokerError struct{ msg string }

func (e *brokerError) Error() string { return e.msg }
