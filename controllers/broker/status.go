package broker

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/osb"
)

// maxProblemsListed keeps a condition message readable; the count says how
// many more there are.
const maxProblemsListed = 10

// invalidCatalogMessage lists a broken catalog's problems.
func invalidCatalogMessage(problems []string) string {
	listed := problems
	if len(listed) > maxProblemsListed {
		listed = listed[:maxProblemsListed]
	}
	msg := fmt.Sprintf("the broker's catalog has %d problem(s) and was not applied: %s", len(problems), strings.Join(listed, "; "))
	if more := len(problems) - len(listed); more > 0 {
		msg += fmt.Sprintf("; and %d more", more)
	}
	return msg
}

// fetchedMessage says what a successful fetch yielded.
func fetchedMessage(services, plans int) string {
	return fmt.Sprintf("fetched %d %s, %d %s", services, plural(services, "service", "services"), plans, plural(plans, "plan", "plans"))
}

// relistNote tells the broker's owner that the catalog is fetched less
// often than relistDuration asks, and why; empty when it is not.
func relistNote(spec *v1beta1.CommonServiceBrokerSpec, floor time.Duration) string {
	if spec.RelistBehavior == v1beta1.RelistBehaviorManual {
		return ""
	}
	interval, raised := relistInterval(spec, floor)
	if !raised {
		return ""
	}
	return fmt.Sprintf("; relistDuration %s is below the minimum of %s, so the catalog is fetched every %s", spec.RelistDuration.Duration, floor, interval)
}

// countPlans counts every plan of a catalog, before restrictions filter it.
func countPlans(catalog *osb.CatalogResponse) int {
	n := 0
	for _, svc := range catalog.Services {
		n += len(svc.Plans)
	}
	return n
}

// tooManyPlansMessage refuses a catalog over the cap.
func tooManyPlansMessage(plans, maxPlans int) string {
	return fmt.Sprintf("the broker's catalog lists %d plans, more than the %d one broker may offer; it was not applied. "+
		"Split the broker's services, or ask the cluster's operator to raise the manager's plan cap", plans, maxPlans)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// readyStatus computes the broker status after a fetch. It is pure, so
// that an unchanged outcome yields an unchanged status and no write.
func readyStatus(old v1beta1.CommonServiceBrokerStatus, generation int64, ready bool, reason, message string) v1beta1.CommonServiceBrokerStatus {
	st := *old.DeepCopy()
	condition := metav1.Condition{
		Type: v1beta1.ConditionReady, Status: metav1.ConditionFalse,
		Reason: reason, Message: message, ObservedGeneration: generation,
	}
	if ready {
		condition.Status = metav1.ConditionTrue
	}
	meta.SetStatusCondition(&st.Conditions, condition)
	st.ObservedGeneration = generation
	return st
}

// fail records a failed fetch in the broker's status and, when the message
// is new, in an event. cause, when not nil, is returned for a retry with
// backoff.
func (r *Reconciler) fail(ctx context.Context, broker brokerObject, reason, message string, cause error) error {
	next := readyStatus(*broker.GetCommonStatus(), broker.GetGeneration(), false, reason, message)
	if err := r.writeStatus(ctx, broker, next, corev1.EventTypeWarning, reason, message); err != nil {
		return err
	}
	return cause
}

// succeed records a successful fetch. The status and event change only when
// the catalog did, so an unchanged relist writes nothing.
func (r *Reconciler) succeed(ctx context.Context, broker brokerObject, desired desiredCatalog, done *changes) error {
	message := fetchedMessage(len(desired.classes), len(desired.plans)) + relistNote(broker.GetCommonSpec(), r.MinRelistInterval)
	next := readyStatus(*broker.GetCommonStatus(), broker.GetGeneration(), true, v1beta1.ReasonFetchedCatalog, message)
	next.ServiceCount, next.PlanCount = int32(len(desired.classes)), int32(len(desired.plans))
	next.ObservedRelistRequests = broker.GetCommonSpec().RelistRequests
	if done.any() || next.LastCatalogRetrievalTime == nil {
		now := metav1.NewTime(r.Now())
		next.LastCatalogRetrievalTime = &now
	}
	return r.writeStatus(ctx, broker, next, corev1.EventTypeNormal, v1beta1.ReasonFetchedCatalog, message)
}

// writeStatus writes next when it differs from the broker's status, and
// then records an event with the same reason and message.
func (r *Reconciler) writeStatus(ctx context.Context, broker brokerObject, next v1beta1.CommonServiceBrokerStatus, eventType, reason, message string) error {
	current := broker.GetCommonStatus()
	if equality.Semantic.DeepEqual(*current, next) {
		return nil
	}
	*current = next
	if err := r.Client.Status().Update(ctx, broker); err != nil {
		return fmt.Errorf("update %s status: %w", r.scope.kind(), err)
	}
	r.Recorder.Eventf(broker, nil, eventType, reason, "FetchCatalog", "%s", message)
	return nil
}
