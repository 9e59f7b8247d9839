// Package servicebinding reconciles ServiceBindings: it binds at the broker
// once the instance is ready, writes the credentials into a Secret the
// binding owns (and a second one keyed by environment variable names for
// the pod injector), and unbinds on deletion.
package servicebinding

import (
	"context"
	"fmt"
	"sort"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/controllers/brokerclient"
	"github.com/servicecatalog/service-catalog/controllers/status"
	"github.com/servicecatalog/service-catalog/offering"
	"github.com/servicecatalog/service-catalog/osb"
)

// Finalizer keeps a binding until the broker confirmed the unbind.
const Finalizer = "servicecatalog.k8s.io/unbind"

// Options configure the binding controller.
type Options struct {
	// ClusterID is sent in the context object of every bind.
	ClusterID string
	// MaxPollInterval caps the time between two last_operation polls.
	MaxPollInterval time.Duration
	// Client tunes requests to brokers.
	Client brokerclient.Options
}

// +kubebuilder:rbac:groups=servicecatalog.k8s.io,resources=servicebindings,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=servicecatalog.k8s.io,resources=servicebindings/status;servicebindings/finalizers,verbs=get;update;patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;create;update;delete

// Reconciler drives ServiceBindings through their broker.
type Reconciler struct {
	Client    client.Client
	APIReader client.Reader
	Recorder  events.EventRecorder
	Options
	Now func() time.Time

	polls osb.PollSchedule
}

// Setup registers the binding controller. offering.SetupIndexes must have
// run on the manager.
func Setup(_ context.Context, mgr ctrl.Manager, opts Options) error {
	if opts.MaxPollInterval == 0 {
		opts.MaxPollInterval = time.Minute
	}
	r := &Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: mgr.GetEventRecorder("service-catalog"), Options: opts, Now: time.Now}
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1beta1.ServiceBinding{}, builder.WithPredicates(status.SpecOrIntentChanged())).
		// A binding waits for its instance: any change of the instance may
		// be the one it waits for.
		Watches(&v1beta1.ServiceInstance{}, handler.EnqueueRequestsFromMapFunc(r.bindingsOfInstance)).
		Named("ServiceBinding").
		Complete(r)
}

func (r *Reconciler) bindingsOfInstance(ctx context.Context, o client.Object) []reconcile.Request {
	var list v1beta1.ServiceBindingList
	if err := r.Client.List(ctx, &list, client.InNamespace(o.GetNamespace()), client.MatchingFields{offering.IndexInstanceRef: o.GetName()}); err != nil {
		return nil
	}
	out := make([]reconcile.Request, 0, len(list.Items))
	for i := range list.Items {
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
	}
	return out
}

// Reconcile moves one binding one step towards its spec.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	b := &v1beta1.ServiceBinding{}
	if err := r.Client.Get(ctx, req.NamespacedName, b); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !b.DeletionTimestamp.IsZero() {
		return r.reconcileDelete(ctx, b)
	}
	if !controllerutil.ContainsFinalizer(b, Finalizer) {
		controllerutil.AddFinalizer(b, Finalizer)
		if err := r.Client.Update(ctx, b); err != nil {
			return ctrl.Result{}, err
		}
	}
	status := &b.Status
	switch {
	case status.AsyncOpInProgress:
		return r.poll(ctx, b)
	case status.OrphanMitigationInProgress:
		return r.unbind(ctx, b)
	case meta.IsStatusConditionTrue(status.Conditions, v1beta1.ConditionFailed):
		// The spec cannot change; a new binding is the way to try again.
		return ctrl.Result{}, nil
	case status.UnbindStatus == v1beta1.UnbindStatusRequired && status.ExternalProperties != nil:
		return r.ensureSecrets(ctx, b)
	}
	return r.bind(ctx, b)
}

// bindingID is the OSB id of the binding: spec.externalID, else the UID,
// which is as unique and as stable.
func bindingID(b *v1beta1.ServiceBinding) string {
	if b.Spec.ExternalID != "" {
		return b.Spec.ExternalID
	}
	return string(b.UID)
}

