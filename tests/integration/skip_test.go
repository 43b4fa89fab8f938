//go:build !integration

package integration

import "testing"

// Without the integration build tag the suite is not compiled; say so in
// the test output rather than pass silently.
func TestRealCloudSuiteIsOptIn(t *testing.T) {
	t.Skip("real-cloud suite not run: it needs a sandbox AWS account, provider plugins and pushed images; run `make integration` with SLIPWAY_IT_* set (see tests/integration/integration_test.go)")
}
