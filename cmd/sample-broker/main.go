// Command sample-broker is a reference Open Service Broker API v2.17 broker:
// a database-like service to try the catalog with and to test it against.
//
//	sample-broker --listen :8090 --username admin --password secret --async-delay 2s --state-dir /var/lib/sample-broker
//
// The password may also come from SAMPLE_BROKER_PASSWORD, to keep it out of
// the process list.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/servicecatalog/service-catalog/cmd/sample-broker/samplebroker"
)

func main() {
	listen := flag.String("listen", ":8090", "Address to serve the OSB API on.")
	username := flag.String("username", "admin", "Basic auth username clients must send.")
	password := flag.String("password", os.Getenv("SAMPLE_BROKER_PASSWORD"), "Basic auth password clients must send (or SAMPLE_BROKER_PASSWORD).")
	asyncDelay := flag.Duration("async-delay", 2*time.Second, "Provision, update and deprovision finish asynchronously after this long; 0 answers synchronously.")
	stateDir := flag.String("state-dir", "", "Directory that keeps instances and bindings across restarts; empty keeps them in memory.")
	dbHost := flag.String("database-host", "sample-db.example.internal", "Host name written into credentials.")
	lifetime := flag.Duration("credential-lifetime", samplebroker.DefaultCredentialLifetime, "How long the credentials of the rotating plan's bindings are valid; they should be rotated after two thirds of it.")
	flag.Parse()

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(log, *listen, samplebroker.Options{CredentialLifetime: *lifetime,
		Username: *username, Password: *password, AsyncDelay: *asyncDelay, StateDir: *stateDir, DatabaseHost: *dbHost,
	}); err != nil {
		fmt.Fprintln(os.Stderr, "sample-broker:", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger, listen string, opts samplebroker.Options) error {
	broker, err := samplebroker.New(opts)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	server := &http.Server{
		Handler:           logRequests(log, broker),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = server.Shutdown(shutdown)
	}()
	log.Info("serving the OSB API", "address", ln.Addr().String(), "asyncDelay", opts.AsyncDelay, "stateDir", opts.StateDir)
	if err := server.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// logRequests logs method, path and status; never bodies, which hold
// credentials.
func logRequests(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		log.Info("request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
			"requestIdentity", r.Header.Get("X-Broker-API-Request-Identity"))
	})
}