// readyInstance returns the binding's instance and offering once the
// instance is Ready, else records why the binding waits.
func (r *Reconciler) readyInstance(ctx context.Context, b *v1beta1.ServiceBinding) (*v1beta1.ServiceInstance, *offering.Offering, error) {
	inst := &v1beta1.ServiceInstance{}
	err := r.Client.Get(ctx, client.ObjectKey{Namespace: b.Namespace, Name: b.Spec.InstanceRef.Name}, inst)
	if apierrors.IsNotFound(err) {
		return nil, nil, r.setReady(ctx, b, metav1.ConditionFalse, v1beta1.ReasonWaitingForInstance,
			fmt.Sprintf("waiting for ServiceInstance %s, which does not exist", b.Spec.InstanceRef.Name))
	}
	if err != nil {
		return nil, nil, err
	}
	if !inst.DeletionTimestamp.IsZero() {
		return nil, nil, r.setReady(ctx, b, metav1.ConditionFalse, v1beta1.ReasonWaitingForInstance,
			fmt.Sprintf("ServiceInstance %s is being deleted", inst.Name))
	}
	ready := meta.FindStatusCondition(inst.Status.Conditions, v1beta1.ConditionReady)
	if ready == nil || ready.Status != metav1.ConditionTrue || inst.Status.ExternalProperties == nil {
		why := "it has no status yet"
		if ready != nil {
			why = ready.Reason + ": " + ready.Message
		}
		return nil, nil, r.setReady(ctx, b, metav1.ConditionFalse, v1beta1.ReasonWaitingForInstance,
			fmt.Sprintf("waiting for ServiceInstance %s to be Ready (%s)", inst.Name, why))
	}
	off, err := offering.Resolve(ctx, r.Client, inst)
	if err != nil {
		return nil, nil, err
	}
	return inst, off, nil
}

func (r *Reconciler) osbClient(ctx context.Context, b *v1beta1.ServiceBinding, off *offering.Offering) (*osb.Client, error) {
	broker, err := brokerclient.GetBroker(ctx, r.Client, off, b.Namespace)
	if err != nil {
		return nil, err
	}
	cfg, err := brokerclient.Config(ctx, r.APIReader, broker, r.Options.Client)
	if err != nil {
		return nil, err
	}
	return osb.New(cfg)
}

func setCondition(b *v1beta1.ServiceBinding, condType string, s metav1.ConditionStatus, reason, message string) {
	status.SetCondition(b, condType, s, reason, message)
}

func setFailed(b *v1beta1.ServiceBinding, reason, message string) {
	status.SetFailed(b, reason, message)
}

func (r *Reconciler) setReady(ctx context.Context, b *v1beta1.ServiceBinding, s metav1.ConditionStatus, reason, message string) error {
	before := *b.Status.DeepCopy()
	setCondition(b, v1beta1.ConditionReady, s, reason, message)
	return r.saveStatus(ctx, b, before)
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

// saveStatus writes the status when it differs from before.
func (r *Reconciler) saveStatus(ctx context.Context, b *v1beta1.ServiceBinding, before v1beta1.ServiceBindingStatus) error {
	return r.statusWriter().Save(ctx, b, !equality.Semantic.DeepEqual(before, b.Status), before.Conditions)
}

func clearOperation(b *v1beta1.ServiceBinding) {
	b.Status.CurrentOperation = ""
	b.Status.OperationStartTime = nil
	b.Status.AsyncOpInProgress = false
	b.Status.LastOperation = nil
}

// secretKeysOf lists key names for status: names only, never values.
func secretKeysOf(data map[string][]byte) []string {
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// claim writes the status even when unchanged, right before a request to
// the broker (see status.Writer.Claim).
func (r *Reconciler) claim(ctx context.Context, b *v1beta1.ServiceBinding, before v1beta1.ServiceBindingStatus) error {
	return r.statusWriter().Claim(ctx, b, !equality.Semantic.DeepEqual(before, b.Status), before.Conditions)
}
