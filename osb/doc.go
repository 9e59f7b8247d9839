// Package osb is the platform side of the Open Service Broker API v2.17: one
// method per endpoint the catalog uses, the headers the spec requires on
// every request, typed errors, and limits that keep a broken broker from
// hanging or exhausting the caller.
package osb
