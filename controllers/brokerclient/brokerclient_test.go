package brokerclient_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
	"github.com/servicecatalog/service-catalog/controllers/brokerclient"
	"github.com/servicecatalog/service-catalog/osb"
	"github.com/servicecatalog/service-catalog/osb/osbtest"
	"github.com/servicecatalog/service-catalog/osb/reach"
)

func namespacedBroker(url string) brokerclient.Broker {
	return &v1beta1.ServiceBroker{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "internal"},
		Spec:       v1beta1.ServiceBrokerSpec{CommonServiceBrokerSpec: v1beta1.CommonServiceBrokerSpec{URL: url}},
	}
}

func clusterBroker(url string) brokerclient.Broker {
	return &v1beta1.ClusterServiceBroker{
		ObjectMeta: metav1.ObjectMeta{Name: "internal"},
		Spec:       v1beta1.ClusterServiceBrokerSpec{CommonServiceBrokerSpec: v1beta1.CommonServiceBrokerSpec{URL: url}},
	}
}

// withCredentials is the fake broker's URL with its credentials in the
// userinfo, host replaced by host when given, so no auth Secret is needed.
func withCredentials(b *osbtest.Broker, host string) string {
	url := strings.Replace(b.URL(), "http://", "http://"+b.Username+":"+b.Password+"@", 1)
	if host != "" {
		url = strings.Replace(url, "127.0.0.1", host, 1)
	}
	return url
}

// TestConfigReach is the attack through the controllers' path: a
// namespaced broker aimed at the manager's loopback gets no request, while
// an admin's cluster broker at the same URL works.
func TestConfigReach(t *testing.T) {
	namespacedDefault := brokerclient.Options{NamespacedReach: reach.Default(netip.MustParsePrefix("10.96.0.1/32"))}
	loopbackAllowed := reach.Default()
	loopbackAllowed.Allowed = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	tests := map[string]struct {
		broker  func(url string) brokerclient.Broker
		host    string
		opts    brokerclient.Options
		refused bool
	}{
		"namespaced, by address":               {broker: namespacedBroker, opts: namespacedDefault, refused: true},
		"namespaced, by a name for loopback":   {broker: namespacedBroker, host: "localhost", opts: namespacedDefault, refused: true},
		"cluster broker, same URL":             {broker: clusterBroker, opts: namespacedDefault},
		"namespaced, operator allows 127/8":    {broker: namespacedBroker, opts: brokerclient.Options{NamespacedReach: loopbackAllowed}},
		"cluster broker under a cluster limit": {broker: clusterBroker, opts: brokerclient.Options{ClusterReach: reach.Default()}, refused: true},
		"no policies":                          {broker: namespacedBroker, opts: brokerclient.Options{}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			b := osbtest.New(t)
			cfg, err := brokerclient.Config(context.Background(), nil, tc.broker(withCredentials(b, tc.host)), tc.opts)
			require.NoError(t, err)
			c, err := osb.New(cfg)
			require.NoError(t, err)

			_, err = c.GetCatalog(context.Background())
			if !tc.refused {
				require.NoError(t, err)
				assert.Len(t, b.Requests(osbtest.Catalog), 1)
				return
			}
			var refused *reach.RefusedError
			require.ErrorAs(t, err, &refused)
			// localhost may resolve to ::1 first; either is loopback.
			assert.True(t, refused.Addr.IsLoopback(), "refused %s", refused.Addr)
			assert.Contains(t, refused.Reason, "loopback")
			assert.Empty(t, b.Requests(), "the broker received a request")
		})
	}
}
