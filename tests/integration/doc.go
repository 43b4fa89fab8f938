// Package integration is the opt-in real-cloud suite: synth, the first
// deploy, a deploy of a second SHA, a rollback and a destroy, on a sandbox
// AWS account. Run it with `make integration` (build tag integration) and
// the environment described in integration_test.go.
package integration
